/* madoguchi web chat widget — vanilla JavaScript, no build step.
 *
 * Talks to the web chat JSON API (DESIGN.md): POST /sessions, POST and GET
 * /sessions/{id}/messages, WebSocket /sessions/{id}/ws. Rules this file keeps:
 *  - every piece of text from the server or the resident goes in with textContent
 *    (residents may type HTML or script; nothing is ever parsed as markup);
 *  - nothing the resident typed is lost: it is retried with the same client_message_id
 *    (the server dedupes) and put back in the input box if the server refuses it;
 *  - the session survives a reload of this tab only (id + token in sessionStorage, gone when
 *    the tab closes; the transcript is fetched); the token never goes in a URL;
 *  - a quick-exit button (and Esc twice) always leaves at once for a neutral site.
 */
(function () {
  "use strict";

  var root = document.getElementById("chat");
  if (!root) return;

  var STORE_KEY = "madoguchi.webchat.v1";
  var api = root.getAttribute("data-api") || "/api/webchat";
  var profile = new URLSearchParams(window.location.search).get("profile") ||
    root.getAttribute("data-profile") || "";
  var REQUEST_TIMEOUT_MS = 20000;
  var MAX_RETRY_MS = 30000;

  // Choice ids that act rather than select, even inside a multi-select group.
  var ACTION_IDS = { done: 1, none: 1, skip: 1, human: 1, lang: 1, back: 1, stop: 1 };
  // Language choice ids the flow may offer; a group made only of these is a language picker.
  var LANGUAGE_IDS = {
    ja: 1, "ja-easy": 1, en: 1, zh: 1, "zh-hans": 1, "zh-hant": 1, "zh-cn": 1, "zh-tw": 1,
    ko: 1, vi: 1, tl: 1, fil: 1, pt: 1, "pt-br": 1, es: 1, ne: 1, id: 1, my: 1, th: 1,
    km: 1, si: 1, mn: 1, uz: 1, bn: 1, hi: 1, ur: 1, fr: 1, de: 1, ru: 1, uk: 1, fa: 1,
    ar: 1, ms: 1, tr: 1, it: 1
  };
  // The value of <html lang> for a flow language id (ja-easy is Japanese to a screen reader).
  var HTML_LANG = { "ja-easy": "ja", zh: "zh-Hans", "zh-hans": "zh-Hans", "zh-cn": "zh-Hans",
    "zh-hant": "zh-Hant", "zh-tw": "zh-Hant", tl: "fil", "pt-br": "pt-BR" };
  var RTL = { ar: 1, fa: 1, ur: 1 };

  // UI chrome. Conversation text comes from the server in the resident's language; these
  // are only the page's own labels. Japanese is the default; unknown languages get English.
  var STRINGS = {
    ja: {
      title: "くらしの相談チャット",
      subtitle: "相談は無料です。秘密は守ります。匿名でも大丈夫です。",
      skip_to_input: "入力欄へ移動",
      toolbar: "操作", log: "会話", choices: "選択肢",
      cmd_human: "相談員と話す", cmd_lang: "言語", cmd_back: "戻る", cmd_stop: "やめる",
      say_human: "相談員と話したい", say_lang: "言語を変える", say_back: "戻る", say_stop: "やめる",
      input_label: "メッセージ", placeholder: "ここに書いてください", send: "送信",
      input_hint: "Enter で送信、Shift+Enter で改行", input_hint_touch: "書き終わったら「送信」を押してください",
      counter: "あと{n}文字", you: "あなた", bot: "窓口", counsellor: "相談員", system: "お知らせ",
      mt: "機械翻訳", mt_title: "この文は機械で翻訳しました。まちがいがあるかもしれません。",
      sending: "送信中…", unsent: "まだ送れていません",
      loading: "読み込んでいます…",
      err_network: "インターネットにつながりませんでした。書いた内容は消えていません。自動でもう一度送ります。",
      err_offline: "インターネットにつながっていません。つながったら自動で送ります。書いた内容は消えていません。",
      err_server: "うまく届きませんでした。書いた内容は消えていません。少し待ってから、もう一度送ります。",
      err_rejected: "このメッセージは送れませんでした。書いた内容は入力欄に戻しました。",
      err_too_long: "メッセージが長すぎます。{max}文字までにして、分けて送ってください。",
      err_start: "チャットを始められませんでした。自動でもう一度ためします。",
      err_session: "前の相談の続きが見つかりませんでした。「新しく相談する」を押してください。",
      err_closed: "この相談は終わっているため、送れませんでした。書いた内容は入力欄に戻しました。続けるときは「新しく相談する」を押してください。",
      retry_now: "今すぐ送る", retry_start: "もう一度ためす",
      st_waiting: "相談員につなぐ順番を待っています。このページを閉じても、あとで続きを見られます。",
      st_counsellor: "相談員と話しています。",
      st_closed: "この相談は終わりました。",
      new_chat: "新しく相談する",
      selected_none: "(選ばずに決定)",
      typing: "相談員が入力しています…"
    },
    "ja-easy": {
      title: "こまりごと そうだん チャット",
      subtitle: "おかねは いりません。ひみつを まもります。",
      skip_to_input: "かく ところへ いく",
      toolbar: "そうさ", log: "かいわ", choices: "えらぶ",
      cmd_human: "ひとと はなす", cmd_lang: "ことば", cmd_back: "もどる", cmd_stop: "やめる",
      say_human: "ひとと はなしたい", say_lang: "ことばを かえる", say_back: "もどる", say_stop: "やめる",
      input_label: "メッセージ", placeholder: "ここに かいてください", send: "おくる",
      input_hint: "Enter で おくる。Shift+Enter で つぎの ぎょう", input_hint_touch: "かいたら「おくる」を おしてください",
      counter: "あと {n} もじ", you: "あなた", bot: "まどぐち", counsellor: "そうだんいん", system: "おしらせ",
      mt: "きかい ほんやく", mt_title: "きかいで ほんやく しました。まちがいが あるかもしれません。",
      sending: "おくっています…", unsent: "まだ おくれていません",
      loading: "よみこんでいます…",
      err_network: "インターネットに つながりませんでした。かいた ことばは きえていません。もういちど おくります。",
      err_offline: "インターネットに つながっていません。つながったら おくります。かいた ことばは きえていません。",
      err_server: "うまく とどきませんでした。かいた ことばは きえていません。すこし まってから もういちど おくります。",
      err_rejected: "この メッセージは おくれませんでした。かいた ことばは もどしました。",
      err_too_long: "ながすぎます。{max} もじまでに して、わけて おくってください。",
      err_start: "チャットを はじめられませんでした。もういちど やってみます。",
      err_session: "まえの そうだんが みつかりませんでした。「あたらしく そうだんする」を おしてください。",
      err_closed: "この そうだんは おわっています。かいた ことばは もどしました。「あたらしく そうだんする」を おしてください。",
      retry_now: "いま おくる", retry_start: "もういちど",
      st_waiting: "そうだんいんを まっています。この ページを とじても、あとで つづきを みられます。",
      st_counsellor: "そうだんいんと はなしています。",
      st_closed: "この そうだんは おわりました。",
      new_chat: "あたらしく そうだんする",
      selected_none: "(えらばないで きめる)",
      typing: "そうだんいんが かいています…"
    },
    en: {
      title: "Life consultation chat",
      subtitle: "Free and confidential. You do not have to give your name.",
      skip_to_input: "Skip to message box",
      toolbar: "Actions", log: "Conversation", choices: "Choices",
      cmd_human: "Talk to a person", cmd_lang: "Language", cmd_back: "Back", cmd_stop: "Stop",
      say_human: "I want to talk to a person", say_lang: "Change language", say_back: "Back", say_stop: "Stop",
      input_label: "Message", placeholder: "Write here", send: "Send",
      input_hint: "Enter to send, Shift+Enter for a new line", input_hint_touch: "Press Send when you are ready",
      counter: "{n} characters left", you: "You", bot: "Service", counsellor: "Counsellor", system: "Notice",
      mt: "Machine translated", mt_title: "This text was translated by a machine and may contain mistakes.",
      sending: "Sending…", unsent: "Not sent yet",
      loading: "Loading…",
      err_network: "We could not connect. What you wrote is safe. We will try again automatically.",
      err_offline: "You are offline. We will send when you are back online. What you wrote is safe.",
      err_server: "Your message did not get through. What you wrote is safe. We will try again shortly.",
      err_rejected: "This message could not be sent. Your text is back in the message box.",
      err_too_long: "The message is too long. Please keep it under {max} characters and send it in parts.",
      err_start: "The chat could not start. We will try again automatically.",
      err_session: "We could not find your previous conversation. Please press “Start a new chat”.",
      err_closed: "This conversation has ended, so the message was not sent. Your text is back in the message box. Press “Start a new chat” to go on.",
      retry_now: "Send now", retry_start: "Try again",
      st_waiting: "Waiting for a counsellor. You can close this page and come back later.",
      st_counsellor: "You are talking with a counsellor.",
      st_closed: "This conversation has ended.",
      new_chat: "Start a new chat",
      selected_none: "(nothing selected)",
      typing: "The counsellor is typing…"
    },
    zh: {
      title: "生活咨询聊天", subtitle: "免费咨询，严格保密，不说姓名也可以。",
      skip_to_input: "跳到输入框", toolbar: "操作", log: "对话", choices: "选项",
      cmd_human: "与咨询员交谈", cmd_lang: "语言", cmd_back: "返回", cmd_stop: "结束",
      say_human: "我想和咨询员交谈", say_lang: "更改语言", say_back: "返回", say_stop: "结束",
      input_label: "消息", placeholder: "请在这里输入", send: "发送",
      input_hint: "Enter 发送，Shift+Enter 换行", input_hint_touch: "写好后请按“发送”",
      counter: "还可以输入{n}个字", you: "您", bot: "窗口", counsellor: "咨询员", system: "通知",
      mt: "机器翻译", mt_title: "本文由机器翻译，可能有错误。",
      sending: "正在发送…", unsent: "尚未发送", loading: "正在加载…",
      err_network: "无法连接网络。您写的内容没有丢失，将自动重新发送。",
      err_offline: "当前没有网络连接。连接后将自动发送，您写的内容没有丢失。",
      err_server: "消息没有送达。您写的内容没有丢失，稍后将重新发送。",
      err_rejected: "这条消息无法发送。内容已放回输入框。",
      err_too_long: "消息太长。请控制在{max}字以内，分几次发送。",
      err_start: "聊天无法开始，将自动重试。",
      err_session: "找不到之前的对话。请按“开始新的咨询”。",
      err_closed: "本次咨询已结束，消息未发送。内容已放回输入框。如需继续，请按“开始新的咨询”。",
      retry_now: "立即发送", retry_start: "重试",
      st_waiting: "正在等待咨询员。关闭此页面后，稍后也可以回来继续查看。", st_counsellor: "正在与咨询员交谈。",
      st_closed: "本次咨询已结束。", new_chat: "开始新的咨询", selected_none: "(未选择)",
      typing: "咨询员正在输入…"
    },
    ko: {
      title: "생활 상담 채팅", subtitle: "상담은 무료이며 비밀이 지켜집니다. 이름을 말하지 않아도 됩니다.",
      skip_to_input: "입력란으로 이동", toolbar: "조작", log: "대화", choices: "선택지",
      cmd_human: "상담원과 이야기", cmd_lang: "언어", cmd_back: "뒤로", cmd_stop: "그만두기",
      say_human: "상담원과 이야기하고 싶어요", say_lang: "언어 바꾸기", say_back: "뒤로", say_stop: "그만두기",
      input_label: "메시지", placeholder: "여기에 입력해 주세요", send: "보내기",
      input_hint: "Enter로 보내기, Shift+Enter로 줄바꿈", input_hint_touch: "다 쓰면 ‘보내기’를 눌러 주세요",
      counter: "{n}자 남음", you: "나", bot: "창구", counsellor: "상담원", system: "안내",
      mt: "기계 번역", mt_title: "기계로 번역한 글입니다. 틀린 부분이 있을 수 있습니다.",
      sending: "보내는 중…", unsent: "아직 보내지 못했습니다", loading: "불러오는 중…",
      err_network: "인터넷에 연결할 수 없습니다. 쓴 내용은 지워지지 않았습니다. 자동으로 다시 보냅니다.",
      err_offline: "인터넷에 연결되어 있지 않습니다. 연결되면 자동으로 보냅니다. 쓴 내용은 지워지지 않았습니다.",
      err_server: "메시지가 전달되지 않았습니다. 쓴 내용은 지워지지 않았습니다. 잠시 후 다시 보냅니다.",
      err_rejected: "이 메시지는 보낼 수 없습니다. 쓴 내용은 입력란에 돌려 놓았습니다.",
      err_too_long: "메시지가 너무 깁니다. {max}자 이내로 나누어 보내 주세요.",
      err_start: "채팅을 시작할 수 없습니다. 자동으로 다시 시도합니다.",
      err_session: "이전 상담을 찾을 수 없습니다. ‘새로 상담하기’를 눌러 주세요.",
      err_closed: "이 상담은 끝나서 메시지를 보내지 못했습니다. 쓴 내용은 입력란에 돌려 놓았습니다. 계속하려면 ‘새로 상담하기’를 눌러 주세요.",
      retry_now: "지금 보내기", retry_start: "다시 시도",
      st_waiting: "상담원을 기다리고 있습니다. 이 페이지를 닫아도 나중에 이어서 볼 수 있습니다.", st_counsellor: "상담원과 이야기하고 있습니다.",
      st_closed: "이 상담은 끝났습니다.", new_chat: "새로 상담하기", selected_none: "(선택 없음)",
      typing: "상담원이 입력하고 있습니다…"
    },
    vi: {
      title: "Trò chuyện tư vấn đời sống", subtitle: "Miễn phí và giữ bí mật. Bạn không cần cho biết tên.",
      skip_to_input: "Đến ô nhập tin nhắn", toolbar: "Thao tác", log: "Cuộc trò chuyện", choices: "Lựa chọn",
      cmd_human: "Nói chuyện với người tư vấn", cmd_lang: "Ngôn ngữ", cmd_back: "Quay lại", cmd_stop: "Dừng",
      say_human: "Tôi muốn nói chuyện với người tư vấn", say_lang: "Đổi ngôn ngữ", say_back: "Quay lại", say_stop: "Dừng",
      input_label: "Tin nhắn", placeholder: "Viết ở đây", send: "Gửi",
      input_hint: "Enter để gửi, Shift+Enter để xuống dòng", input_hint_touch: "Viết xong, hãy bấm “Gửi”",
      counter: "Còn {n} ký tự", you: "Bạn", bot: "Quầy tư vấn", counsellor: "Người tư vấn", system: "Thông báo",
      mt: "Dịch máy", mt_title: "Đoạn này do máy dịch và có thể có lỗi.",
      sending: "Đang gửi…", unsent: "Chưa gửi được", loading: "Đang tải…",
      err_network: "Không kết nối được. Nội dung bạn viết vẫn còn. Chúng tôi sẽ tự động gửi lại.",
      err_offline: "Bạn đang mất kết nối mạng. Khi có mạng, tin nhắn sẽ tự động được gửi. Nội dung bạn viết vẫn còn.",
      err_server: "Tin nhắn chưa đến được. Nội dung bạn viết vẫn còn. Chúng tôi sẽ gửi lại sau ít phút.",
      err_rejected: "Không thể gửi tin nhắn này. Nội dung đã được đưa lại vào ô nhập.",
      err_too_long: "Tin nhắn quá dài. Hãy viết dưới {max} ký tự và gửi thành nhiều phần.",
      err_start: "Không thể bắt đầu trò chuyện. Chúng tôi sẽ tự động thử lại.",
      err_session: "Không tìm thấy cuộc trò chuyện trước. Hãy bấm “Bắt đầu tư vấn mới”.",
      err_closed: "Cuộc tư vấn này đã kết thúc nên tin nhắn chưa được gửi. Nội dung đã được đưa lại vào ô nhập. Hãy bấm “Bắt đầu tư vấn mới” để tiếp tục.",
      retry_now: "Gửi ngay", retry_start: "Thử lại",
      st_waiting: "Đang chờ người tư vấn. Bạn có thể đóng trang này và quay lại sau.", st_counsellor: "Bạn đang nói chuyện với người tư vấn.",
      st_closed: "Cuộc tư vấn này đã kết thúc.", new_chat: "Bắt đầu tư vấn mới", selected_none: "(không chọn gì)",
      typing: "Người tư vấn đang nhập…"
    },
    pt: {
      title: "Chat de consulta sobre a vida", subtitle: "Gratuito e confidencial. Não precisa dizer seu nome.",
      skip_to_input: "Ir para a caixa de mensagem", toolbar: "Ações", log: "Conversa", choices: "Opções",
      cmd_human: "Falar com uma pessoa", cmd_lang: "Idioma", cmd_back: "Voltar", cmd_stop: "Parar",
      say_human: "Quero falar com uma pessoa", say_lang: "Mudar idioma", say_back: "Voltar", say_stop: "Parar",
      input_label: "Mensagem", placeholder: "Escreva aqui", send: "Enviar",
      input_hint: "Enter para enviar, Shift+Enter para nova linha", input_hint_touch: "Quando terminar, toque em “Enviar”",
      counter: "Restam {n} caracteres", you: "Você", bot: "Atendimento", counsellor: "Conselheiro", system: "Aviso",
      mt: "Tradução automática", mt_title: "Este texto foi traduzido por máquina e pode conter erros.",
      sending: "Enviando…", unsent: "Ainda não enviado", loading: "Carregando…",
      err_network: "Não foi possível conectar. O que você escreveu está guardado. Vamos tentar de novo automaticamente.",
      err_offline: "Você está sem internet. Vamos enviar quando a conexão voltar. O que você escreveu está guardado.",
      err_server: "A mensagem não chegou. O que você escreveu está guardado. Vamos tentar de novo em instantes.",
      err_rejected: "Esta mensagem não pôde ser enviada. O texto voltou para a caixa de mensagem.",
      err_too_long: "A mensagem é longa demais. Use até {max} caracteres e envie em partes.",
      err_start: "Não foi possível iniciar o chat. Vamos tentar de novo automaticamente.",
      err_session: "Não encontramos a conversa anterior. Toque em “Nova consulta”.",
      err_closed: "Esta consulta terminou, por isso a mensagem não foi enviada. O texto voltou para a caixa de mensagem. Toque em “Nova consulta” para continuar.",
      retry_now: "Enviar agora", retry_start: "Tentar de novo",
      st_waiting: "Aguardando um conselheiro. Você pode fechar esta página e voltar depois.", st_counsellor: "Você está falando com um conselheiro.",
      st_closed: "Esta consulta terminou.", new_chat: "Nova consulta", selected_none: "(nada selecionado)",
      typing: "O conselheiro está digitando…"
    },
    es: {
      title: "Chat de consulta sobre la vida", subtitle: "Gratis y confidencial. No necesita dar su nombre.",
      skip_to_input: "Ir al cuadro de mensaje", toolbar: "Acciones", log: "Conversación", choices: "Opciones",
      cmd_human: "Hablar con una persona", cmd_lang: "Idioma", cmd_back: "Atrás", cmd_stop: "Terminar",
      say_human: "Quiero hablar con una persona", say_lang: "Cambiar idioma", say_back: "Atrás", say_stop: "Terminar",
      input_label: "Mensaje", placeholder: "Escriba aquí", send: "Enviar",
      input_hint: "Enter para enviar, Shift+Enter para nueva línea", input_hint_touch: "Cuando termine, pulse “Enviar”",
      counter: "Quedan {n} caracteres", you: "Usted", bot: "Ventanilla", counsellor: "Consejero", system: "Aviso",
      mt: "Traducción automática", mt_title: "Este texto fue traducido por una máquina y puede tener errores.",
      sending: "Enviando…", unsent: "Aún no enviado", loading: "Cargando…",
      err_network: "No se pudo conectar. Lo que escribió está a salvo. Lo intentaremos de nuevo automáticamente.",
      err_offline: "No hay conexión a internet. Enviaremos cuando vuelva la conexión. Lo que escribió está a salvo.",
      err_server: "El mensaje no llegó. Lo que escribió está a salvo. Lo intentaremos de nuevo en breve.",
      err_rejected: "No se pudo enviar este mensaje. El texto volvió al cuadro de mensaje.",
      err_too_long: "El mensaje es demasiado largo. Use hasta {max} caracteres y envíelo en partes.",
      err_start: "No se pudo iniciar el chat. Lo intentaremos de nuevo automáticamente.",
      err_session: "No encontramos la conversación anterior. Pulse “Nueva consulta”.",
      err_closed: "Esta consulta ha terminado y el mensaje no se envió. El texto volvió al cuadro de mensaje. Pulse “Nueva consulta” para continuar.",
      retry_now: "Enviar ahora", retry_start: "Intentar de nuevo",
      st_waiting: "Esperando a un consejero. Puede cerrar esta página y volver más tarde.", st_counsellor: "Está hablando con un consejero.",
      st_closed: "Esta consulta ha terminado.", new_chat: "Nueva consulta", selected_none: "(nada seleccionado)",
      typing: "El consejero está escribiendo…"
    },
    tl: {
      title: "Chat para sa konsultasyon", subtitle: "Libre at kumpidensyal. Hindi kailangang sabihin ang pangalan.",
      skip_to_input: "Pumunta sa kahon ng mensahe", toolbar: "Mga aksyon", log: "Usapan", choices: "Mga pagpipilian",
      cmd_human: "Makipag-usap sa tao", cmd_lang: "Wika", cmd_back: "Bumalik", cmd_stop: "Itigil",
      say_human: "Gusto kong makipag-usap sa tao", say_lang: "Palitan ang wika", say_back: "Bumalik", say_stop: "Itigil",
      input_label: "Mensahe", placeholder: "Sumulat dito", send: "Ipadala",
      input_hint: "Enter para ipadala, Shift+Enter para bagong linya", input_hint_touch: "Pindutin ang “Ipadala” kapag tapos na",
      counter: "{n} character pa", you: "Ikaw", bot: "Serbisyo", counsellor: "Counsellor", system: "Paalala",
      mt: "Isinalin ng makina", mt_title: "Isinalin ito ng makina at maaaring may mali.",
      sending: "Ipinapadala…", unsent: "Hindi pa naipadala", loading: "Naglo-load…",
      err_network: "Hindi makakonekta. Ligtas ang isinulat mo. Awtomatiko naming susubukang muli.",
      err_offline: "Walang internet. Ipapadala namin kapag may koneksyon na. Ligtas ang isinulat mo.",
      err_server: "Hindi naipadala ang mensahe. Ligtas ang isinulat mo. Susubukan namin ulit maya-maya.",
      err_rejected: "Hindi maipadala ang mensaheng ito. Ibinalik ang teksto sa kahon ng mensahe.",
      err_too_long: "Masyadong mahaba ang mensahe. Hanggang {max} character lamang; ipadala nang hati-hati.",
      err_start: "Hindi masimulan ang chat. Awtomatiko naming susubukang muli.",
      err_session: "Hindi makita ang dating usapan. Pindutin ang “Bagong konsultasyon”.",
      err_closed: "Natapos na ang konsultasyong ito kaya hindi naipadala ang mensahe. Ibinalik ang teksto sa kahon. Pindutin ang “Bagong konsultasyon” para magpatuloy.",
      retry_now: "Ipadala ngayon", retry_start: "Subukang muli",
      st_waiting: "Naghihintay ng counsellor. Puwede mong isara ang page na ito at bumalik mamaya.", st_counsellor: "Kausap mo ang isang counsellor.",
      st_closed: "Natapos na ang konsultasyong ito.", new_chat: "Bagong konsultasyon", selected_none: "(walang napili)",
      typing: "Nagta-type ang counsellor…"
    },
    "zh-Hant": {
      title: "生活諮詢聊天", subtitle: "免費諮詢，嚴格保密，不說姓名也可以。",
      skip_to_input: "跳到輸入框", toolbar: "操作", log: "對話", choices: "選項",
      cmd_human: "與諮詢員交談", cmd_lang: "語言", cmd_back: "返回", cmd_stop: "結束",
      say_human: "我想和諮詢員交談", say_lang: "更改語言", say_back: "返回", say_stop: "結束",
      input_label: "訊息", placeholder: "請在這裡輸入", send: "傳送",
      input_hint: "Enter 傳送，Shift+Enter 換行", input_hint_touch: "寫好後請按「傳送」",
      counter: "還可以輸入{n}個字", you: "您", bot: "窗口", counsellor: "諮詢員", system: "通知",
      mt: "機器翻譯", mt_title: "本文由機器翻譯，可能有錯誤。",
      sending: "正在傳送…", unsent: "尚未傳送", loading: "正在載入…",
      err_network: "無法連上網路。您寫的內容沒有遺失，將自動重新傳送。",
      err_offline: "目前沒有網路連線。連線後將自動傳送，您寫的內容沒有遺失。",
      err_server: "訊息沒有送達。您寫的內容沒有遺失，稍後將重新傳送。",
      err_rejected: "這則訊息無法傳送。內容已放回輸入框。",
      err_too_long: "訊息太長。請控制在{max}字以內，分幾次傳送。",
      err_start: "聊天無法開始，將自動重試。",
      err_session: "找不到之前的對話。請按「開始新的諮詢」。",
      err_closed: "本次諮詢已結束，訊息未傳送。內容已放回輸入框。如需繼續，請按「開始新的諮詢」。",
      retry_now: "立即傳送", retry_start: "重試",
      st_waiting: "正在等待諮詢員。關閉此頁面後，稍後也可以回來繼續查看。", st_counsellor: "正在與諮詢員交談。",
      st_closed: "本次諮詢已結束。", new_chat: "開始新的諮詢", selected_none: "(未選擇)",
      typing: "諮詢員正在輸入…"
    },
    th: {
      title: "แชตปรึกษาเรื่องการดำรงชีวิต", subtitle: "ไม่มีค่าใช้จ่าย เก็บเป็นความลับ ไม่ต้องบอกชื่อก็ได้",
      skip_to_input: "ไปที่ช่องข้อความ", toolbar: "การทำงาน", log: "บทสนทนา", choices: "ตัวเลือก",
      cmd_human: "คุยกับเจ้าหน้าที่", cmd_lang: "ภาษา", cmd_back: "ย้อนกลับ", cmd_stop: "หยุด",
      say_human: "อยากคุยกับเจ้าหน้าที่", say_lang: "เปลี่ยนภาษา", say_back: "ย้อนกลับ", say_stop: "หยุด",
      input_label: "ข้อความ", placeholder: "เขียนที่นี่", send: "ส่ง",
      input_hint: "Enter เพื่อส่ง, Shift+Enter เพื่อขึ้นบรรทัดใหม่", input_hint_touch: "เขียนเสร็จแล้วกด “ส่ง”",
      counter: "เหลืออีก {n} ตัวอักษร", you: "คุณ", bot: "ระบบ", counsellor: "เจ้าหน้าที่", system: "ประกาศ",
      mt: "แปลด้วยเครื่อง", mt_title: "ข้อความนี้แปลด้วยเครื่อง อาจมีข้อผิดพลาด",
      sending: "กำลังส่ง…", unsent: "ยังไม่ได้ส่ง", loading: "กำลังโหลด…",
      err_network: "เชื่อมต่อไม่ได้ ข้อความที่คุณเขียนไม่หาย เราจะลองส่งใหม่โดยอัตโนมัติ",
      err_offline: "ตอนนี้ไม่ได้เชื่อมต่ออินเทอร์เน็ต เมื่อเชื่อมต่อได้จะส่งให้อัตโนมัติ ข้อความที่คุณเขียนไม่หาย",
      err_server: "ข้อความยังส่งไม่ถึง ข้อความที่คุณเขียนไม่หาย เราจะลองส่งใหม่อีกสักครู่",
      err_rejected: "ส่งข้อความนี้ไม่ได้ ข้อความถูกใส่กลับไว้ในช่องข้อความแล้ว",
      err_too_long: "ข้อความยาวเกินไป กรุณาเขียนไม่เกิน {max} ตัวอักษร แล้วแบ่งส่ง",
      err_start: "เริ่มแชตไม่ได้ เราจะลองใหม่โดยอัตโนมัติ",
      err_session: "ไม่พบการปรึกษาครั้งก่อน กรุณากด “เริ่มปรึกษาใหม่”",
      err_closed: "การปรึกษานี้จบแล้ว จึงส่งข้อความไม่ได้ ข้อความถูกใส่กลับไว้ในช่องข้อความแล้ว ถ้าต้องการปรึกษาต่อ กรุณากด “เริ่มปรึกษาใหม่”",
      retry_now: "ส่งเดี๋ยวนี้", retry_start: "ลองอีกครั้ง",
      st_waiting: "กำลังรอเจ้าหน้าที่ ปิดหน้านี้ไปก่อนแล้วกลับมาดูต่อทีหลังได้", st_counsellor: "คุณกำลังคุยกับเจ้าหน้าที่",
      st_closed: "การปรึกษานี้จบแล้ว", new_chat: "เริ่มปรึกษาใหม่", selected_none: "(ไม่ได้เลือก)",
      typing: "เจ้าหน้าที่กำลังพิมพ์…"
    },
    ne: {
      title: "जीवन परामर्श च्याट", subtitle: "निःशुल्क र गोप्य। नाम भन्नु पर्दैन।",
      skip_to_input: "सन्देश बाकसमा जानुहोस्", toolbar: "कार्यहरू", log: "कुराकानी", choices: "विकल्पहरू",
      cmd_human: "परामर्शदातासँग कुरा गर्ने", cmd_lang: "भाषा", cmd_back: "पछाडि", cmd_stop: "रोक्ने",
      say_human: "म परामर्शदातासँग कुरा गर्न चाहन्छु", say_lang: "भाषा बदल्ने", say_back: "पछाडि", say_stop: "रोक्ने",
      input_label: "सन्देश", placeholder: "यहाँ लेख्नुहोस्", send: "पठाउनुहोस्",
      input_hint: "Enter थिच्दा पठाइन्छ, Shift+Enter थिच्दा नयाँ लाइन", input_hint_touch: "लेखिसकेपछि “पठाउनुहोस्” थिच्नुहोस्",
      counter: "अझै {n} अक्षर", you: "तपाईं", bot: "सेवा", counsellor: "परामर्शदाता", system: "सूचना",
      mt: "मेसिन अनुवाद", mt_title: "यो पाठ मेसिनले अनुवाद गरेको हो, गल्ती हुन सक्छ।",
      sending: "पठाउँदै…", unsent: "अझै पठाइएको छैन", loading: "लोड हुँदै…",
      err_network: "जडान हुन सकेन। तपाईंले लेखेको कुरा हराएको छैन। हामी आफैं फेरि पठाउने प्रयास गर्छौं।",
      err_offline: "इन्टरनेट जडान छैन। जडान भएपछि आफैं पठाइन्छ। तपाईंले लेखेको कुरा हराएको छैन।",
      err_server: "सन्देश पुगेन। तपाईंले लेखेको कुरा हराएको छैन। केही बेरमा फेरि पठाइन्छ।",
      err_rejected: "यो सन्देश पठाउन सकिएन। लेखेको कुरा सन्देश बाकसमा फर्काइएको छ।",
      err_too_long: "सन्देश धेरै लामो भयो। {max} अक्षरभित्र राखेर भाग-भाग गरी पठाउनुहोस्।",
      err_start: "च्याट सुरु हुन सकेन। हामी आफैं फेरि प्रयास गर्छौं।",
      err_session: "पहिलेको कुराकानी भेटिएन। “नयाँ परामर्श सुरु गर्ने” थिच्नुहोस्।",
      err_closed: "यो परामर्श सकिएकाले सन्देश पठाइएन। लेखेको कुरा सन्देश बाकसमा फर्काइएको छ। जारी राख्न “नयाँ परामर्श सुरु गर्ने” थिच्नुहोस्।",
      retry_now: "अहिले पठाउनुहोस्", retry_start: "फेरि प्रयास गर्नुहोस्",
      st_waiting: "परामर्शदाताको पर्खाइमा। यो पेज बन्द गरेर पछि फर्केर हेर्न सकिन्छ।", st_counsellor: "तपाईं परामर्शदातासँग कुरा गर्दै हुनुहुन्छ।",
      st_closed: "यो परामर्श सकियो।", new_chat: "नयाँ परामर्श सुरु गर्ने", selected_none: "(केही छानिएन)",
      typing: "परामर्शदाता लेख्दै हुनुहुन्छ…"
    },
    my: {
      title: "နေထိုင်မှု တိုင်ပင်ရေး ချတ်", subtitle: "အခမဲ့ဖြစ်ပြီး လျှို့ဝှက်ချက် ထိန်းသိမ်းပါသည်။ နာမည် မပြောလည်း ရပါသည်။",
      skip_to_input: "စာရိုက်ရန်နေရာသို့", toolbar: "လုပ်ဆောင်ချက်များ", log: "စကားပြောမှု", choices: "ရွေးချယ်စရာများ",
      cmd_human: "အကြံပေးဝန်ထမ်းနှင့် ပြောမည်", cmd_lang: "ဘာသာစကား", cmd_back: "နောက်သို့", cmd_stop: "ရပ်မည်",
      say_human: "အကြံပေးဝန်ထမ်းနှင့် ပြောချင်ပါသည်", say_lang: "ဘာသာစကား ပြောင်းမည်", say_back: "နောက်သို့", say_stop: "ရပ်မည်",
      input_label: "စာ", placeholder: "ဒီမှာ ရေးပါ", send: "ပို့မည်",
      input_hint: "Enter ဖြင့် ပို့ပါ၊ Shift+Enter ဖြင့် စာကြောင်းသစ်", input_hint_touch: "ရေးပြီးလျှင် “ပို့မည်” ကို နှိပ်ပါ",
      counter: "စာလုံး {n} လုံး ကျန်သည်", you: "သင်", bot: "ဝန်ဆောင်မှု", counsellor: "အကြံပေးဝန်ထမ်း", system: "အသိပေးချက်",
      mt: "စက်ဘာသာပြန်", mt_title: "ဤစာကို စက်ဖြင့် ဘာသာပြန်ထားသဖြင့် အမှားရှိနိုင်ပါသည်။",
      sending: "ပို့နေသည်…", unsent: "မပို့ရသေးပါ", loading: "ဖွင့်နေသည်…",
      err_network: "ချိတ်ဆက်၍ မရပါ။ ရေးထားသောစာ မပျောက်ပါ။ အလိုအလျောက် ထပ်ပို့ပါမည်။",
      err_offline: "အင်တာနက် မချိတ်ဆက်ထားပါ။ ချိတ်ဆက်မိလျှင် အလိုအလျောက် ပို့ပါမည်။ ရေးထားသောစာ မပျောက်ပါ။",
      err_server: "စာ မရောက်ပါ။ ရေးထားသောစာ မပျောက်ပါ။ ခဏနေလျှင် ထပ်ပို့ပါမည်။",
      err_rejected: "ဤစာကို ပို့၍ မရပါ။ စာကို စာရိုက်နေရာသို့ ပြန်ထည့်ထားပါသည်။",
      err_too_long: "စာ ရှည်လွန်းပါသည်။ စာလုံး {max} လုံးအတွင်း ခွဲ၍ ပို့ပါ။",
      err_start: "ချတ်ကို စတင်၍ မရပါ။ အလိုအလျောက် ထပ်ကြိုးစားပါမည်။",
      err_session: "ယခင် စကားပြောမှုကို ရှာမတွေ့ပါ။ “တိုင်ပင်မှု အသစ် စမည်” ကို နှိပ်ပါ။",
      err_closed: "ဤတိုင်ပင်မှု ပြီးဆုံးသွားသဖြင့် စာ မပို့ရပါ။ စာကို စာရိုက်နေရာသို့ ပြန်ထည့်ထားပါသည်။ ဆက်လက်ရန် “တိုင်ပင်မှု အသစ် စမည်” ကို နှိပ်ပါ။",
      retry_now: "ယခု ပို့မည်", retry_start: "ထပ်ကြိုးစားမည်",
      st_waiting: "အကြံပေးဝန်ထမ်းကို စောင့်နေသည်။ ဤစာမျက်နှာကို ပိတ်ပြီး နောက်မှ ပြန်လာကြည့်နိုင်ပါသည်။", st_counsellor: "အကြံပေးဝန်ထမ်းနှင့် စကားပြောနေပါသည်။",
      st_closed: "ဤတိုင်ပင်မှု ပြီးဆုံးပါပြီ။", new_chat: "တိုင်ပင်မှု အသစ် စမည်", selected_none: "(ဘာမှ မရွေးပါ)",
      typing: "အကြံပေးဝန်ထမ်း စာရိုက်နေသည်…"
    },
    id: {
      title: "Chat konsultasi kehidupan", subtitle: "Gratis dan rahasia. Anda tidak perlu menyebutkan nama.",
      skip_to_input: "Ke kotak pesan", toolbar: "Tindakan", log: "Percakapan", choices: "Pilihan",
      cmd_human: "Bicara dengan petugas", cmd_lang: "Bahasa", cmd_back: "Kembali", cmd_stop: "Berhenti",
      say_human: "Saya ingin bicara dengan petugas", say_lang: "Ganti bahasa", say_back: "Kembali", say_stop: "Berhenti",
      input_label: "Pesan", placeholder: "Tulis di sini", send: "Kirim",
      input_hint: "Enter untuk kirim, Shift+Enter untuk baris baru", input_hint_touch: "Tekan “Kirim” jika sudah selesai",
      counter: "Sisa {n} karakter", you: "Anda", bot: "Layanan", counsellor: "Petugas konsultasi", system: "Pemberitahuan",
      mt: "Terjemahan mesin", mt_title: "Teks ini diterjemahkan oleh mesin dan mungkin ada kesalahan.",
      sending: "Mengirim…", unsent: "Belum terkirim", loading: "Memuat…",
      err_network: "Tidak dapat terhubung. Tulisan Anda aman. Kami akan mencoba lagi secara otomatis.",
      err_offline: "Anda sedang offline. Pesan akan dikirim saat koneksi kembali. Tulisan Anda aman.",
      err_server: "Pesan belum sampai. Tulisan Anda aman. Kami akan mencoba lagi sebentar lagi.",
      err_rejected: "Pesan ini tidak dapat dikirim. Teks dikembalikan ke kotak pesan.",
      err_too_long: "Pesan terlalu panjang. Maksimal {max} karakter; kirim dalam beberapa bagian.",
      err_start: "Chat tidak dapat dimulai. Kami akan mencoba lagi secara otomatis.",
      err_session: "Percakapan sebelumnya tidak ditemukan. Tekan “Mulai konsultasi baru”.",
      err_closed: "Konsultasi ini sudah selesai, jadi pesan tidak terkirim. Teks dikembalikan ke kotak pesan. Tekan “Mulai konsultasi baru” untuk melanjutkan.",
      retry_now: "Kirim sekarang", retry_start: "Coba lagi",
      st_waiting: "Menunggu petugas konsultasi. Anda boleh menutup halaman ini dan kembali nanti.", st_counsellor: "Anda sedang berbicara dengan petugas konsultasi.",
      st_closed: "Konsultasi ini sudah selesai.", new_chat: "Mulai konsultasi baru", selected_none: "(tidak ada yang dipilih)",
      typing: "Petugas konsultasi sedang mengetik…"
    }
  };

  var el = {
    log: document.getElementById("log"),
    conversation: document.getElementById("conversation"),
    loading: document.getElementById("loading"),
    toolbar: document.getElementById("toolbar"),
    status: document.getElementById("status"),
    error: document.getElementById("error"),
    errorText: document.getElementById("error-text"),
    errorAction: document.getElementById("error-action"),
    restart: document.getElementById("restart"),
    newChat: document.getElementById("new-chat"),
    form: document.getElementById("composer"),
    input: document.getElementById("input"),
    send: document.getElementById("send"),
    hint: document.getElementById("input-hint"),
    counter: document.getElementById("counter"),
    typing: document.getElementById("typing")
  };

  var state = {
    session: null,        // {id, token}
    lang: "ja",           // the flow language id (drives UI chrome and <html lang>)
    status: "bot",        // conversation_status
    dialogState: null,    // the dialog state's name from the last reply
    caseId: null,
    queue: [],            // outgoing items, sent strictly one at a time in order
    busy: false,
    retryTimer: null,
    retryAttempt: 0,
    startAttempt: 0,
    activeGroup: null,    // the choices the resident can press now
    activeGroupState: null,
    seenIds: {},          // ids of transcript/pushed messages already shown
    metaSeq: 0,           // bumped by every answer to a POST (newer than any GET in flight)
    catchingUp: false, catchUpAgain: false,
    ws: null, wsTimer: null, wsAttempt: 0, wsOpenedOnce: false,
    typingTimer: null
  };

  var touch = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;

  // ---------------------------------------------------------------- small helpers

  function t(key, params) {
    var table = STRINGS[state.lang] || STRINGS[state.lang.split("-")[0]] || STRINGS.en;
    var s = table[key] !== undefined ? table[key] : (STRINGS.en[key] !== undefined ? STRINGS.en[key] : key);
    if (params) {
      Object.keys(params).forEach(function (k) { s = s.split("{" + k + "}").join(String(params[k])); });
    }
    return s;
  }

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      try { return window.crypto.randomUUID(); } catch (e) { /* insecure context: fall through */ }
    }
    var b = window.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function oneOf(value, allowed, fallback) {
    return allowed.indexOf(value) >= 0 ? value : fallback;
  }

  function node(tag, className, text) {
    var n = document.createElement(tag);
    if (className) n.className = className;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }

  // -- session storage (issue 17): sessionStorage only, so a shared phone forgets the chat when
  // the tab closes. An entry an older version left in localStorage is moved here once.
  var store = {
    load: function () {
      try {
        var old = window.localStorage.getItem(STORE_KEY);
        if (old !== null) {
          window.localStorage.removeItem(STORE_KEY);
          if (window.sessionStorage.getItem(STORE_KEY) === null) window.sessionStorage.setItem(STORE_KEY, old);
        }
      } catch (e) { /* storage blocked */ }
      try {
        var v = JSON.parse(window.sessionStorage.getItem(STORE_KEY) || "null");
        if (v && typeof v.id === "string" && typeof v.token === "string") return v;
      } catch (e) { /* storage blocked or corrupt: start fresh */ }
      return null;
    },
    save: function () {
      if (!state.session) return;
      try {
        window.sessionStorage.setItem(STORE_KEY, JSON.stringify({
          id: state.session.id, token: state.session.token, lang: state.lang
        }));
      } catch (e) { /* private mode: the chat still works, it just won't survive a reload */ }
    },
    clear: function () {
      try { window.sessionStorage.removeItem(STORE_KEY); } catch (e) { /* ignore */ }
      try { window.localStorage.removeItem(STORE_KEY); } catch (e) { /* ignore */ }
    }
  };
  // -- end session storage

  // ---------------------------------------------------------------- language and chrome

  function normLang(code) {
    return String(code || "").toLowerCase().replace(/_/g, "-");
  }

  function setLang(code) {
    code = normLang(code);
    if (!code) return;
    state.lang = code;
    applyChrome();
    store.save();
  }

  function applyChrome() {
    var html = document.documentElement;
    html.lang = HTML_LANG[state.lang] || state.lang;
    html.dir = RTL[state.lang.split("-")[0]] ? "rtl" : "ltr";
    document.title = t("title");
    Array.prototype.forEach.call(root.querySelectorAll("[data-i18n]"), function (n) {
      n.textContent = t(n.getAttribute("data-i18n"));
    });
    Array.prototype.forEach.call(root.querySelectorAll("[data-i18n-aria-label]"), function (n) {
      n.setAttribute("aria-label", t(n.getAttribute("data-i18n-aria-label")));
    });
    Array.prototype.forEach.call(root.querySelectorAll("[data-i18n-placeholder]"), function (n) {
      n.setAttribute("placeholder", t(n.getAttribute("data-i18n-placeholder")));
    });
    // "Language" in English stays next to the language button so anyone can find it.
    Array.prototype.forEach.call(root.querySelectorAll("[data-i18n-hide-for]"), function (n) {
      n.hidden = state.lang.split("-")[0] === n.getAttribute("data-i18n-hide-for");
    });
    el.hint.textContent = touch ? t("input_hint_touch") : t("input_hint");
    el.input.setAttribute("enterkeyhint", touch ? "enter" : "send");
    updateCounter();
    renderStatus();
    Array.prototype.forEach.call(el.log.querySelectorAll("[data-who]"), function (n) {
      n.textContent = t(n.getAttribute("data-who")) + ": ";
    });
    Array.prototype.forEach.call(el.log.querySelectorAll(".mt"), function (n) {
      n.textContent = t("mt");
      n.title = t("mt_title");
    });
  }

  // ---------------------------------------------------------------- HTTP

  function ApiError(kind, status, data) {
    this.kind = kind;       // network | session | closed | too_long | rejected
    this.status = status;
    this.data = data;
  }

  function request(method, path, body) {
    var headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (state.session) headers.Authorization = "Bearer " + state.session.token;
    var ctrl = window.AbortController ? new AbortController() : null;
    var timer = ctrl ? setTimeout(function () { ctrl.abort(); }, REQUEST_TIMEOUT_MS) : null;
    return fetch(api + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      signal: ctrl ? ctrl.signal : undefined
    }).then(function (res) {
      return res.text().then(function (raw) {
        var data = null;
        try { data = raw ? JSON.parse(raw) : {}; } catch (e) { data = null; }
        if (res.ok && data) return data;
        if (res.ok) throw new ApiError("network", res.status, null); // a proxy's HTML page
        if (res.status === 401 || res.status === 403 || res.status === 404 || res.status === 410) {
          throw new ApiError("session", res.status, data);
        }
        if (res.status === 409) throw new ApiError("closed", res.status, data);
        if (res.status === 413) throw new ApiError("too_long", res.status, data);
        if (res.status === 408 || res.status === 425 || res.status === 429 || res.status >= 500) {
          throw new ApiError("network", res.status, data);
        }
        throw new ApiError("rejected", res.status, data);
      });
    }, function () {
      throw new ApiError("network", 0, null);
    }).then(function (v) { if (timer) clearTimeout(timer); return v; },
      function (e) { if (timer) clearTimeout(timer); throw e; });
  }

  function sessionPath(suffix) {
    return "/sessions/" + encodeURIComponent(state.session.id) + suffix;
  }

  // ---------------------------------------------------------------- rendering

  // Phone numbers and web addresses in the service's messages become links (tap to call);
  // built from text nodes, so nothing in the text can become markup.
  var LINK_RE = new RegExp(
    "(https?:\\/\\/[^\\s<>\"'「」（）()]+)" +
    "|(\\+?[0-9０-９]{2,5}[-－‐ー][0-9０-９]{1,4}[-－‐ー][0-9０-９]{3,4})" +
    "|(#[0-9]{4})" +
    "|((?:^|[^0-9０-９])(?:110|119|189)(?=番))", "g");

  function toHalfWidth(s) {
    return s.replace(/[０-９]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) - 0xfee0); });
  }

  function appendText(parent, text, linkify) {
    text = String(text == null ? "" : text);
    if (!linkify) { parent.appendChild(document.createTextNode(text)); return; }
    var last = 0;
    var m;
    LINK_RE.lastIndex = 0;
    while ((m = LINK_RE.exec(text)) !== null) {
      var start = m.index;
      var label = m[0];
      var href;
      if (m[1]) {
        href = m[1];
      } else if (m[4]) {
        var lead = m[4].length - 3;   // the character before the short number, kept as text
        start += lead;
        label = m[4].slice(lead);
        href = "tel:" + label;
      } else {
        href = "tel:" + toHalfWidth(label).replace(/[^0-9+#]/g, "").replace("#", "%23");
      }
      if (start > last) parent.appendChild(document.createTextNode(text.slice(last, start)));
      var a = node("a", "link", label);
      a.href = href;
      if (m[1]) { a.target = "_blank"; a.rel = "noopener noreferrer"; }
      parent.appendChild(a);
      last = start + label.length;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function isNearBottom() {
    var c = el.conversation;
    return c.scrollHeight - c.scrollTop - c.clientHeight < 80;
  }

  // Show new content: the start of a long reply stays in view instead of its end.
  function reveal(first) {
    if (!first) return;
    var c = el.conversation;
    if (c.scrollHeight - first.offsetTop > c.clientHeight) c.scrollTop = first.offsetTop - 12;
    else c.scrollTop = c.scrollHeight;
  }

  function whoKey(m) {
    if (m.direction === "in") return "you";
    return oneOf(m.sender, ["counsellor", "system"], "bot");
  }

  // One message of the conversation. `m` follows the API: {direction, sender, text, choices,
  // kind, multi, machine_translated}. Returns the <li>.
  function renderMessage(m) {
    var who = whoKey(m);
    var kind = oneOf(m.kind, ["text", "notice", "emergency", "summary"], "text");
    var li = node("li", "msg " + (m.direction === "in" ? "msg-in" : "msg-out") +
      " from-" + who + " kind-" + kind);
    var label = node("span", who === "counsellor" ? "who" : "who sr-only", t(who) + ": ");
    label.setAttribute("data-who", who);
    li.appendChild(label);
    var bubble = node("div", "bubble");
    // Links only in what the service or a counsellor wrote; a summary echoes the resident.
    appendText(bubble, m.text, m.direction !== "in" && kind !== "summary");
    li.appendChild(bubble);
    if (m.machine_translated) {
      var mt = node("span", "mt", t("mt"));
      mt.title = t("mt_title");
      li.appendChild(mt);
    }
    if (m.direction !== "in" && Array.isArray(m.choices) && m.choices.length) {
      var multi = m.multi === true || (m.multi === undefined && m.choices.some(function (c) {
        return c && c.id === "done";
      }));
      li.appendChild(renderChoices(m.choices, multi));
    }
    if (m.id !== undefined && m.id !== null) state.seenIds[String(m.id)] = true;
    el.log.appendChild(li);
    return li;
  }

  function renderChoices(choices, multi) {
    var group = node("div", "choices" + (multi ? " choices-multi" : ""));
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", t("choices"));
    var ids = [];
    choices.forEach(function (c) {
      if (!c || typeof c.id !== "string") return;
      var b = node("button", "choice", c.label || c.id);
      b.type = "button";
      b.setAttribute("data-choice-id", c.id);
      if (multi && !ACTION_IDS[c.id]) {
        b.setAttribute("aria-pressed", "false");
        b.classList.add("toggle");
      }
      if (c.id === "done") b.classList.add("choice-done");
      group.appendChild(b);
      ids.push(c.id);
    });
    var picks = ids.filter(function (id) { return !ACTION_IDS[id]; });
    if (picks.length >= 2 && picks.every(function (id) { return LANGUAGE_IDS[normLang(id)]; })) {
      group.setAttribute("data-language-picker", "true");
      // Each language's name in its own language, so a screen reader says it right.
      Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) {
        var code = normLang(b.getAttribute("data-choice-id"));
        if (LANGUAGE_IDS[code]) b.lang = HTML_LANG[code] || code;
      });
    }
    if (multi) group.setAttribute("data-multi", "true");
    setGroupEnabled(group, false);
    group.classList.add("spent"); // until activate(): only the newest question's buttons work
    group.classList.remove("is-waiting");
    return group;
  }

  // Buttons wait (disabled, still shown) while an answer is on its way...
  function setGroupEnabled(group, enabled) {
    group.classList.toggle("is-waiting", !enabled);
    Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) {
      b.disabled = !enabled;
    });
  }

  // ...and are put away once the conversation has moved on (the resident's own bubble already
  // says what was chosen, so old buttons would only crowd a small screen).
  function retire(group) {
    if (!group) return;
    setGroupEnabled(group, false);
    group.classList.remove("is-waiting");
    group.classList.add("spent");
    if (state.activeGroup === group) state.activeGroup = null;
  }

  function activate(group) {
    if (state.activeGroup && state.activeGroup !== group) retire(state.activeGroup);
    state.activeGroup = group;
    state.activeGroupState = state.dialogState;
    if (group) {
      group.classList.remove("spent");
      Array.prototype.forEach.call(group.querySelectorAll("button"), function (b) {
        b.classList.remove("chosen");
        if (b.hasAttribute("aria-pressed")) b.setAttribute("aria-pressed", "false");
      });
      setGroupEnabled(group, true);
    }
  }

  // Out messages from a reply; the last group of choices becomes the active one. Returns the
  // first new <li>.
  function renderReply(messages) {
    var first = null;
    var lastGroup = null;
    (messages || []).forEach(function (m) {
      m = Object.assign({ direction: "out", sender: "bot" }, m);
      var li = renderMessage(m);
      first = first || li;
      var g = li.querySelector(".choices");
      if (g) lastGroup = g;
    });
    return { first: first, group: lastGroup };
  }

  function renderStatus() {
    var s = state.status;
    var text = s === "waiting" ? t("st_waiting") : s === "counsellor" ? t("st_counsellor") :
      s === "closed" ? t("st_closed") : "";
    el.status.textContent = text;
    el.status.hidden = !text;
    el.status.className = "status status-" + oneOf(s, ["bot", "waiting", "counsellor", "closed"], "bot");
    el.restart.hidden = s !== "closed";
    if (s !== "counsellor") hideTyping();  // released, transferred back or closed
    root.classList.toggle("is-closed", s === "closed");
    // Nothing to command in an ended chat; disabled buttons also leave the Tab order.
    Array.prototype.forEach.call(el.toolbar.querySelectorAll("button"), function (b) {
      b.disabled = s === "closed";
    });
  }

  function applyMeta(res) {
    if (!res) return;
    if (typeof res.conversation_status === "string") state.status = res.conversation_status;
    if (typeof res.state === "string") state.dialogState = res.state;
    if (res.case_id !== undefined) state.caseId = res.case_id;
    if (typeof res.language === "string" && res.language) setLang(res.language);
    // The server's limit wins over the page's default, should the two ever differ.
    if (typeof res.max_message_chars === "number" && res.max_message_chars > 0) {
      el.input.maxLength = res.max_message_chars;
      updateCounter();
    }
    root.setAttribute("data-status", state.status);
    root.setAttribute("data-state", state.dialogState || "");
    root.setAttribute("data-case-id", state.caseId === null || state.caseId === undefined ? "" : String(state.caseId));
    renderStatus();
  }

  // ---------------------------------------------------------------- errors

  var errorActionHandler = null;

  function showError(key, params, actionKey, onAction) {
    var near = isNearBottom();
    el.errorText.textContent = t(key, params);
    el.error.hidden = false;
    el.error.setAttribute("data-error", key);
    errorActionHandler = onAction || null;
    el.errorAction.hidden = !onAction;
    if (onAction) el.errorAction.textContent = t(actionKey);
    // The error line takes room from the conversation: keep the unsent message in sight.
    if (near) el.conversation.scrollTop = el.conversation.scrollHeight;
  }

  function clearError() {
    el.error.hidden = true;
    el.error.removeAttribute("data-error");
    el.errorText.textContent = "";
    errorActionHandler = null;
  }

  el.errorAction.addEventListener("click", function () {
    if (errorActionHandler) errorActionHandler();
  });

  // ---------------------------------------------------------------- sending

  // item: {body: {text}|{choice}, display: what the resident's bubble shows (null: no bubble),
  //        hidden: reply not shown (the silent picks of a multi-select), restore: text to put
  //        back in the input box if the server refuses it, lang: language chosen by it}
  function enqueue(item) {
    item.id = uuid();
    if (item.display !== null && item.display !== undefined) {
      item.li = renderMessage({ direction: "in", text: item.display });
      item.li.classList.add("pending");
      var note = node("span", "pending-note", t("sending"));
      item.li.appendChild(note);
      reveal(item.li);
    }
    state.queue.push(item);
    pump();
  }

  function pendingNote(item, key) {
    if (!item.li) return;
    var note = item.li.querySelector(".pending-note");
    if (note) note.textContent = t(key);
    item.li.classList.toggle("unsent", key === "unsent");
  }

  function scheduleRetry() {
    clearTimeout(state.retryTimer);
    var delay = Math.min(MAX_RETRY_MS, 1000 * Math.pow(2, state.retryAttempt));
    delay = delay * (0.75 + Math.random() * 0.5);
    state.retryAttempt += 1;
    state.retryTimer = setTimeout(function () { state.retryTimer = null; pump(); }, delay);
  }

  function retryNow() {
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    pump();
  }

  function pump() {
    if (state.busy || state.retryTimer || !state.session || !state.queue.length) return;
    var item = state.queue[0];
    state.busy = true;
    el.send.classList.add("is-busy");
    var body = Object.assign({ client_message_id: item.id }, item.body);
    var session = state.session;
    request("POST", sessionPath("/messages"), body).then(function (res) {
      if (state.session !== session) return; // the resident started a new chat meanwhile
      state.queue.shift();
      state.retryAttempt = 0;
      clearError();
      if (item.li) {
        item.li.classList.remove("pending", "unsent");
        var note = item.li.querySelector(".pending-note");
        if (note) note.remove();
      }
      onReply(res, item);
    }, function (err) {
      if (state.session !== session) return;
      if (err.kind === "network") {
        pendingNote(item, "unsent");
        var key = navigator.onLine === false ? "err_offline" : err.status ? "err_server" : "err_network";
        showError(key, null, "retry_now", retryNow);
        scheduleRetry();
      } else if (err.kind === "session") {
        dropQueue();
        sessionLost();
      } else if (err.kind === "closed") {
        // The conversation ended (a counsellor closed it): keep the text, offer a new chat.
        dropQueue();
        state.status = "closed";
        retire(state.activeGroup);
        renderStatus();
        showError("err_closed");
      } else {
        state.queue.shift();
        giveBack(item);
        showError(err.kind === "too_long" ? "err_too_long" : "err_rejected",
          { max: el.input.maxLength > 0 ? el.input.maxLength : 4000 });
        if (state.activeGroup) setGroupEnabled(state.activeGroup, true);
      }
    }).then(function () {
      state.busy = false;
      el.send.classList.remove("is-busy");
      pump();
    });
  }

  // The server refused an item: its bubble goes, its text returns to the input box.
  function giveBack(item) {
    if (item.li) item.li.remove();
    if (item.restore) {
      var current = el.input.value;
      el.input.value = current ? item.restore + "\n" + current : item.restore;
      autosize();
      updateCounter();
    }
  }

  function dropQueue() {
    var items = state.queue.splice(0);
    items.reverse().forEach(giveBack);
  }

  function onReply(res, item) {
    var before = state.dialogState;
    state.metaSeq += 1;
    if (item.lang) setLang(item.lang);
    applyMeta(res);
    if (item.hidden) return;
    var hadFocusInGroup = state.activeGroup && state.activeGroup.contains(document.activeElement);
    var out = renderReply(res.messages);
    if (out.group) {
      activate(out.group);
    } else if (state.activeGroup && state.status !== "closed" &&
               (state.dialogState === state.activeGroupState || state.dialogState === before) &&
               state.dialogState !== null) {
      // Same step as before (a command, an answer the bot did not take): its buttons still apply.
      activate(state.activeGroup);
    } else {
      retire(state.activeGroup);
    }
    if (state.status === "closed") retire(state.activeGroup);
    reveal(out.first);
    // A pressed button is now disabled; give keyboard users a sensible place to be.
    if (out.first && (hadFocusInGroup || document.activeElement === document.body)) {
      out.first.setAttribute("tabindex", "-1");
      out.first.focus({ preventScroll: true });
    }
    store.save();
  }

  function sendText() {
    var text = el.input.value;
    if (!text.trim()) { el.input.focus(); return; }
    if (!state.session) return;
    el.input.value = "";
    autosize();
    updateCounter();
    if (state.activeGroup) setGroupEnabled(state.activeGroup, false);
    enqueue({ body: { text: text }, display: text, restore: text });
  }

  function sendChoice(id, label, opts) {
    opts = opts || {};
    if (!state.session) return;
    enqueue({
      body: { choice: id },
      display: opts.hidden ? null : label,
      hidden: !!opts.hidden,
      lang: opts.lang || null
    });
  }

  el.log.addEventListener("click", function (ev) {
    var b = ev.target.closest ? ev.target.closest("button.choice") : null;
    if (!b || b.disabled) return;
    var group = b.parentNode;
    var id = b.getAttribute("data-choice-id");
    if (b.hasAttribute("aria-pressed")) {
      b.setAttribute("aria-pressed", b.getAttribute("aria-pressed") === "true" ? "false" : "true");
      return;
    }
    b.classList.add("chosen");
    setGroupEnabled(group, false);
    if (group.getAttribute("data-multi") === "true" && id === "done") {
      // The picks go first (silently, in order), then `done` with one bubble naming them all.
      var picked = Array.prototype.filter.call(group.querySelectorAll("button[aria-pressed]"),
        function (x) { return x.getAttribute("aria-pressed") === "true"; });
      picked.forEach(function (x) {
        x.classList.add("chosen");
        sendChoice(x.getAttribute("data-choice-id"), x.textContent, { hidden: true });
      });
      var names = picked.map(function (x) { return x.textContent; });
      sendChoice("done", names.length ? names.join("、") : t("selected_none"));
      return;
    }
    var lang = group.getAttribute("data-language-picker") === "true" && LANGUAGE_IDS[normLang(id)]
      ? id : null;
    sendChoice(id, b.textContent, { lang: lang });
  });

  el.toolbar.addEventListener("click", function (ev) {
    var b = ev.target.closest ? ev.target.closest("button[data-command]") : null;
    if (!b || !state.session || state.status === "closed") return;
    var cmd = b.getAttribute("data-command");
    sendChoice(cmd, t("say_" + cmd));
  });

  el.form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    sendText();
  });

  el.input.addEventListener("keydown", function (ev) {
    // Never send while an IME is composing (Enter confirms the Japanese conversion).
    if (ev.key !== "Enter" || ev.isComposing || ev.keyCode === 229) return;
    if (ev.shiftKey || ev.altKey || ev.ctrlKey || ev.metaKey || touch) return;
    ev.preventDefault();
    sendText();
  });

  function autosize() {
    el.input.style.height = "auto";
    el.input.style.height = Math.min(el.input.scrollHeight, 200) + "px";
  }

  function updateCounter() {
    var max = el.input.maxLength > 0 ? el.input.maxLength : 4000;
    var left = max - el.input.value.length;
    el.counter.textContent = left <= 500 ? t("counter", { n: left }) : "";
    el.counter.classList.toggle("counter-low", left <= 100);
  }

  el.input.addEventListener("input", function () { autosize(); updateCounter(); });

  // ---------------------------------------------------------------- live updates

  // -- WebSocket connect (issue 17): the token goes in the first frame, never in the URL.
  function wsUrl() {
    var proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    return proto + "//" + window.location.host + api + sessionPath("/ws");
  }

  function connectWs() {
    if (!state.session || !window.WebSocket || state.ws) return;
    clearTimeout(state.wsTimer);
    state.wsTimer = null;
    var ws;
    try { ws = new WebSocket(wsUrl()); } catch (e) { scheduleWs(); return; }
    state.ws = ws;
    var token = state.session.token;
    ws.onopen = function () {
      try { ws.send(JSON.stringify({ type: "auth", token: token })); } catch (e) { /* onclose follows */ }
    };
    ws.onmessage = function (ev) {
      var data;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      if (data && data.type === "ready") { // authenticated and subscribed
        state.wsOpenedOnce = true;
        state.wsAttempt = 0;
        root.setAttribute("data-live", "open");
        catchUp(); // pushes sent while the socket was down (or not yet open) are in the transcript
        return;
      }
      onPush(data);
    };
    ws.onclose = function (ev) {
      if (state.ws !== ws) return;
      state.ws = null;
      root.setAttribute("data-live", "closed");
      if (ev && ev.code === 4410) return; // the chat ended: its token no longer works
      scheduleWs();
    };
  }
  // -- end WebSocket connect

  function scheduleWs() {
    if (!state.session || state.wsTimer) return;
    var delay = Math.min(MAX_RETRY_MS, 1000 * Math.pow(2, state.wsAttempt)) * (0.5 + Math.random() * 0.5);
    state.wsAttempt += 1;
    state.wsTimer = setTimeout(function () { state.wsTimer = null; connectWs(); }, delay);
  }

  function closeWs() {
    clearTimeout(state.wsTimer);
    state.wsTimer = null;
    if (state.ws) {
      var ws = state.ws;
      state.ws = null;
      try { ws.close(); } catch (e) { /* ignore */ }
    }
  }

  function onPush(data) {
    if (!data || typeof data !== "object") return;
    if (data.type === "status" && data.conversation_status === "closed") {
      // The chat ended; its token no longer reads anything, so do not ask the server.
      state.status = "closed";
      root.setAttribute("data-status", "closed");
      renderStatus();
      retire(state.activeGroup);
    } else if (data.type === "status") {
      // Pushes can arrive late (after the answer to a newer message already told us more), so
      // a different status is only a hint: ask the server for the current one.
      if (data.conversation_status !== state.status) catchUp();
    } else if (data.type === "typing") {
      showTyping();
    } else if (data.type === "message" && data.message && typeof data.message === "object") {
      var m = data.message;
      if (m.sender === "counsellor") hideTyping();
      if (m.id !== undefined && m.id !== null && state.seenIds[String(m.id)]) return;
      var near = isNearBottom();
      var li = renderMessage(Object.assign({ direction: "out", sender: "counsellor" }, m));
      if (near) reveal(li);
    }
  }

  // "The counsellor is typing…": the console repeats the event at most every 5 s while the
  // counsellor writes, so the line goes away a little after the last one, or with the message.
  var TYPING_SHOWN_MS = 7000;

  function showTyping() {
    if (state.status === "closed") return;
    el.typing.textContent = t("typing");
    el.typing.hidden = false;
    clearTimeout(state.typingTimer);
    state.typingTimer = setTimeout(hideTyping, TYPING_SHOWN_MS);
  }

  function hideTyping() {
    clearTimeout(state.typingTimer);
    state.typingTimer = null;
    el.typing.hidden = true;
  }

  // After the socket was down: show what was pushed meanwhile (never twice). The bot only
  // speaks in answer to our own POSTs, which we rendered already; pushes are counsellor and
  // system messages, each with an id.
  function catchUp() {
    if (!state.session) return;
    if (state.catchingUp) { state.catchUpAgain = true; return; }
    state.catchingUp = true;
    var seq = state.metaSeq;
    var session = state.session;
    request("GET", sessionPath("/messages")).then(function (res) {
      if (state.session !== session) return; // a new chat began meanwhile
      var items = Array.isArray(res.messages) ? res.messages : [];
      var first = null;
      var near = isNearBottom();
      items.forEach(function (m) {
        if (!m || m.direction === "in" || m.sender === "bot") return;
        if (m.id === undefined || m.id === null || state.seenIds[String(m.id)]) return;
        var li = renderMessage(m);
        first = first || li;
      });
      // An answer that came back while this was on its way is newer: it wins.
      if (seq === state.metaSeq) {
        applyMeta(res);
        if (state.status === "closed") retire(state.activeGroup);
      }
      if (first && near) reveal(first);
    }, function () { /* the next reconnect or push tries again */ }).then(function () {
      state.catchingUp = false;
      if (state.catchUpAgain) { state.catchUpAgain = false; catchUp(); }
    });
  }

  // ---------------------------------------------------------------- start, resume, restart

  function renderTranscript(items) {
    el.log.textContent = "";
    state.activeGroup = null;
    var lastGroup = null;
    var labels = {};  // choice id -> label, from the latest question, for answers given by button
    items.forEach(function (m) {
      if (!m || typeof m !== "object") return;
      var cid = m.choice || m.choice_id;
      if (m.direction === "in" && (m.text === null || m.text === undefined) && typeof cid === "string") {
        var say = t("say_" + cid);
        m = Object.assign({}, m, { text: labels[cid] || (say !== "say_" + cid ? say : cid) });
      }
      if (m.direction !== "in" && Array.isArray(m.choices) && m.choices.length) {
        labels = {};
        m.choices.forEach(function (c) { if (c && c.id) labels[c.id] = c.label; });
      }
      var li = renderMessage(m);
      if (m.direction === "in") lastGroup = null;
      else if (li.querySelector(".choices")) lastGroup = li.querySelector(".choices");
    });
    if (lastGroup && state.status !== "closed") activate(lastGroup);
    el.conversation.scrollTop = el.conversation.scrollHeight;
  }

  function ready() {
    el.log.setAttribute("aria-busy", "false");
    el.loading.hidden = true;
    root.setAttribute("data-ready", "true");
    connectWs();
    pump();
  }

  function resume(saved) {
    state.session = { id: saved.id, token: saved.token };
    if (saved.lang) setLang(saved.lang);
    return request("GET", sessionPath("/messages")).then(function (res) {
      applyMeta(res);
      renderTranscript(Array.isArray(res.messages) ? res.messages : []);
      clearError();
      ready();
    });
  }

  function create() {
    var body = { language: navigator.language || "ja" };
    if (profile) body.profile = profile;
    state.session = null;
    return request("POST", "/sessions", body).then(function (res) {
      var sid = res && res.session_id;
      if ((typeof sid !== "string" && typeof sid !== "number") || typeof res.token !== "string") {
        throw new ApiError("network", 0, res);
      }
      state.session = { id: String(sid), token: res.token };
      state.seenIds = {};
      el.log.textContent = "";
      store.save();
      applyMeta(res);
      var out = renderReply(res.messages);
      if (out.group) activate(out.group);
      clearError();
      ready();
      reveal(out.first);
    });
  }

  function start() {
    var saved = store.load();
    var attempt = saved ? resume(saved).catch(function (err) {
      if (err && err.kind === "session") { // expired or purged: begin again, quietly
        store.clear();
        state.session = null;
        return create();
      }
      throw err;
    }) : create();
    attempt.catch(function () {
      state.session = state.session || null;
      var delay = Math.min(MAX_RETRY_MS, 1000 * Math.pow(2, state.startAttempt));
      state.startAttempt += 1;
      showError("err_start", null, "retry_start", function () { clearError(); start(); });
      setTimeout(function () { if (!root.hasAttribute("data-ready")) start(); }, delay);
    });
  }

  function sessionLost() {
    state.status = "closed";
    renderStatus();
    showError("err_session");
  }

  function newChat() {
    closeWs();
    clearTimeout(state.retryTimer);
    state.retryTimer = null;
    dropQueue();
    store.clear();
    state.session = null;
    state.status = "bot";
    state.dialogState = null;
    state.caseId = null;
    state.activeGroup = null;
    state.wsOpenedOnce = false;
    state.wsAttempt = 0;
    root.removeAttribute("data-ready");
    el.log.textContent = "";
    el.log.setAttribute("aria-busy", "true");
    el.loading.hidden = false;
    clearError();
    renderStatus();
    start();
    el.input.focus();
  }

  el.newChat.addEventListener("click", newChat);

  window.addEventListener("online", function () {
    if (state.queue.length) retryNow();
    if (!state.ws && state.session) { state.wsAttempt = 0; clearTimeout(state.wsTimer); state.wsTimer = null; connectWs(); }
  });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && state.session && !state.ws) {
      clearTimeout(state.wsTimer);
      state.wsTimer = null;
      connectWs();
    }
  });

  // -- quick exit (issue 17): always visible; Esc twice does the same. Clears the page and this
  // tab's storage, and replaces the chat's history entry with a neutral site, so Back does not
  // return to the chat (as domestic-violence services do).
  var safety = { exit_url: "https://www.google.com/", texts: {} };
  try {
    var blob = document.getElementById("madoguchi-safety");
    if (blob) safety = JSON.parse(blob.textContent || "{}");
  } catch (e) { /* keep the defaults */ }
  var exitUrl = /^https?:\/\//i.test(String(safety.exit_url || "")) ? safety.exit_url : "https://www.google.com/";
  var exitButton = document.getElementById("quick-exit");

  function quickExit() {
    try { window.sessionStorage.clear(); } catch (e) { /* ignore */ }
    try { window.localStorage.removeItem(STORE_KEY); } catch (e) { /* ignore */ }
    try { if (state.ws) state.ws.close(); } catch (e) { /* ignore */ }
    state.session = null;
    state.queue = [];
    document.title = "";
    try { document.body.textContent = ""; } catch (e) { /* ignore */ }
    window.location.replace(exitUrl);
  }

  function exitLabels() {
    if (!exitButton) return;
    var texts = safety.texts || {};
    var table = texts[state.lang] || texts[state.lang.split("-")[0]] || texts.ja || {};
    var label = exitButton.querySelector(".quick-exit-label");
    if (label && table.quick_exit) label.textContent = table.quick_exit;
    if (table.quick_exit_hint) exitButton.title = table.quick_exit_hint;
  }

  if (exitButton) {
    exitButton.addEventListener("click", quickExit);
    // The page's language changes <html lang>: follow it.
    if (window.MutationObserver) {
      new MutationObserver(exitLabels).observe(document.documentElement, { attributes: true, attributeFilter: ["lang"] });
    }
  }
  var lastEsc = 0;
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape" || ev.isComposing) return;
    var now = Date.now();
    if (now - lastEsc < 1500) { quickExit(); return; }
    lastEsc = now;
  }, true);
  // -- end quick exit

  applyChrome();
  exitLabels();
  autosize();
  start();
})();
