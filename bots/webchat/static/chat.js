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
  // Secure mode (issue 16): opened from a LINE/Telegram one-time link at /secure/<link>; the
  // same page answers the sensitive steps of that conversation, then sends the resident back.
  var SECURE = root.getAttribute("data-secure") === "on";
  var secureLink = SECURE ? decodeURIComponent(window.location.pathname.split("/").pop() || "") : "";
  var MAX_RETRY_MS = 30000;

  // Choice ids that act rather than select, even inside a multi-select group.
  var ACTION_IDS = { done: 1, none: 1, skip: 1, human: 1, lang: 1, back: 1, stop: 1, withdraw: 1 };
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
  // are only the page's own labels, from the server's `page` catalog (i18n/catalogs/page/),
  // every language in a JSON data block of chat.html (data, not script: the CSP stays strict).
  // Japanese is the default; unknown languages get English. Tables are keyed like
  // state.lang (lower case), with the short ids a flow may use as aliases.
  var LANG_ALIASES = { zh: "zh-hans", "zh-cn": "zh-hans", "zh-tw": "zh-hant", pt: "pt-br", fil: "tl" };
  var STRINGS = readStrings();
  // The server's limit on a message and each language's list separator (#page-config).
  var CONFIG = readConfig();
  var DEFAULT_MAX_CHARS = 4000;

  function readConfig() {
    var node = document.getElementById("page-config"), raw = {};
    try { raw = (node && JSON.parse(node.textContent)) || {}; } catch (e) { raw = {}; }
    var seps = {};
    Object.keys(raw.list_separators || {}).forEach(function (code) {
      if (typeof raw.list_separators[code] === "string") seps[normLang(code)] = raw.list_separators[code];
    });
    Object.keys(LANG_ALIASES).forEach(function (alias) {
      if (seps[alias] === undefined && seps[LANG_ALIASES[alias]] !== undefined) seps[alias] = seps[LANG_ALIASES[alias]];
    });
    var max = typeof raw.max_message_chars === "number" && raw.max_message_chars > 0 ? raw.max_message_chars : DEFAULT_MAX_CHARS;
    var upload = typeof raw.max_upload_bytes === "number" && raw.max_upload_bytes > 0 ? raw.max_upload_bytes : 10 * 1024 * 1024;
    return { maxChars: max, separators: seps, maxUpload: upload };
  }

  function readStrings() {
    var node = document.getElementById("page-strings"), raw = {}, out = {};
    try { raw = (node && JSON.parse(node.textContent)) || {}; } catch (e) { raw = {}; }
    Object.keys(raw).forEach(function (code) { out[normLang(code)] = raw[code]; });
    Object.keys(LANG_ALIASES).forEach(function (alias) {
      if (!out[alias] && out[LANG_ALIASES[alias]]) out[alias] = out[LANG_ALIASES[alias]];
    });
    return out;
  }

  var el = {
    log: document.getElementById("log"),
    logRegion: document.getElementById("log-region"),
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
    typing: document.getElementById("typing"),
    easyJa: document.getElementById("easy-ja"),
    attach: document.getElementById("attach"),
    file: document.getElementById("file"),
    uploadStatus: document.getElementById("upload-status")
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
    typingTimer: null,
    maxChars: CONFIG.maxChars, // the server's MADOGUCHI_MAX_MESSAGE_CHARS
    spoke: false          // the resident has answered something (the first screen is over)
  };

  var touch = window.matchMedia && window.matchMedia("(pointer: coarse)").matches;

  // ---------------------------------------------------------------- small helpers

  function t(key, params) {
    // state.lang is lowercased (normLang); HTML_LANG gives back the cased key (zh-hant → zh-Hant).
    var en = STRINGS.en || {};
    var table = STRINGS[state.lang] || STRINGS[HTML_LANG[state.lang]] || STRINGS[state.lang.split("-")[0]] || en;
    var s = table[key] !== undefined ? table[key] : (en[key] !== undefined ? en[key] : key);
    if (params) {
      Object.keys(params).forEach(function (k) { s = s.split("{" + k + "}").join(String(params[k])); });
    }
    return s;
  }

  // How the resident's language joins chosen items (", " in Latin scripts, "、" in Japanese
  // and Chinese, a space in Thai, "၊ " in Burmese), from the server like the strings.
  function listSeparator() {
    var seps = CONFIG.separators;
    var v = seps[state.lang];
    if (v === undefined) v = seps[state.lang.split("-")[0]];
    return v === undefined ? ", " : v;
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
      if (SECURE) return null; // a spent link cannot be resumed: nothing is kept in this tab
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
      if (!state.session || SECURE) return;
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
    renderEasySwitch();
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
    if (SECURE) return "/secure/sessions/" + encodeURIComponent(state.session.id) + suffix;
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

  // The server marks each phone line of an emergency message ({number, uri}); every
  // occurrence of a number becomes a tel: link (only tel: URIs of digits, + and %23 for #).
  var TEL_URI = /^tel:(?:\+|%23)?[0-9]{2,15}$/;
  function appendMarked(parent, text, contacts) {
    text = String(text == null ? "" : text);
    var marks = contacts.filter(function (c) {
      return c && typeof c.number === "string" && c.number && typeof c.uri === "string" && TEL_URI.test(c.uri);
    }).sort(function (a, b) { return b.number.length - a.number.length; });
    var last = 0;
    while (last < text.length) {
      var best = -1, hit = null;
      marks.forEach(function (c) {
        var i = text.indexOf(c.number, last);
        if (i >= 0 && (best < 0 || i < best)) { best = i; hit = c; }
      });
      if (best < 0) break;
      if (best > last) appendText(parent, text.slice(last, best), true);
      var a = node("a", "link tel", hit.number);
      a.href = hit.uri;
      a.setAttribute("aria-label", (hit.label ? hit.label + " " : "") + hit.number);
      parent.appendChild(a);
      last = best + hit.number.length;
    }
    if (last < text.length) appendText(parent, text.slice(last), true);
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
    // The lines the server names (`contacts`) are call links in every language.
    if (m.direction !== "in" && Array.isArray(m.contacts) && m.contacts.length) {
      appendMarked(bubble, m.text, m.contacts);
    } else {
      appendText(bubble, m.text, m.direction !== "in" && kind !== "summary");
    }
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
    el.restart.hidden = s !== "closed" || SECURE;
    if (s !== "counsellor") hideTyping();  // released, transferred back or closed
    root.classList.toggle("is-closed", s === "closed");
    renderEasySwitch();
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
    // The server's limit wins over the page's, should the two ever differ. No maxlength on
    // the box: a browser would cut a long paste silently; the counter says it instead.
    if (typeof res.max_message_chars === "number" && res.max_message_chars > 0) {
      state.maxChars = res.max_message_chars;
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
    if (!item.quiet) { state.spoke = true; renderEasySwitch(); }
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
        if (SECURE) { secureGone(err); return; }
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
        showError(err.kind === "too_long" ? "err_too_long" : "err_rejected", { max: state.maxChars });
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
    // A crisis written after the chat ended opens a new conversation: follow it.
    if (res.session_id !== undefined && state.session && String(res.session_id) !== state.session.id) {
      state.session.id = String(res.session_id);
      store.save();
      try { if (state.ws) state.ws.close(); } catch (e) { /* it reconnects to the new one */ }
    }
    state.metaSeq += 1;
    if (item.lang) setLang(item.lang);
    applyMeta(res);
    if (res.secure_done) secureDone();
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
    // After the chat ended only the survey's questions take answers (state "survey_<step>").
    state.survey = typeof res.state === "string" && res.state.indexOf("survey_") === 0 && res.state !== "survey_done";
    if (state.status === "closed" && !state.survey) retire(state.activeGroup);
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
    if (charCount(text) > state.maxChars) {
      // Said before anything is cut: the text stays in the box to be split.
      showError("err_too_long", { max: state.maxChars });
      el.input.focus();
      return;
    }
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
      display: opts.hidden || opts.quiet ? null : label,
      hidden: !!opts.hidden,
      quiet: !!opts.quiet,
      lang: opts.lang || null
    });
  }

  // Easy Japanese in one tap on the first screen of a Japanese browser (the language question
  // is skipped for it): the language command and the choice, answered in やさしい にほんご.
  function renderEasySwitch() {
    if (!el.easyJa) return;
    el.easyJa.hidden = SECURE || !(state.session && state.lang === "ja" && !state.spoke && state.status === "bot");
  }

  if (el.easyJa) {
    el.easyJa.addEventListener("click", function () {
      if (!state.session || state.lang !== "ja") return;
      sendChoice("lang", null, { hidden: true, quiet: true });
      sendChoice("ja-easy", null, { quiet: true, lang: "ja-easy" });
      el.easyJa.hidden = true;
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
      sendChoice("done", names.length ? names.join(listSeparator()) : t("selected_none"));
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

  // Characters as the server counts them (code points: an emoji is one).
  function charCount(text) {
    var n = 0;
    for (var i = 0; i < text.length; i++) {
      var c = text.charCodeAt(i);
      if (c < 0xd800 || c > 0xdbff) n += 1;
    }
    return n;
  }

  function updateCounter() {
    var max = state.maxChars;
    var left = max - charCount(el.input.value);
    el.counter.textContent = left < 0 ? t("counter_over", { n: -left, max: max }) :
      left <= 500 ? t("counter", { n: left }) : "";
    el.counter.classList.toggle("counter-low", left <= 100);
    el.counter.classList.toggle("counter-over", left < 0);
    el.input.setAttribute("aria-invalid", left < 0 ? "true" : "false");
    if (left >= 0 && el.error.getAttribute("data-error") === "err_too_long") clearError();
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
      if (!state.survey) retire(state.activeGroup);
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
      // The survey's invitation comes as the chat closes: its buttons stay live.
      var group = m.kind === "survey" ? li.querySelector(".choices") : null;
      if (group) { state.survey = true; activate(group); }
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

  // ---------------------------------------------------------------- upload (issue 16)
  // A photo or a PDF. The size and type are checked here only to save a wasted upload: the
  // server decides (it reads the bytes, not the name). Progress and errors are announced.
  var UPLOAD_TYPES = { "image/jpeg": 1, "image/png": 1, "image/webp": 1, "image/heic": 1, "application/pdf": 1 };

  function uploadChip(file) {
    var li = renderMessage({ direction: "in", text: "" });
    var bubble = li.querySelector(".bubble") || li;
    bubble.textContent = "";
    var chip = node("span", "upload-chip");
    if (/^image\//.test(file.type) && window.URL && URL.createObjectURL) {
      var img = document.createElement("img");
      img.alt = file.name;
      img.src = URL.createObjectURL(file);
      chip.appendChild(img);
    } else {
      chip.appendChild(node("span", "file-icon", "📄"));
    }
    chip.appendChild(node("span", "file-name", file.name));
    bubble.appendChild(chip);
    li.classList.add("msg-upload");
    reveal(li);
    return li;
  }

  function setUploading(on) {
    if (!el.attach) return;
    el.attach.disabled = on;
    el.attach.setAttribute("aria-busy", on ? "true" : "false");
  }

  function sendFile(file) {
    if (!state.session || SECURE) return;
    clearError();
    if (!UPLOAD_TYPES[file.type] && !/\.(jpe?g|png|webp|heic|pdf)$/i.test(file.name)) {
      showError("upload_type");
      return;
    }
    if (file.size > CONFIG.maxUpload) {
      showError("upload_too_large", { max: Math.floor(CONFIG.maxUpload / (1024 * 1024)) });
      return;
    }
    var form = new FormData();
    form.append("file", file, file.name);
    form.append("client_message_id", uuid());
    var xhr = new XMLHttpRequest();
    xhr.open("POST", api + sessionPath("/uploads"));
    xhr.setRequestHeader("Authorization", "Bearer " + state.session.token);
    xhr.setRequestHeader("Accept", "application/json");
    setUploading(true);
    el.uploadStatus.textContent = t("upload_progress", { pct: 0 });
    xhr.upload.onprogress = function (ev) {
      if (ev.lengthComputable) el.uploadStatus.textContent = t("upload_progress", { pct: Math.round(100 * ev.loaded / ev.total) });
    };
    xhr.onload = function () {
      setUploading(false);
      el.uploadStatus.textContent = "";
      var data = null;
      try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
      if (xhr.status >= 200 && xhr.status < 300 && data) {
        uploadChip(file);
        el.uploadStatus.textContent = t("upload_sent");
        state.spoke = true;
        onReply(data, {});
      } else if (xhr.status === 413) {
        showError("upload_too_large", { max: Math.floor(CONFIG.maxUpload / (1024 * 1024)) });
      } else if (xhr.status === 401 || xhr.status === 404) {
        sessionLost();
      } else {
        showError("upload_failed");
      }
    };
    xhr.onerror = xhr.ontimeout = function () {
      setUploading(false);
      el.uploadStatus.textContent = "";
      showError("upload_failed");
    };
    xhr.timeout = 120000;
    xhr.send(form);
  }

  if (el.attach && el.file) {
    var chooseFile = function () { el.file.value = ""; el.file.click(); };
    el.attach.addEventListener("click", chooseFile);
    // Enter opens the chooser at keydown: once a first file had been chosen, Chromium 156
    // opened none from the click that Enter makes (Space and a pointer still did), so a
    // keyboard user's second upload did nothing. preventDefault: no second click.
    el.attach.addEventListener("keydown", function (ev) {
      if (ev.key !== "Enter" || ev.repeat || el.attach.disabled) return;
      ev.preventDefault();
      chooseFile();
    });
    el.file.addEventListener("change", function () {
      var f = el.file.files && el.file.files[0];
      if (f) sendFile(f);
      el.attach.focus();
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
      if (m.direction === "in" && m.kind === "media" && !m.text) {
        m = Object.assign({}, m, { text: "📎 " + t("upload_sent") });  // an upload, read back
      }
      if (m.direction !== "in" && Array.isArray(m.choices) && m.choices.length) {
        labels = {};
        m.choices.forEach(function (c) { if (c && c.id) labels[c.id] = c.label; });
      }
      var li = renderMessage(m);
      if (m.direction === "in") { lastGroup = null; state.spoke = true; }
      else if (li.querySelector(".choices")) lastGroup = li.querySelector(".choices");
    });
    if (lastGroup && state.status !== "closed") activate(lastGroup);
    el.conversation.scrollTop = el.conversation.scrollHeight;
  }

  // The sensitive steps are done (or a person takes over): back to LINE/Telegram. The page's
  // last words are the server's ("LINEに戻ってください" in the resident's language).
  function secureDone() {
    state.status = "done";
    retire(state.activeGroup);
    dropQueue();
    el.input.value = "";
    el.input.disabled = true;
    el.send.disabled = true;
    Array.prototype.forEach.call(el.toolbar.querySelectorAll("button"), function (b) { b.disabled = true; });
    root.classList.add("is-secure-done");
    root.setAttribute("data-secure-done", "true");
    state.session = null;
  }

  // The link or the page's time is over: say so in the server's words and stop.
  function secureGone(err) {
    var detail = err && err.data && err.data.detail;
    var text = detail && typeof detail.message === "string" ? detail.message : t("err_session");
    el.errorText.textContent = text;
    el.error.hidden = false;
    el.error.setAttribute("data-error", "secure_gone");
    el.errorAction.hidden = true;
    secureDone();
    el.logRegion.setAttribute("aria-busy", "false");
    el.loading.hidden = true;
    root.setAttribute("data-ready", "true");
  }

  function ready() {
    el.logRegion.setAttribute("aria-busy", "false");
    el.loading.hidden = true;
    root.setAttribute("data-ready", "true");
    if (!SECURE) connectWs(); // nothing is pushed to the secure page: its answers come back to it
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

  function openSecure() {
    state.session = null;
    return request("POST", "/secure/open", { link: secureLink }).then(function (res) {
      if (!res || typeof res.token !== "string") throw new ApiError("network", 0, res);
      state.session = { id: String(res.session_id), token: res.token };
      state.seenIds = {};
      state.spoke = true;
      el.log.textContent = "";
      applyMeta(res);
      var out = renderReply(res.messages);
      if (out.group) activate(out.group);
      clearError();
      ready();
      reveal(out.first);
    });
  }

  function create() {
    if (SECURE) return openSecure();
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
    attempt.catch(function (err) {
      if (SECURE && err && (err.kind === "session" || err.kind === "rejected")) { secureGone(err); return; }
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
    state.spoke = false;
    state.activeGroup = null;
    state.wsOpenedOnce = false;
    state.wsAttempt = 0;
    root.removeAttribute("data-ready");
    el.log.textContent = "";
    el.logRegion.setAttribute("aria-busy", "true");
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
