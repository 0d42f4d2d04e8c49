/* Desk panels (issue 14): private notes in the timeline, the face sheet's intake facts
 * (safety answers, intake time, channel, language, urgency and assignment history), the
 * lead's escalation banner, and the leads' canned-reply editor (every catalog language).
 * Everything is put on the page with textContent.
 */
(function () {
  "use strict";
  var C = window.Console;
  if (!C) return;
  var $ = C.$, el = C.el, label = C.label;
  var notes = {};  // conversation id -> notes (shown again at once when the transcript is redrawn)
  var dismissed = {};

  // ── notes in the timeline ────────────────────────────────────────────────
  function placeNotes(cid) {
    var log = $("transcript");
    Array.prototype.forEach.call(log.querySelectorAll("li.note"), function (n) { log.removeChild(n); });
    (notes[cid] || []).forEach(function (n) {
      var li = el("li", "note");
      li.setAttribute("data-note-id", n.id);
      var head = el("span", "head");
      head.appendChild(el("span", "who", "メモ・" + (n.author || "")));
      head.appendChild(el("span", "time", C.fmtTime(n.created_at)));
      head.appendChild(el("span", "mark", "本人には見えません"));
      li.appendChild(head);
      li.appendChild(el("p", "text", n.text));
      // before the first message written after it
      var after = null, t = new Date(n.created_at).getTime();
      Array.prototype.some.call(log.querySelectorAll("li:not(.note)"), function (m) {
        var msg = C.state.messages[Number(m.getAttribute("data-id"))];
        if (msg && new Date(msg.created_at).getTime() > t) { after = m; return true; }
        return false;
      });
      log.insertBefore(li, after);
    });
  }

  function loadNotes(cid) {
    return C.api("GET", "/api/conversations/" + cid + "/timeline-notes").then(function (r) {
      notes[cid] = r.notes;
      if (C.state.convId === cid) placeNotes(cid);
    }).catch(function () {});
  }

  function saveNote(ev) {
    ev.preventDefault();
    var cid = C.state.convId, text = $("tl-note").value;
    if (!text.trim()) { $("action-error").textContent = "メモを入力してください。"; return; }
    $("tl-note-save").disabled = true;
    C.act(C.api("POST", "/api/conversations/" + cid + "/timeline-notes", { text: text }), function (r) {
      $("tl-note").value = "";
      // (the socket's "note" event may have reloaded them already)
      notes[cid] = (notes[cid] || []).filter(function (n) { return n.id !== r.note.id; }).concat([r.note]);
      placeNotes(cid);
      var last = $("transcript").querySelector("li.note[data-note-id='" + r.note.id + "']");
      if (last) last.scrollIntoView({ block: "end" });
    }).then(function () { $("tl-note-save").disabled = false; });
  }

  // ── the intake facts ─────────────────────────────────────────────────────
  function fact(dl, key, value) {
    dl.appendChild(el("dt", null, label("facts", key)));
    var dd = el("dd");
    if (value && value.nodeType) dd.appendChild(value);
    else dd.textContent = value === null || value === undefined || value === "" ? "—" : value;
    dl.appendChild(dd);
  }

  function list(rows) {
    if (!rows.length) return "—";
    var ol = el("ol", "history");
    rows.forEach(function (r) { ol.appendChild(el("li", null, r)); });
    return ol;
  }

  function renderFacts(f) {
    var dl = $("intake-facts");
    C.clear(dl);
    fact(dl, "intake_at", C.fmtTime(f.intake_at));
    fact(dl, "channel", label("channel", f.channel));
    fact(dl, "language", label("language", f.language));
    fact(dl, "for_whom", f.for_whom ? label("forWhom", f.for_whom) : "未回答");
    fact(dl, "safety", f.safety === null ? "未回答(受付の途中)" : f.safety.length ?
      f.safety.map(function (k) { return label("safety", k); }).join("、") : "とくにない(と回答)");
    fact(dl, "urgency_history", list(f.urgency_history.map(function (u) {
      return C.fmtTime(u.at) + " " + label("urgencyKind", u.kind) + ": " + u.reasons.map(function (r) { return label("urgency", r); }).join("、");
    })));
    fact(dl, "assignment", list(f.assignment.map(function (a) {
      return C.fmtTime(a.at) + " " + label("assignment", a.action) + (a.by ? "(" + a.by + (a.to ? " → " + a.to : "") + ")" : "");
    })));
  }

  function loadFacts(cid) {
    return C.api("GET", "/api/conversations/" + cid + "/face").then(function (f) {
      if (C.state.convId === cid) renderFacts(f);
    }).catch(function () {});
  }

  C.on("conversation", function (data) {
    var cid = data.conversation.id;
    if (notes[cid]) placeNotes(cid);
    loadNotes(cid);
    loadFacts(cid);
  });

  // ── escalation to the lead ───────────────────────────────────────────────
  function showEscalation(id, waited) {
    if (dismissed[id]) return;
    $("escalation-text").textContent = "緊急の相談 #" + id + " が目安の時間を過ぎても待っています" +
      (waited ? "(待ち " + C.fmtWait(waited) + ")" : "") + "。担当を決めてください。";
    $("escalation").setAttribute("data-id", String(id));
    $("escalation").hidden = false;
  }

  C.on("event", function (e) {
    if (e.type !== "desk") return;
    if (e.kind === "escalated") {
      showEscalation(e.conversation_id, e.waited_seconds);
      if (C.alerts) C.alerts.signal("escalated", { id: e.conversation_id }, true);
      C.scheduleQueue();
    } else if (e.kind === "note" && e.conversation_id === C.state.convId) {
      loadNotes(e.conversation_id);
    } else if (e.kind === "canned" && C.state.current) {
      C.loadConversation(false);
    }
  });

  C.on("queue", function (x) {
    var es = x.now.escalations || [];
    if (es.length && $("escalation").hidden) {
      var item = x.now.waiting.filter(function (i) { return i.id === es[0]; })[0];
      showEscalation(es[0], item ? item.waited_seconds : null);
    }
    var role = C.state.me && C.state.me.role;
    $("open-canned-editor").hidden = role !== "lead" && role !== "admin";
  });

  // ── the canned-reply editor (leads) ──────────────────────────────────────
  var table = null;

  function fillEditor() {
    var key = $("ce-key").value;
    var row = table.replies.filter(function (r) { return r.key === key; })[0];
    $("ce-new-key").disabled = key !== "";
    $("ce-label").value = row ? row.label : "";
    table.languages.forEach(function (lang) {
      var t = $("ce-text-" + lang);
      var v = row && row.texts[lang];
      t.value = v ? v.text : "";
      t.placeholder = v ? "" : "(未作成: 別の言語の文が届きます)";
      t.setAttribute("data-original", t.value);
    });
    $("ce-status").textContent = "";
  }

  function openEditor() {
    C.api("GET", "/api/console/canned/table").then(function (t) {
      table = t;
      var sel = $("ce-key");
      C.clear(sel);
      t.replies.forEach(function (r) { var o = el("option", null, r.label + "(" + r.key + ")"); o.value = r.key; sel.appendChild(o); });
      var add = el("option", null, "+ 新しい定型文");
      add.value = "";
      sel.appendChild(add);
      var box = $("ce-langs");
      if (!box.childNodes.length) {
        // Japanese first: it is the original the transcript keeps
        t.languages.slice().sort(function (a, b) { return (a !== "ja") - (b !== "ja"); }).forEach(function (lang) {
          var id = "ce-text-" + lang;
          var lab = el("label", null, label("language", lang) + " (" + lang + ")");
          lab.setAttribute("for", id);
          var ta = el("textarea");
          ta.id = id; ta.rows = 2; ta.maxLength = 4000;
          ta.lang = lang === "ja-easy" ? "ja" : lang;
          box.appendChild(lab); box.appendChild(ta);
        });
      }
      fillEditor();
      $("canned-editor").showModal();
      sel.focus();
    }).catch(function (err) { $("action-error").textContent = C.explain(err); });
  }

  function saveEditor() {
    var key = $("ce-key").value || $("ce-new-key").value.trim();
    var lab = $("ce-label").value.trim();
    if (!/^[a-z0-9_]{1,64}$/.test(key) || !lab) { $("ce-status").textContent = "IDと見出しを入力してください。"; return; }
    var langs = table.languages.slice().sort(function (a, b) { return (a !== "ja") - (b !== "ja"); });
    var changed = langs.filter(function (lang) {
      var t = $("ce-text-" + lang);
      return t.value.trim() && (t.value !== t.getAttribute("data-original") || !$("ce-key").value);
    });
    if (!changed.length) { $("ce-status").textContent = "変更はありません。"; return; }
    var chain = Promise.resolve();
    changed.forEach(function (lang) {
      chain = chain.then(function () {
        return C.api("PUT", "/api/console/canned/" + key + "/" + lang, { label: lab, text: $("ce-text-" + lang).value });
      });
    });
    chain.then(function () {
      $("ce-status").textContent = changed.length + "言語を保存しました。";
      return C.api("GET", "/api/console/canned/table").then(function (t) {
        table = t;
        changed.forEach(function (lang) { $("ce-text-" + lang).setAttribute("data-original", $("ce-text-" + lang).value); });
      });
    }).catch(function (err) { $("ce-status").textContent = C.explain(err); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("tl-note-form").addEventListener("submit", saveNote);
    $("tl-note").addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) saveNote(ev);
    });
    $("escalation-open").addEventListener("click", function () {
      var id = $("escalation").getAttribute("data-id");
      dismissed[id] = true;
      $("escalation").hidden = true;
      location.hash = "#c/" + id;
    });
    $("escalation-dismiss").addEventListener("click", function () {
      dismissed[$("escalation").getAttribute("data-id")] = true;
      $("escalation").hidden = true;
    });
    $("open-canned-editor").addEventListener("click", openEditor);
    $("ce-key").addEventListener("change", fillEditor);
    $("ce-save").addEventListener("click", saveEditor);
  });
})();
