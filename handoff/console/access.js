/* Need-to-know in the console (issue 11): the "assigned to me" and "my team" case lists, the
 * case's assignment and team (a lead assigns), and the break-glass dialog.
 *
 * Works beside console.js without reaching into it: the case lists are added to the queue
 * pane; a conversation or case the counsellor may not read answers 404, and this module's
 * fetch wrapper then offers the break-glass dialog (a reason, recorded and shown to the
 * lead). If a reason is given, the read is retried and console.js gets the opened case as if
 * nothing happened; if not, it gets the 404 ("not found").
 */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var me = null;
  var READ = /^\/api\/(conversations|cases)\/(\d+)$/;
  var realFetch = window.fetch.bind(window);

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function json(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return realFetch(path, opts).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (d) { return { status: res.status, data: d }; });
    });
  }

  // ── break-glass ───────────────────────────────────────────────────────────
  function dialog() {
    var d = $("glass-dialog");
    if (d) return d;
    d = el("dialog", { id: "glass-dialog", "class": "glass", "aria-labelledby": "glass-title" });
    d.innerHTML =
      '<form method="dialog" id="glass-form" novalidate>' +
      '<h2 id="glass-title">担当外の相談です</h2>' +
      '<p>この相談は、あなたの担当・チームの相談ではありません。業務上どうしても必要な場合に限り、' +
      '理由を記録して閲覧できます(緊急閲覧)。記録は監査ログに残り、主任相談支援員に表示されます。</p>' +
      '<label for="glass-reason">閲覧する理由</label>' +
      '<textarea id="glass-reason" rows="3" maxlength="1000" required ' +
      'placeholder="例: 担当者が不在で、本人から至急の連絡があったため"></textarea>' +
      '<p class="error" id="glass-error" role="alert"></p>' +
      '<div class="actions"><button type="button" id="glass-cancel">閲覧しない</button>' +
      '<button type="submit" id="glass-open" class="danger">理由を記録して閲覧する</button></div></form>';
    document.body.appendChild(d);
    return d;
  }

  function askReason(kind, id) {
    return new Promise(function (resolve) {
      var d = dialog();
      var reason = $("glass-reason");
      reason.value = "";
      $("glass-error").textContent = "";
      function done(ok) {
        $("glass-form").onsubmit = null;
        $("glass-cancel").onclick = null;
        d.onclose = null;
        if (d.open) d.close();
        resolve(ok);
      }
      $("glass-cancel").onclick = function () { done(false); };
      d.onclose = function () { done(false); };
      $("glass-form").onsubmit = function (ev) {
        ev.preventDefault();
        var text = reason.value.trim();
        if (text.length < 5) { $("glass-error").textContent = "理由を具体的に入力してください。"; return; }
        $("glass-open").disabled = true;
        json("POST", "/api/" + kind + "/" + id + "/break-glass", { reason: text }).then(function (r) {
          $("glass-open").disabled = false;
          if (r.status === 201) { done(true); return; }
          $("glass-error").textContent = r.status === 404 ? "この相談は見つからないか、閲覧できません。" : "記録できませんでした (" + r.status + ")。";
        });
      };
      d.showModal();
      reason.focus();
    });
  }

  // Only a read the counsellor asked for (a click or a key just now) offers the dialog; a
  // background refresh of a conversation that has become someone else's just answers 404.
  var lastGesture = 0;
  ["click", "keydown"].forEach(function (type) {
    document.addEventListener(type, function () { lastGesture = Date.now(); }, true);
  });

  window.fetch = function (input, init) {
    var method = ((init && init.method) || "GET").toUpperCase();
    var path = typeof input === "string" ? input : (input && input.url) || "";
    var m = method === "GET" && READ.exec(path.replace(location.origin, "").split("?")[0]);
    var p = realFetch(input, init);
    if (!m || !me || me.role === "admin" || Date.now() - lastGesture > 1500) return p;
    return p.then(function (res) {
      if (res.status !== 404) return res;
      return askReason(m[1], m[2]).then(function (ok) { return ok ? realFetch(input, init) : res; });
    });
  };

  // ── "assigned to me" and "my team" ───────────────────────────────────────
  var STATUS = { "new": "新規", assessing: "アセスメント中", planning: "支援計画", supporting: "支援中", closed: "終結" };

  function caseItem(c) {
    var li = el("li", { "class": "case-item" + (c.urgent ? " urgent" : ""), "data-case-id": String(c.id) });
    var b = el("button", { type: "button" });
    b.appendChild(el("span", { "class": "num" }, c.number));
    b.appendChild(el("span", { "class": "st" }, STATUS[c.status] || c.status));
    if (c.team) b.appendChild(el("span", { "class": "team" }, "チーム: " + c.team));
    b.addEventListener("click", function () { openCase(c.id); });
    li.appendChild(b);
    return li;
  }

  function fillList(id, view) {
    var list = $(id);
    json("GET", "/api/cases?view=" + view + "&limit=50").then(function (r) {
      list.textContent = "";
      var cases = (r.data && r.data.cases) || [];
      if (!cases.length) list.appendChild(el("li", { "class": "none" }, "ありません。"));
      cases.forEach(function (c) { list.appendChild(caseItem(c)); });
    });
  }

  function panel() {
    var pane = $("queue-pane");
    if (!pane || $("case-lists")) return;
    var box = el("section", { id: "case-lists", "class": "case-lists", "aria-label": "担当ケース" });
    box.appendChild(el("h2", {}, "自分に割り当てられたケース"));
    box.appendChild(el("ol", { "class": "queue", id: "cases-assigned", "aria-label": "自分に割り当てられたケース" }));
    box.appendChild(el("h2", {}, me.team ? "チーム「" + me.team + "」のケース" : "チームのケース"));
    box.appendChild(el("ol", { "class": "queue", id: "cases-team", "aria-label": "チームのケース" }));
    pane.appendChild(box);
    refresh();
  }

  function refresh() {
    if (!$("case-lists")) return;
    fillList("cases-assigned", "assigned");
    fillList("cases-team", "team");
  }

  function caseDialog() {
    var d = $("case-dialog");
    if (d) return d;
    d = el("dialog", { id: "case-dialog", "class": "case-dialog", "aria-labelledby": "case-dialog-title" });
    d.innerHTML =
      '<h2 id="case-dialog-title"></h2><dl id="case-dialog-facts"></dl>' +
      '<form id="assign-form" hidden><h3>担当の割り当て(主任)</h3>' +
      '<label for="assign-login">担当者のID</label><input id="assign-login" maxlength="64">' +
      '<label for="assign-team">チーム</label><input id="assign-team" maxlength="32">' +
      '<p class="error" id="assign-error" role="alert"></p>' +
      '<button type="submit" class="primary">割り当てる</button></form>' +
      '<div class="actions"><button type="button" id="case-dialog-close">閉じる</button></div>';
    document.body.appendChild(d);
    $("case-dialog-close").addEventListener("click", function () { d.close(); });
    return d;
  }

  function openCase(id) {
    window.fetch("/api/cases/" + id, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (res) { return res.json().then(function (d) { return { status: res.status, data: d }; }); })
      .then(function (r) {
        if (r.status !== 200) return;
        var c = r.data, d = caseDialog(), facts = $("case-dialog-facts");
        $("case-dialog-title").textContent = "ケース " + c.number;
        facts.textContent = "";
        var rows = [["状況", STATUS[c.status] || c.status], ["担当者", c.assigned_counsellor_id ? "ID " + c.assigned_counsellor_id : "未割り当て"],
          ["チーム", c.team || "—"], ["お名前", (c.face_sheet && c.face_sheet.name) || "—"],
          ["相談内容", (c.face_sheet && (c.face_sheet.problem_text_ja || c.face_sheet.problem_text)) || "—"],
          ["閲覧の根拠", { held: "担当した相談", assigned: "割り当て", team: "チーム", lead: "主任", break_glass: "緊急閲覧" }[c.access && c.access.basis] || "—"]];
        rows.forEach(function (row) { facts.appendChild(el("dt", {}, row[0])); facts.appendChild(el("dd", {}, row[1])); });
        var form = $("assign-form");
        form.hidden = me.role !== "lead";
        $("assign-team").value = c.team || "";
        form.onsubmit = function (ev) {
          ev.preventDefault();
          json("POST", "/api/cases/" + id + "/assign", { to_login: $("assign-login").value.trim() || null,
            team: $("assign-team").value.trim() || null }).then(function (a) {
            if (a.status === 200) { d.close(); refresh(); return; }
            $("assign-error").textContent = (a.data && a.data.detail && (a.data.detail.error || a.data.detail)) || ("エラー (" + a.status + ")");
          });
        };
        if (!d.open) d.showModal();
      });
  }

  function navLink() {
    if ($("access-link") || !me || (me.role !== "lead" && me.role !== "admin")) return;
    var a = el("a", { id: "access-link", href: "/console/access", "class": "access-link" },
      me.role === "admin" ? "アカウント・監査ログ" : "監査ログ・緊急閲覧");
    var logout = $("logout");
    logout.parentNode.insertBefore(a, logout);
  }

  function start() {
    json("GET", "/api/auth/me").then(function (r) {
      if (r.status !== 200) return;
      me = r.data;
      navLink();
      if (me.role !== "admin") panel();
    });
  }

  function init() {
    var app = $("app");
    new MutationObserver(function () {
      if (app.getAttribute("data-view") === "main") { if (!me) start(); else refresh(); }
      else if (app.getAttribute("data-view") === "login") { me = null; }
    }).observe(app, { attributes: true, attributeFilter: ["data-view"] });
    if (app.getAttribute("data-view") === "main") start();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
