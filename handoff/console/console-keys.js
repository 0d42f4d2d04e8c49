/* Keyboard first (issue 14): shortcuts everywhere in the console, and their help overlay.
 * Alt+letter works while typing too (it types nothing on Windows/Linux; on a Mac ev.code is
 * used, so Option+J still means J). "?" opens the help when the focus is not in a field.
 */
(function () {
  "use strict";
  var C = window.Console;
  if (!C) return;
  var $ = C.$;

  var KEYS = [
    ["Alt+J", "次の相談へ(一覧の下へ)", function () { step(1); }],
    ["Alt+K", "前の相談へ(一覧の上へ)", function () { step(-1); }],
    ["Alt+L", "一覧に移る", function () { C.focusList(); }],
    ["Alt+C", "この相談を担当する", function () { clickIfShown("claim"); }],
    ["Alt+R", "返信の欄に移る", function () { if (shown("reply")) $("reply").focus(); }],
    ["Ctrl+Enter", "送信する(返信の欄で)", null],
    ["/", "定型文を探す(返信の欄の先頭で)", null],
    ["Alt+P", "届く文を確認する(翻訳と逆翻訳)", function () { clickIfShown("preview-btn"); }],
    ["Alt+N", "メモを書く(本人には送られません)", function () {
      if ($("conv").hidden) return;
      $("tl-note-box").open = true;
      $("tl-note").focus();
    }],
    ["Alt+O", "相談票を開く(まだなければ作る)", openCase],
    ["Alt+E", "相談を終了する(確認があります)", resolve],
    ["?", "このヘルプを開く", function () { help(); }],
    ["Esc", "ヘルプや確認を閉じる", null]
  ];

  function shown(id) {
    var n = $(id);
    return !!(n && !n.hidden && n.offsetParent !== null && !n.disabled);
  }
  function clickIfShown(id) { if (shown(id)) $(id).click(); }

  function listIds() {
    var buttons = document.querySelectorAll("#queue-pane .queue li button");
    var ids = [];
    Array.prototype.forEach.call(buttons, function (b) {
      if (b.offsetParent !== null) ids.push(Number(b.parentNode.getAttribute("data-id")));
    });
    return ids;
  }

  function step(delta) {
    var ids = listIds();
    if (!ids.length) return;
    var at = ids.indexOf(C.state.convId);
    var next = at < 0 ? (delta > 0 ? 0 : ids.length - 1) : Math.max(0, Math.min(ids.length - 1, at + delta));
    location.hash = "#c/" + ids[next];
    var b = document.querySelector("#queue-pane .queue li[data-id='" + ids[next] + "'] button");
    if (b) b.focus();
  }

  function openCase() {
    if (shown("open-case")) { $("open-case").click(); return; }
    var pane = $("case-pane");
    if (!pane.hidden) { pane.setAttribute("tabindex", "-1"); pane.focus(); }
  }

  function resolve() {
    if (!C.state.current || !C.state.current.conversation.mine) return;
    var d = document.querySelector("#composer details.closing");
    if (d) d.open = true;
    C.closeConversation();
  }

  function help() {
    var dl = $("help-keys");
    if (!dl.childNodes.length) {
      KEYS.forEach(function (k) {
        var dt = C.el("dt");
        dt.appendChild(C.el("kbd", null, k[0]));
        dl.appendChild(dt);
        dl.appendChild(C.el("dd", null, k[1]));
      });
    }
    if (!$("help").open) $("help").showModal();
    $("help-close").focus();
  }

  function inField(t) {
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }

  function onKey(ev) {
    if ($("app").getAttribute("data-view") !== "main") return;
    if (document.querySelector("dialog[open]") && ev.key !== "Escape") return;  // a dialog has the keyboard
    if (ev.altKey && !ev.ctrlKey && !ev.metaKey && /^Key[A-Z]$/.test(ev.code)) {
      var letter = ev.code.slice(3);
      for (var i = 0; i < KEYS.length; i++) {
        if (KEYS[i][0] === "Alt+" + letter && KEYS[i][2]) {
          ev.preventDefault();
          KEYS[i][2]();
          return;
        }
      }
    }
    if (ev.key === "?" && !inField(ev.target) && !ev.altKey && !ev.ctrlKey && !ev.metaKey) {
      ev.preventDefault();
      help();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.addEventListener("keydown", onKey);
    $("open-help").addEventListener("click", help);
  });

  C.keys = { list: KEYS, help: help, step: step };
})();
