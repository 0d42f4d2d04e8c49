/* The counsellor console (vanilla JS, no build step).
 *
 * Rules this file keeps:
 * - Every text that comes from a resident, a counsellor or the database is put on the page
 *   with textContent (the helper `el`), never innerHTML.
 * - The API is the contract in DESIGN.md: /api/auth/*, /api/queue, /api/conversations/{id}/…,
 *   /api/cases/{id}/…; live updates come over /api/console/ws (closed with 4401 when the
 *   session is gone, which brings the login form back).
 * - Keyboard first: every action is a button or a field; Ctrl+Enter (⌘+Enter) sends.
 * - Issue 14's features live in their own files (console-alerts.js, console-compose.js,
 *   console-keys.js, console-desk.js); they use `window.Console` (exported at the end) and
 *   its hooks: "queue" (lists loaded), "conversation" (one rendered), "event" (socket),
 *   "message" (a message shown), "login".
 */
(function () {
  "use strict";

  // Labels for codes (languages, channels, categories, urgency, statuses, …): the server's
  // `console` catalog (i18n/catalogs/console/), in a JSON data block of console.html.
  var LABELS = readLabels();

  function readLabels() {
    var node = document.getElementById("console-strings");
    try { return (node && JSON.parse(node.textContent)) || {}; } catch (e) { return {}; }
  }

  function label(group, code) {
    if (code === null || code === undefined || code === "") return "—";
    var g = LABELS[group] || {};
    return Object.prototype.hasOwnProperty.call(g, code) ? g[code] : String(code);
  }

  // ── DOM helpers: text only ───────────────────────────────────────────────
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function fmtTime(iso) {
    var d = new Date(iso);
    if (isNaN(d)) return "";
    return d.toLocaleString("ja-JP", { month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "Asia/Tokyo" });
  }
  function fmtWait(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    var m = Math.floor(seconds / 60);
    if (m < 60) return m + "分";
    return Math.floor(m / 60) + "時間" + (m % 60) + "分";
  }

  // ── state ────────────────────────────────────────────────────────────────
  var state = {
    me: null, queue: null, current: null, convId: null, ws: null, wsTimer: null, wsAttempt: 0,
    queueTimer: null, clockSkew: 0, seen: {}, messages: {}, loadSeq: 0, canned: [], hooks: {}, firstQueue: true
  };

  function on(name, fn) { (state.hooks[name] = state.hooks[name] || []).push(fn); }
  function emit(name, arg) {
    (state.hooks[name] || []).forEach(function (fn) {
      try { fn(arg); } catch (e) { if (window.console) window.console.error(e); }
    });
  }

  function setView(view) {
    $("app").setAttribute("data-view", view);
    $("login-view").hidden = view !== "login";
    $("main-view").hidden = view !== "main";
    $("logout").hidden = view !== "main";
    $("desk-tools").hidden = view !== "main";
  }

  // ── API ──────────────────────────────────────────────────────────────────
  function ApiError(status, data) {
    this.status = status;
    this.data = data;
    var d = data && data.detail;
    this.message = (d && (d.error || (typeof d === "string" ? d : null))) || ("エラー (" + status + ")");
  }

  function api(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (data) {
        if (res.status === 401 && path !== "/api/auth/login" && path !== "/api/auth/me") {
          showLogin("ログインが必要です。");
          throw new ApiError(401, data);
        }
        if (!res.ok) throw new ApiError(res.status, data);
        return data;
      });
    });
  }

  function explain(err) {
    if (!(err instanceof ApiError)) return "通信できませんでした。ネットワークを確認してください。";
    var d = err.data && err.data.detail;
    if (err.status === 409 && d && d.holder) return (d.holder.display_name || d.holder.login) + "さんが担当しています。";
    if (err.status === 403 && d && d.holder) return "この相談は" + (d.holder.display_name || d.holder.login) + "さんが担当しています。";
    if (err.status === 409) return "いまはできません: " + err.message;
    if (err.status === 422) return "入力を確認してください: " + err.message;
    if (err.status === 404) return "見つかりません。";
    return err.message;
  }

  // ── login ────────────────────────────────────────────────────────────────
  function showLogin(message) {
    closeSocket();
    state.me = null;
    setView("login");
    $("login-error").textContent = message || "";
    $("who").textContent = "";
    $("login").focus();
  }

  function onLogin(ev) {
    ev.preventDefault();
    var body = { login: $("login").value.trim(), password: $("password").value };
    if (!$("otp-row").hidden && $("otp").value.trim()) body.otp = $("otp").value.trim();
    if (!body.login || !body.password) {
      $("login-error").textContent = "ログインIDとパスワードを入力してください。";
      return;
    }
    $("login-submit").disabled = true;
    api("POST", "/api/auth/login", body).then(function (me) {
      $("password").value = "";
      $("otp").value = "";
      $("otp-row").hidden = true;
      start(me);
    }).catch(function (err) {
      var d = err.data && err.data.detail;
      if (d && d.otp_required) {
        $("otp-row").hidden = false;
        $("login-error").textContent = body.otp ? "ワンタイムコードが違います。" : "ワンタイムコードを入力してください。";
        $("otp").focus();
      } else {
        $("login-error").textContent = err.status === 401 ? "ログインIDかパスワードが違います。" : explain(err);
      }
    }).then(function () { $("login-submit").disabled = false; });
  }

  function start(me) {
    state.me = me;
    $("who").textContent = (me.display_name || me.login) + "(" + me.login + ")";
    setView("main");
    state.firstQueue = true;
    openSocket();
    emit("login", me);
    loadQueue().then(function () {
      // Keyboard first: after login the focus is on the list (the first conversation in it).
      if (!state.convId) focusList();
    });
    route();
  }

  function focusList() {
    var first = document.querySelector("#queue-pane .queue li button");
    (first || $("queue-pane")).focus();
  }

  // ── the queue ────────────────────────────────────────────────────────────
  function loadQueue() {
    // Every list at once (issue 14): mine, waiting, my team, others', resting, closed.
    return api("GET", "/api/console/overview").then(function (q) {
      var before = state.queue;
      state.queue = q;
      state.clockSkew = Date.now() - new Date(q.now).getTime();
      showScreenNotice(q.risk_screen);
      renderQueue();
      emit("queue", { now: q, before: before, first: state.firstQueue });
      state.firstQueue = false;
    }).catch(function () {});
  }

  function scheduleQueue() {
    clearTimeout(state.queueTimer);
    state.queueTimer = setTimeout(loadQueue, 120);
  }

  function waitedNow(item) {
    if (!item.waiting_since) return null;
    return Math.max(0, Math.floor((Date.now() - state.clockSkew - new Date(item.waiting_since).getTime()) / 1000));
  }

  function queueItem(item, kind) {
    var li = el("li");
    li.setAttribute("data-id", item.id);
    if (item.urgent) li.classList.add("urgent");
    if (item.id === state.convId) li.classList.add("selected");
    var b = el("button");
    b.type = "button";
    var line1 = el("span", "line1");
    var unread = (state.queue && state.queue.unread && state.queue.unread[String(item.id)]) || 0;
    if (unread && item.id !== state.convId) {
      li.classList.add("has-unread");
      line1.appendChild(el("span", "badge unread", "未読 " + unread));
    }
    if (item.urgent) line1.appendChild(el("span", "badge urgent", "緊急"));
    else if (item.look) { li.classList.add("look"); line1.appendChild(el("span", "badge look", "要確認")); }
    line1.appendChild(document.createTextNode((item.case_number ? "受付 " + item.case_number : "受付中 #" + item.id)));
    var line2 = el("span", "line2", label("language", item.language) + "・" + label("channel", item.channel) +
      (item.categories && item.categories.length ? "・" + item.categories.map(function (c) { return label("category", c); }).join("、") : ""));
    var line3 = el("span", "line3");
    if (kind === "waiting") {
      var waited = waitedNow(item);
      var w = el("span", "wait" + (item.target_seconds && waited > item.target_seconds ? " over" : ""),
        "待ち " + fmtWait(waited) + " / 目安 " + fmtWait(item.target_seconds));
      w.setAttribute("data-since", item.waiting_since || "");
      w.setAttribute("data-target", item.target_seconds || "");
      line3.appendChild(w);
      line3.appendChild(document.createTextNode("・共有の同意: " + label("decision", item.share_consent)));
    } else if (kind === "held") {
      line3.textContent = "担当: " + (item.owner ? (item.owner.display_name || item.owner.login) : "—");
    } else if (kind === "resting" || kind === "closed") {
      line3.textContent = label("status", item.status) + (item.updated_at ? "・" + fmtTime(item.updated_at) : "");
    } else {
      line3.textContent = label("status", item.status);
    }
    if (item.urgency_reasons && item.urgency_reasons.length) {
      line3.appendChild(document.createTextNode("・" + item.urgency_reasons.map(function (r) { return label("urgency", r); }).join("、")));
    }
    if (item.look_reasons && item.look_reasons.length) {
      line3.appendChild(document.createTextNode("・要確認: " + item.look_reasons.map(function (r) { return label("urgency", r); }).join("、")));
    }
    b.appendChild(line1); b.appendChild(line2); b.appendChild(line3);
    b.setAttribute("aria-label", line1.textContent + " " + line2.textContent + " " + line3.textContent);
    b.addEventListener("click", function () { location.hash = "#c/" + item.id; });
    li.appendChild(b);
    return li;
  }

  function renderQueue() {
    var q = state.queue;
    if (!q) return;
    var lists = [["queue", q.waiting, "waiting", "waiting-count"], ["mine", q.mine, "mine", "mine-count"],
      ["team", q.team || [], "held", "team-count"], ["held", q.held, "held", "held-count"],
      ["resting", q.resting || [], "resting", "resting-count"], ["closed", q.closed || [], "closed", "closed-count"]];
    lists.forEach(function (l) {
      var ol = $(l[0]);
      clear(ol);
      l[1].forEach(function (item) { ol.appendChild(queueItem(item, l[2])); });
      $(l[3]).textContent = String(l[1].length);
    });
    $("queue-empty").hidden = q.waiting.length > 0;
    $("mine-empty").hidden = q.mine.length > 0;
    // the list holding the open conversation stays open
    ["team", "resting", "closed", "held"].forEach(function (id) {
      if (state.convId && $(id).querySelector("li[data-id='" + state.convId + "']")) $(id + "-box").open = true;
    });
  }

  function tickWaits() {
    var spans = document.querySelectorAll("#queue .wait");
    Array.prototype.forEach.call(spans, function (s) {
      var since = s.getAttribute("data-since"), target = Number(s.getAttribute("data-target")) || null;
      if (!since) return;
      var waited = Math.max(0, Math.floor((Date.now() - state.clockSkew - new Date(since).getTime()) / 1000));
      s.textContent = "待ち " + fmtWait(waited) + " / 目安 " + fmtWait(target);
      s.classList.toggle("over", !!target && waited > target);
    });
  }

  // ── one conversation ─────────────────────────────────────────────────────
  function route() {
    var m = /^#c\/(\d+)$/.exec(location.hash);
    var id = m ? Number(m[1]) : null;
    if (id === state.convId && state.current) return;
    if (state.convId && state.convId !== id && !isMine(state.convId)) unwatch(state.convId);
    state.convId = id;
    state.current = null;
    state.messages = {};
    if (!id) {
      $("conv").hidden = true; $("case-pane").hidden = true; $("conv-empty").hidden = false;
      renderQueue();
      return;
    }
    loadConversation(true);
    renderQueue();
  }

  function isMine(id) {
    return !!(state.queue && state.queue.mine.some(function (i) { return i.id === id; }));
  }

  function loadConversation(focus) {
    var id = state.convId;
    var seq = ++state.loadSeq;
    return api("GET", "/api/conversations/" + id).then(function (data) {
      // canned replies as this resident reads them, with the leads' edits (issue 14)
      return api("GET", "/api/console/canned?language=" + encodeURIComponent(data.conversation.language))
        .then(function (c) { data.canned = c.replies; return data; }, function () { return data; });
    }).then(function (data) {
      if (id !== state.convId || seq !== state.loadSeq) return; // a newer load is on its way
      state.current = data;
      renderConversation(data);
      watch(id);
      emit("conversation", data);
      if (focus) {
        var target = data.conversation.mine ? $("reply") : $("claim").hidden ? $("conv-pane") : $("claim");
        target.focus();
      }
    }).catch(function (err) {
      $("conv-empty").hidden = false;
      $("conv-empty").textContent = explain(err);
      $("conv").hidden = true;
    });
  }

  function renderConversation(data) {
    var c = data.conversation;
    $("conv-empty").hidden = true;
    $("conv").hidden = false;
    $("conv").setAttribute("data-status", c.status);
    $("conv").setAttribute("data-mine", c.mine ? "true" : "false");
    $("conv-title").textContent = (c.case_number ? "受付 " + c.case_number : "受付中の相談 #" + c.id) + (c.urgent ? "(緊急)" : "");
    $("conv-meta").textContent = label("language", c.language) + "・" + label("channel", c.channel) + "・" +
      label("status", c.status) + (c.status === "waiting" ? "・待ち " + fmtWait(waitedNow(c)) + " / 目安 " + fmtWait(c.target_seconds) : "") +
      (c.urgency_reasons && c.urgency_reasons.length ? "・" + c.urgency_reasons.map(function (r) { return label("urgency", r); }).join("、") : "");
    var owner = "";
    if (c.status === "counsellor") owner = c.mine ? "あなたが担当しています。" : "担当: " + (c.owner ? (c.owner.display_name || c.owner.login) : "—");
    else if (c.status === "waiting") owner = "相談員を待っています。";
    else if (c.status === "bot") owner = "ボットが対応しています(相談員待ちではありません)。";
    else owner = "この相談は終了しています。";
    $("conv-owner").textContent = owner;
    var warn = "";
    if (data.needs_translation && !data.translation_available) {
      warn = "翻訳機能が使えません: 返信は日本語のまま届きます。定型文(" + label("language", c.language) + "版)なら相手の言語で届きます。";
    }
    if (!data.office.open) warn += (warn ? " " : "") + "窓口の時間外です(次の開始: " + fmtTime(data.office.next_open) + ")。";
    $("conv-warn").textContent = warn;
    $("conv-warn").hidden = !warn;

    $("claim").hidden = c.status !== "waiting";
    $("release").hidden = !c.mine;
    $("release-bot").hidden = !c.mine || c.intake_finished;  // the bot only while the intake is unfinished
    $("reopen").hidden = c.status !== "closed";
    $("block").hidden = !state.me || (state.me.role !== "lead" && state.me.role !== "admin") || c.status === "closed";
    $("open-case").hidden = !(c.mine && !c.case_id);  // a crisis often comes before consent
    $("transfer").parentNode.hidden = !c.mine;
    $("composer").hidden = !c.mine;

    // The snapshot plus anything that arrived live meanwhile (the socket may be ahead of it).
    var log = $("transcript");
    clear(log);
    state.seen = {};
    data.transcript.forEach(function (m) { state.messages[m.id] = m; });
    Object.keys(state.messages).map(Number).sort(function (a, b) { return a - b; })
      .forEach(function (mid) { appendMessage(state.messages[mid], false); });
    log.scrollTop = log.scrollHeight;

    var sel = $("canned");
    var keep = sel.value;
    clear(sel);
    sel.appendChild(el("option", null, "— 選んでください —")).value = "";
    data.canned.forEach(function (k) {
      var o = el("option", null, k.label);
      o.value = k.key;
      sel.appendChild(o);
    });
    sel.value = keep;
    if (sel.value !== keep) sel.value = "";
    previewCanned();
    renderCase(data);
  }

  function translationLabel(m) {
    if (m.translation_status === "canned") return "定型文";
    if (m.translation_status === "translated") return "機械翻訳";
    return "";
  }

  function appendMessage(m, scroll) {
    state.messages[m.id] = m;
    if (state.seen[m.id]) return;
    state.seen[m.id] = true;
    var li = el("li", m.sender + " kind-" + (m.kind || "text"));
    li.setAttribute("data-id", m.id);
    li.setAttribute("data-sender", m.sender);
    var head = el("span", "head");
    head.appendChild(el("span", "who", label("sender", m.sender)));
    head.appendChild(el("span", "time", fmtTime(m.created_at)));
    if (m.direction === "out" && m.sender !== "bot" && m.delivery_status) {
      head.appendChild(el("span", "delivery" + (m.delivery_status === "failed" ? " delivery-failed" : ""), label("delivery", m.delivery_status)));
    }
    li.appendChild(head);
    var hasMedia = m.media && m.media.length;  // shown by console-media.js
    var original = el("p", "text", m.text || (m.media_type && !hasMedia ? "[" + m.media_type + "]" : ""));
    if (m.language) original.lang = m.language === "ja-easy" ? "ja" : m.language;
    li.appendChild(original);
    var foreign = m.language && m.language.indexOf("ja") !== 0;
    if (m.translation && m.kind !== "document") {  // a document's link is the resident's, one use
      var tr = el("p", "tr");
      var trLabel = m.sender === "counsellor"
        ? "相手に届いた文(" + label("language", m.translation_language) + "・" + translationLabel(m) + ")"
        : "日本語訳(" + (translationLabel(m) || "翻訳") + ")";
      tr.appendChild(el("span", "tr-label", trLabel));
      tr.appendChild(el("span", "tr-text", m.translation));
      li.appendChild(tr);
    } else if (m.sender === "resident" && foreign && m.text) {
      head.appendChild(el("span", "mark untranslated", "未翻訳(原文のまま)"));
    } else if (m.sender === "counsellor" && m.kind !== "document" && m.translation_status && m.translation_status !== "translated") {
      head.appendChild(el("span", "mark untranslated", "翻訳なし・日本語のまま送信"));
    }
    if (m.translation_status === "translated" && m.translation_confidence !== null && m.translation_confidence !== undefined && m.translation_confidence < 0.5) {
      head.appendChild(el("span", "mark", "翻訳の確かさが低い: 通訳を検討"));
    }
    $("transcript").appendChild(li);
    if (scroll) li.scrollIntoView({ block: "end" });
    emit("message", { message: m, node: li, live: scroll });
  }

  function dl(node, key, value) {
    node.appendChild(el("dt", null, label("field", key)));
    node.appendChild(el("dd", null, value === null || value === undefined || value === "" ? "—" : value));
  }

  function renderCase(data) {
    var c = data.case;
    $("case-pane").hidden = false;
    var fs = $("facesheet");
    clear(fs);
    $("no-case").hidden = !!c;
    ["programmes-box", "status-box", "notes-box"].forEach(function (id) { $(id).hidden = !c; });
    var consents = $("consents");
    clear(consents);
    data.consents.forEach(function (k) {
      consents.appendChild(el("li", null, label("consentKind", k.kind) + ": " + label("decision", k.decision) +
        "(文言 " + k.wording_version + "・" + label("language", k.language) + "・" + fmtTime(k.at) + ")"));
    });
    if (!data.consents.length) consents.appendChild(el("li", "none", "まだありません"));
    if (!c) return;
    var f = {}, labels = c.face_sheet_labels || {};
    Object.keys(c.face_sheet).forEach(function (k) {
      f[k] = Object.prototype.hasOwnProperty.call(labels, k) ? labels[k] : c.face_sheet[k];
    });
    dl(fs, "name", f.name);
    dl(fs, "for_whom", c.face_sheet.for_whom ? label("forWhom", c.face_sheet.for_whom) : f.for_whom);
    fs.appendChild(el("dt", null, "相談の分野"));
    fs.appendChild(el("dd", null, (c.categories || []).map(function (x) { return label("category", x); }).join("、") || "—"));
    dl(fs, "problem_text", f.problem_text);
    if (f.problem_text_ja) dl(fs, "problem_text_ja", f.problem_text_ja);
    ["age_band", "district", "household", "public_assistance", "residence", "contact_method", "contact_time", "contact_detail"]
      .forEach(function (k) { dl(fs, k, f[k]); });

    var box = $("programmes");
    Array.prototype.slice.call(box.querySelectorAll("label")).forEach(function (n) { box.removeChild(n); });
    var chosen = c.accepted_programmes || c.recommended_programmes;
    c.programmes.forEach(function (p) {
      var lab = el("label");
      var cb = el("input");
      cb.type = "checkbox"; cb.value = p.id; cb.checked = chosen.indexOf(p.id) >= 0;
      lab.appendChild(cb);
      lab.appendChild(document.createTextNode(" " + p.name));
      if (c.recommended_programmes.indexOf(p.id) >= 0) lab.appendChild(el("span", "rec", "推奨"));
      box.appendChild(lab);
    });
    $("programmes-done").textContent = c.accepted_programmes ? "決定済み" : "未決定(推奨のまま)";

    $("case-status").textContent = label("caseStatus", c.status);
    var actions = $("status-actions");
    clear(actions);
    c.allowed_actions.forEach(function (a) {
      var b = el("button", null, label("action", a));
      b.type = "button";
      b.setAttribute("data-action", a);
      b.addEventListener("click", function () { changeStatus(c.id, a); });
      actions.appendChild(b);
    });
    var hist = $("status-history");
    clear(hist);
    c.status_history.forEach(function (h) {
      hist.appendChild(el("li", null, fmtTime(h.at) + " " + label("caseStatus", h.from) + " → " + label("caseStatus", h.to) +
        (h.reason ? "(" + h.reason + ")" : "")));
    });
    var notes = $("notes");
    clear(notes);
    c.notes.forEach(function (n) { notes.appendChild(el("li", null, fmtTime(n.created_at) + " " + (n.author || "") + ": " + n.text)); });
  }

  // ── actions ──────────────────────────────────────────────────────────────
  function act(promise, after) {
    $("action-error").textContent = "";
    return promise.then(after).catch(function (err) {
      $("action-error").textContent = explain(err);
      if (err.status === 409 || err.status === 403) loadConversation(false);
    });
  }

  function claim() {
    var id = state.convId;
    $("claim").disabled = true;
    act(api("POST", "/api/conversations/" + id + "/claim"), function () {
      return loadConversation(false).then(function () { $("reply").focus(); });
    }).then(function () { $("claim").disabled = false; scheduleQueue(); });
  }

  // Open the case from the conversation held (consent stays as recorded: none is assumed).
  function openCase() {
    var id = state.convId;
    $("open-case").disabled = true;
    act(api("POST", "/api/conversations/" + id + "/case"), function (res) {
      $("action-error").textContent = "受付 " + res.case_number + " を作成しました" +
        (res.consented_use ? "。" : "(利用の同意はまだありません)。");
      return loadConversation(false);
    }).then(function () { $("open-case").disabled = false; scheduleQueue(); });
  }

  function sendReply(ev) {
    if (ev) ev.preventDefault();
    var text = $("reply").value;
    if (!text.trim()) { $("action-error").textContent = "メッセージを入力してください。"; return; }
    $("send").disabled = true;
    // console-compose.js turns an untouched "/" canned reply into its key (sent per language)
    var body = state.composeBody ? state.composeBody(text) : { text: text };
    act(api("POST", "/api/conversations/" + state.convId + "/messages", body), function (res) {
      if ($("reply").value === text) $("reply").value = "";  // not what was typed meanwhile
      appendMessage(res.message, true);
      emit("sent", res.message);
    }).then(function () {
      $("send").disabled = false;
      // back to the reply box, unless the counsellor moved on meanwhile (a note, the list)
      var at = document.activeElement;
      if (!at || at === document.body || at === $("send")) $("reply").focus();
    });
  }

  // Tell the resident we are writing, at most every 5 seconds while typing.
  var lastTyping = 0;
  function typing() {
    var now = Date.now();
    if (!state.current || !state.current.conversation.mine || now - lastTyping < 5000 || !$("reply").value.trim()) return;
    lastTyping = now;
    api("POST", "/api/conversations/" + state.convId + "/typing").catch(function () {});
  }

  function sendCanned() {
    var key = $("canned").value;
    if (!key) { $("action-error").textContent = "定型文を選んでください。"; return; }
    act(api("POST", "/api/conversations/" + state.convId + "/messages", { canned: key }), function (res) {
      appendMessage(res.message, true);
    });
  }

  function previewCanned() {
    var key = $("canned").value, found = null;
    (state.current ? state.current.canned : []).forEach(function (k) { if (k.key === key) found = k; });
    $("canned-preview").textContent = found ? found.ja + (found.text !== found.ja ? "\n→ " + found.text : "") : "";
  }

  // Never orphaned (issue 14): to the queue, or to the bot while the intake is unfinished.
  function release(to) {
    act(api("POST", "/api/conversations/" + state.convId + "/release", { to: to }), function () {
      loadConversation(false); scheduleQueue();
    });
  }

  function reopen() {
    act(api("POST", "/api/conversations/" + state.convId + "/reopen"), function () {
      return loadConversation(false).then(function () { scheduleQueue(); $("reply").focus(); });
    });
  }

  function transfer() {
    var to = $("transfer-login").value.trim();
    if (!to) { $("action-error").textContent = "転送先のログインIDを入力してください。"; return; }
    act(api("POST", "/api/conversations/" + state.convId + "/transfer", { to_login: to }), function () {
      $("transfer-login").value = "";
      loadConversation(false); scheduleQueue();
    });
  }

  function closeConversation() {
    var text = $("closing-text").value.trim();
    var who = state.current ? $("conv-title").textContent : "";
    confirmThen(who + " を終了します。相手にはこのあと最後のメッセージが届き、チャットは終わります。よろしいですか。", "終了する", function () {
      doClose(text);
    });
  }

  function blockResident() {
    var extra = el("p", null);
    var lab = el("label", null, "理由 ");
    var sel = el("select");
    sel.id = "block-reason";
    [["rules", "利用のルール違反"], ["harassment", "嫌がらせ"], ["spam", "迷惑な送信"], ["threats", "脅し"], ["other", "その他"]]
      .forEach(function (o) { var op = el("option", null, o[1]); op.value = o[0]; sel.appendChild(op); });
    lab.setAttribute("for", "block-reason");
    extra.appendChild(lab); extra.appendChild(sel);
    confirmThen("この相談者の利用を停止します。この窓口からは連絡できなくなります。よろしいですか。", "利用を停止する", function () {
      act(api("POST", "/api/conversations/" + state.convId + "/block", { reason: sel.value }), function () {
        loadConversation(false); scheduleQueue();
      });
    }, extra);
  }

  // A confirmation in the page (not window.confirm): keyboard reachable, Esc cancels.
  function confirmThen(text, okLabel, then, extra) {
    var d = $("confirm");
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = okLabel;
    var box = $("confirm-extra");
    clear(box);
    if (extra) box.appendChild(extra);
    var back = document.activeElement;
    d.returnValue = "";
    d.onclose = function () {
      if (back && back.focus) back.focus();
      if (d.returnValue === "ok") then();
    };
    d.showModal();
    $("confirm-cancel").focus();
  }

  function doClose(text) {
    act(api("POST", "/api/conversations/" + state.convId + "/close", text ? { message: text } : {}), function () {
      $("closing-text").value = "";
      loadConversation(false); scheduleQueue();
    });
  }

  function changeStatus(caseId, action) {
    var reason = $("status-reason").value.trim();
    act(api("POST", "/api/cases/" + caseId + "/status", { action: action, reason: reason || null }), function () {
      $("status-reason").value = "";
      loadConversation(false);
    });
  }

  function saveProgrammes() {
    var c = state.current && state.current.case;
    if (!c) return;
    var ids = Array.prototype.map.call($("programmes").querySelectorAll("input:checked"), function (i) { return i.value; });
    act(api("POST", "/api/cases/" + c.id + "/programmes", { accepted: ids }), function () { loadConversation(false); });
  }

  function saveNote() {
    var c = state.current && state.current.case;
    var text = $("note-text").value;
    if (!c || !text.trim()) { $("action-error").textContent = "メモを入力してください。"; return; }
    act(api("POST", "/api/cases/" + c.id + "/notes", { text: text }), function () {
      $("note-text").value = "";
      loadConversation(false);
    });
  }

  // ── the live socket ──────────────────────────────────────────────────────
  function setLive(s) {
    var n = $("live");
    n.setAttribute("data-state", s);
    $("app").setAttribute("data-live", s);
    n.textContent = s === "open" ? "リアルタイム接続中" : s === "closed" ? "再接続しています…" : "";
  }

  // A message screened positive (in any conversation, also one a counsellor holds): a banner
  // at once, with the kinds in words, until a counsellor opens or dismisses it.
  function showRiskAlert(e) {
    var box = $("risk-alert");
    var id = Number(e.conversation_id);
    var kinds = (e.kinds || []).map(function (k) { return label("urgency", k); }).join("、");
    var look = e.level === "look";
    box.classList.toggle("look", look);
    $("risk-alert-text").textContent = (look ? "要確認: " : "緊急: ") + "相談 #" + id + " に「" + kinds + "」に当たるメッセージが届きました。" +
      (look ? "早めに内容を確認してください。" : "すぐに確認してください。");
    box.setAttribute("data-id", String(id));
    box.hidden = false;
    scheduleQueue();
    if (id === state.convId) loadConversation(false);
  }

  function showScreenNotice(status) {
    var n = $("screen-notice");
    if (!status || status.degraded === false) { n.hidden = true; return; }
    n.textContent = "危険の判定は語彙の照合だけで動いています(学習モデルなし: " + (status.reason || "理由不明") + ")。見落としに注意してください。";
    n.hidden = false;
  }

  function openSocket() {
    if (state.ws || !window.WebSocket) return;
    var proto = location.protocol === "https:" ? "wss:" : "ws:";
    var ws = new WebSocket(proto + "//" + location.host + "/api/console/ws");
    state.ws = ws;
    ws.onmessage = function (ev) {
      var e;
      try { e = JSON.parse(ev.data); } catch (_) { return; }
      onEvent(e);
    };
    ws.onclose = function (ev) {
      state.ws = null;
      setLive("closed");
      if (ev.code === 4401) { showLogin("ログインの有効期限が切れました。もう一度ログインしてください。"); return; }
      if (!state.me) return;
      state.wsAttempt += 1;
      state.wsTimer = setTimeout(openSocket, Math.min(10000, 500 * Math.pow(2, state.wsAttempt)));
    };
  }

  function closeSocket() {
    clearTimeout(state.wsTimer);
    if (state.ws) { var ws = state.ws; state.ws = null; ws.onclose = null; ws.close(); }
    setLive("");
  }

  function send(obj) {
    if (state.ws && state.ws.readyState === 1) state.ws.send(JSON.stringify(obj));
  }
  function watch(id) { send({ action: "watch", conversation_id: id }); }
  function unwatch(id) { send({ action: "unwatch", conversation_id: id }); }

  function onEvent(e) {
    if (e.type === "hello") {
      state.wsAttempt = 0;
      setLive("open");
      if (state.convId) { watch(state.convId); loadConversation(false); }
      loadQueue();
    } else if (e.type === "queue_changed") {
      scheduleQueue();
    } else if (e.type === "risk_flagged") {
      showRiskAlert(e);
    }
    emit("event", e);
    if (e.type === "messages" && e.conversation_id === state.convId) {
      e.messages.forEach(function (m) { appendMessage(m, true); });
    } else if (e.type === "status" && e.conversation_id === state.convId) {
      loadConversation(false);
    } else if (e.type === "delivery" && e.conversation_id === state.convId) {
      if (state.messages[e.message_id]) state.messages[e.message_id].delivery_status = e.delivery_status;
      var li = document.querySelector("#transcript li[data-id='" + Number(e.message_id) + "'] .delivery");
      if (li) {
        li.textContent = label("delivery", e.delivery_status);
        li.classList.toggle("delivery-failed", e.delivery_status === "failed");
      }
    }
  }

  // ── wiring ───────────────────────────────────────────────────────────────
  function init() {
    $("login-form").addEventListener("submit", onLogin);
    $("logout").addEventListener("click", function () {
      api("POST", "/api/auth/logout").catch(function () {}).then(function () { showLogin("ログアウトしました。"); });
    });
    $("claim").addEventListener("click", claim);
    $("risk-alert-open").addEventListener("click", function () {
      var box = $("risk-alert");
      box.hidden = true;
      location.hash = "#c/" + box.getAttribute("data-id");
    });
    $("risk-alert-dismiss").addEventListener("click", function () { $("risk-alert").hidden = true; });
    $("composer").addEventListener("submit", sendReply);
    $("reply").addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) sendReply(ev);
    });
    $("reply").addEventListener("input", typing);
    $("send-canned").addEventListener("click", sendCanned);
    $("canned").addEventListener("change", previewCanned);
    $("release").addEventListener("click", function () { release("queue"); });
    $("release-bot").addEventListener("click", function () { release("bot"); });
    $("reopen").addEventListener("click", reopen);
    $("block").addEventListener("click", blockResident);
    $("open-case").addEventListener("click", openCase);
    $("transfer").addEventListener("click", transfer);
    $("close-conv").addEventListener("click", closeConversation);
    $("save-programmes").addEventListener("click", saveProgrammes);
    $("save-note").addEventListener("click", saveNote);
    window.addEventListener("hashchange", route);
    setInterval(tickWaits, 10000);
    api("GET", "/api/auth/me").then(start).catch(function (err) {
      showLogin(err instanceof ApiError && err.status === 401 ? "" : explain(err));
    });
  }

  window.Console = {
    state: state, api: api, label: label, el: el, $: $, clear: clear, fmtTime: fmtTime, fmtWait: fmtWait,
    on: on, emit: emit, explain: explain, act: act, loadConversation: loadConversation, loadQueue: loadQueue,
    scheduleQueue: scheduleQueue, renderQueue: renderQueue, watch: watch, isMine: isMine, focusList: focusList,
    claim: claim, sendReply: sendReply, closeConversation: closeConversation, openCase: openCase,
    release: release, confirmThen: confirmThen
  };
  document.addEventListener("DOMContentLoaded", init);
})();
