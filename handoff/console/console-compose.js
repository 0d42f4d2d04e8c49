/* The reply box (issue 14): what the resident will read, before it is sent.
 *
 * - The box says how the reply goes: as written (a Japanese resident), machine translated
 *   (the preview shows the translation, its back-translation and the confidence), or — no
 *   model for the language — in Japanese, and the resident is told in their language that
 *   a counsellor answered in Japanese and an interpreter can be arranged.
 * - "/" opens the canned replies, filtered as you type (↑↓ to choose, Enter or Tab to insert,
 *   Esc to close). An inserted reply left as it is goes out as the canned reply, so the
 *   resident reads the version people wrote in their language; edited, it is a normal reply.
 */
(function () {
  "use strict";
  var C = window.Console;
  if (!C) return;
  var $ = C.$, el = C.el, label = C.label;
  var mode = "";
  var attached = null;  // the canned reply inserted with "/"
  var menu = { items: [], active: 0 };
  var previewTimer = null, previewSeq = 0;

  function langName() { return label("language", C.state.current.conversation.language); }

  C.on("conversation", function (data) {
    var needs = data.needs_translation, can = data.translation_available;
    mode = !needs ? "as-is" : can ? "translate" : "japanese-only";
    var text = {
      "as-is": "相手は日本語で読みます。書いたとおりに届きます。",
      "translate": langName() + "に機械翻訳して届けます。送る前に「届く文を確認」で訳と逆翻訳、確かさを確かめられます。",
      "japanese-only": "翻訳モデルがないため、日本語のまま届きます。相手には" + langName() +
        "で「相談員が日本語で回答したこと・通訳を手配できること」を自動でお知らせします。"
    }[mode];
    $("send-mode").textContent = text;
    $("send-mode").setAttribute("data-mode", mode);
    $("reply-label").textContent = mode === "translate" ? "返信(日本語で入力。" + langName() + "に翻訳して届けます)" :
      mode === "japanese-only" ? "返信(日本語で入力。日本語のまま届きます)" : "返信(日本語で入力)";
    $("preview-btn").hidden = mode === "as-is";
    if (!attached || $("reply").value !== attached.ja) attached = null;
    closeMenu();
    renderPreview(null);
  });

  C.on("sent", function () { attached = null; renderPreview(null); $("canned-preview").textContent = ""; });

  C.state.composeBody = function (text) {
    if (attached && text === attached.ja) return { canned: attached.key };
    return { text: text };
  };

  // ── the translation preview ──────────────────────────────────────────────
  function renderPreview(p) {
    var box = $("tr-preview");
    if (!p) { box.hidden = true; box.removeAttribute("data-state"); return; }
    box.hidden = false;
    box.setAttribute("data-state", p.state);
    var head = $("tr-head"), out = $("tr-out"), back = $("tr-back");
    out.lang = "";
    if (p.state === "canned") {
      head.textContent = "定型文「" + p.label + "」: 相手には" + label("language", p.language) + "版が届きます(人が書いた文)";
      out.textContent = p.text;
      back.textContent = "";
    } else if (p.state === "translated") {
      var pct = p.confidence === null || p.confidence === undefined ? "—" : Math.round(p.confidence * 100) + "%";
      var low = p.low_confidence || (p.confidence !== null && p.confidence !== undefined && p.confidence < 0.5);
      head.textContent = langName() + "で届く文(機械翻訳・確かさ " + pct + ")" + (low ? " — 確かさが低いので、言い換えるか通訳を検討してください" : "");
      box.classList.toggle("low", !!low);
      out.textContent = p.translation;
      out.lang = p.language;
      back.textContent = "逆翻訳(日本語に戻した文): " + (p.back_translation || "—");
    } else if (p.state === "japanese") {
      head.textContent = "日本語のまま届きます。";
      out.textContent = ""; back.textContent = "";
    } else {
      head.textContent = "翻訳できません: 日本語のまま届きます。相手には" + langName() + "で、日本語での回答であること・通訳を手配できることをお知らせします。";
      out.textContent = ""; back.textContent = "";
    }
  }

  function preview() {
    var text = $("reply").value.trim();
    if (!text || !C.state.current) { renderPreview(null); return; }
    if (attached && $("reply").value === attached.ja) { showCanned(); return; }
    var seq = ++previewSeq;
    $("tr-preview").setAttribute("aria-busy", "true");
    C.api("POST", "/api/conversations/" + C.state.convId + "/preview", { text: text }).then(function (p) {
      if (seq !== previewSeq) return;
      $("tr-preview").removeAttribute("aria-busy");
      renderPreview(p);
    }).catch(function (err) { $("action-error").textContent = C.explain(err); });
  }

  function showCanned() {
    var c = attached;
    renderPreview({ state: "canned", label: c.label, language: c.language, text: c.text });
  }

  // ── "/" canned replies ───────────────────────────────────────────────────
  function query() {
    var v = $("reply").value;
    var m = /^\/(\S*)$/.exec(v);
    return m ? m[1].toLowerCase() : null;
  }

  function filtered(q) {
    var all = (C.state.current && C.state.current.canned) || [];
    return all.filter(function (c) {
      return !q || c.key.indexOf(q) >= 0 || c.label.toLowerCase().indexOf(q) >= 0 || c.ja.indexOf(q) >= 0;
    }).slice(0, 8);
  }

  function openMenu(items) {
    var ul = $("canned-menu");
    C.clear(ul);
    menu.items = items;
    menu.active = Math.min(menu.active, Math.max(0, items.length - 1));
    items.forEach(function (c, i) {
      var li = el("li", i === menu.active ? "active" : null);
      li.id = "canned-opt-" + i;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", i === menu.active ? "true" : "false");
      li.setAttribute("data-key", c.key);
      li.appendChild(el("span", "c-label", c.label));
      li.appendChild(el("span", "c-text", c.ja));
      li.addEventListener("mousedown", function (ev) { ev.preventDefault(); insert(c); });
      ul.appendChild(li);
    });
    if (!items.length) ul.appendChild(el("li", "none", "該当する定型文はありません"));
    ul.hidden = false;
    // (no aria-expanded: a textarea is a textbox, which does not take it; the listbox is
    // named by aria-controls and the active option by aria-activedescendant)
    if (items.length) $("reply").setAttribute("aria-activedescendant", "canned-opt-" + menu.active);
  }

  function closeMenu() {
    $("canned-menu").hidden = true;
    $("reply").removeAttribute("aria-activedescendant");
    menu.items = [];
  }

  function insert(c) {
    attached = c;
    $("reply").value = c.ja;
    closeMenu();
    $("canned-preview").textContent = "";
    showCanned();
    $("reply").focus();
  }

  function onInput() {
    var q = query();
    if (q !== null) { menu.active = 0; openMenu(filtered(q)); return; }
    closeMenu();
    if (attached && $("reply").value !== attached.ja) attached = null;  // edited: a normal reply now
    clearTimeout(previewTimer);
    if (mode === "translate" && $("reply").value.trim()) previewTimer = setTimeout(preview, 700);
    else if (!attached) renderPreview(null);
  }

  function onKey(ev) {
    if ($("canned-menu").hidden || !menu.items.length) {
      if (ev.key === "Escape" && !$("canned-menu").hidden) closeMenu();
      return;
    }
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      var n = menu.items.length;
      menu.active = (menu.active + (ev.key === "ArrowDown" ? 1 : n - 1)) % n;
      openMenu(menu.items);
    } else if (ev.key === "Enter" || ev.key === "Tab") {
      if (ev.ctrlKey || ev.metaKey) return;
      ev.preventDefault();
      ev.stopImmediatePropagation();
      insert(menu.items[menu.active]);
    } else if (ev.key === "Escape") {
      ev.preventDefault();
      closeMenu();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("reply").addEventListener("input", onInput);
    $("reply").addEventListener("keydown", onKey, true);
    $("reply").addEventListener("blur", function () { setTimeout(closeMenu, 150); });
    $("preview-btn").addEventListener("click", preview);
  });

  C.compose = { preview: preview, insert: insert };
})();
