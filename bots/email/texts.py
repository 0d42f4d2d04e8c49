"""Words only email needs (reply instructions, attachment and size notices).

Looked up in the i18n catalog first under `email.<key>` so the catalog owners can take them
over; these built-ins are the fallback. Languages without an entry get English, and Japanese
comes first in a bilingual line where a resident's language is unknown.
"""

from __future__ import annotations

from typing import Any

_TEXTS: dict[str, dict[str, str]] = {
    "ja": {
        "reply_hint": "番号か言葉で、このメールに返信してください。",
        "multi_hint": "あてはまるものをすべて、番号か言葉で書いてください。",
        "attachment_notice": "添付ファイル({count}件)は、安全のため受け取っていません(相談員には、添付があったことだけを伝えます)。内容は本文に文字で書いてください。",
        "too_large": "メールが大きすぎるため受け取れませんでした({limit_mb}MBまで)。添付ファイルを外して、文字だけでもう一度送ってください。",
        "truncated": "メールが長いため、最初の{limit}文字を受け取りました。続きは分けて送ってください。",
        "form_intro": "このメールに返信して、次の質問にお答えください。答えたくない質問はとばしてかまいません。書ける範囲で、自由に書いていただいても大丈夫です。",
        "form_consent": "まず、上の【相談窓口の利用について】に同意していただける場合は「同意します」と書いてください。同意しない場合は「同意しません」と書いてください。",
        "form_answer_here": "(ここに回答)",
        "form_heading": "■ 質問",
        "subject": "ご相談ありがとうございます",
        "empty_reply": "返信の本文が読み取れませんでした。お手数ですが、このメールの上の方に文字で書いて、もう一度返信してください。",
        "not_consented_yet": "ご返信ありがとうございます。相談を始めるには、利用への同意が必要です。同意していただける場合は「同意します」、同意しない場合は「同意しません」と書いて返信してください。",
        "emergency_heading": "【大切なお知らせ】",
        "this_channel": "このメール",
        "other_email": "別のメールアドレス",
        "safety_notice": "今、命や身の危険があるとき、今夜泊まるところや今日食べるものがないときは、返信を待たずに次へ連絡してください。\n{emergency_contacts}",
    },
    "ja-easy": {
        "reply_hint": "ばんごう か ことば で、この メール に へんしん して ください。",
        "multi_hint": "あてはまる もの を ぜんぶ、ばんごう か ことば で かいて ください。",
        "attachment_notice": "てんぷ ファイル ({count}こ) は うけとって いません。ないよう は もじ で かいて ください。",
        "too_large": "メール が おおきすぎて うけとれません でした ({limit_mb}MB まで)。もじ だけ で もう いちど おくって ください。",
        "truncated": "メール が ながい ので、はじめ の {limit}もじ を うけとりました。",
        "form_intro": "この メール に へんしん して、しつもん に こたえて ください。こたえたくない しつもん は とばして いいです。",
        "form_consent": "りようの ルール に どうい する とき は「どうい します」、しない とき は「どうい しません」と かいて ください。",
        "form_answer_here": "(ここ に こたえ)",
        "form_heading": "■ しつもん",
        "subject": "そうだん ありがとう ございます",
        "empty_reply": "へんしん の ぶんしょう が よめません でした。もじ で かいて、もう いちど へんしん して ください。",
        "not_consented_yet": "へんしん ありがとう ございます。そうだん を はじめる には、どうい が ひつよう です。「どうい します」か「どうい しません」と かいて ください。",
        "emergency_heading": "【たいせつ な おしらせ】",
        "this_channel": "この メール",
        "other_email": "べつ の メールアドレス",
        "safety_notice": "いのち が あぶない とき、こんや とまる ところ や きょう たべる もの が ない とき は、すぐ に ここ へ れんらく して ください。\n{emergency_contacts}",
    },
    "en": {
        "reply_hint": "Reply to this mail with the number or the words.",
        "multi_hint": "Write every one that applies, by number or in words.",
        "attachment_notice": "For safety, attachments ({count}) were not received (the counsellor is only told that you sent one). Please write the content in the mail itself.",
        "too_large": "Your mail was too large to receive (limit {limit_mb} MB). Please send it again without attachments, as text only.",
        "truncated": "Your mail was long, so we received the first {limit} characters. Please send the rest separately.",
        "form_intro": "Please reply to this mail and answer the questions below. You may skip any question, and you may also simply write freely.",
        "form_consent": "First, if you agree to the terms of use above, write \"I agree\". If you do not agree, write \"I do not agree\".",
        "form_answer_here": "(your answer)",
        "form_heading": "■ Questions",
        "subject": "Thank you for contacting us",
        "empty_reply": "We could not read any text in your reply. Please write above the quoted mail and reply again.",
        "not_consented_yet": "Thank you for your reply. To start a consultation we need your agreement to the terms of use. Please reply \"I agree\" or \"I do not agree\".",
        "emergency_heading": "[Important]",
        "this_channel": "this email",
        "other_email": "another email address",
        "safety_notice": "If your life or safety is in danger, or you have nowhere to stay tonight or nothing to eat today, do not wait for our reply: contact\n{emergency_contacts}",
    },
}


# The catalogs speak of "this chat"; a mail says "this mail". Never applied to consent
# wordings: the resident must read exactly the text whose version and hash are recorded.
_CHAT_TO_MAIL: dict[str, tuple[tuple[str, str], ...]] = {
    "ja": (("このチャット", "このメール"), ("チャットでの相談", "メールでの相談"), ("チャット", "メール")),
    "ja-easy": (("この チャット", "この メール"), ("チャット", "メール")),
    "en": (("this chat", "this email"), ("in the chat", "by email"), ("chat", "email")),
}


def for_email(text: str, language: str) -> str:
    for old, new in _CHAT_TO_MAIL.get(language, ()):
        text = text.replace(old, new)
    return text


def email_text(language: str, key: str, **params: Any) -> str:
    try:
        from i18n.catalog import catalog

        return catalog(language).text(f"email.{key}", **params)
    except Exception:  # no catalog entry yet (or no catalog for this language)
        pass
    table = _TEXTS.get(language) or _TEXTS["ja" if language.startswith("ja") else "en"]
    return table.get(key, _TEXTS["en"][key]).format(**params)
