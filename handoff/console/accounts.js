/* The accounts and audit page (issue 11): an admin manages the staff roster; a lead reads
 * the break-glass records and the audit trail of their municipalities. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var ROLE = { counsellor: "相談支援員", lead: "主任相談支援員", admin: "管理者" };
  var ACTION = {
    login: "ログイン", login_failed: "ログイン失敗", login_locked: "ロック中のログイン", login_lockout: "ロックアウト",
    logout: "ログアウト", read_case: "ケース閲覧", read_transcript: "会話記録の閲覧", read_queue: "待ち一覧の閲覧",
    read_triage: "待ち相談の概要", access_refused: "閲覧拒否", break_glass: "緊急閲覧", list_cases: "ケース一覧",
    account_created: "アカウント作成", account_changed: "アカウント変更", account_disabled: "アカウント停止",
    account_enabled: "アカウント再開", account_password_reset: "パスワード再設定", account_mfa_reset: "2段階認証の再設定",
    mfa_enrolled: "2段階認証の登録", case_assigned: "担当の割り当て", conversation_claimed: "相談の担当開始"
  };
  var profiles = [];

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function api(method, path, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(path, opts).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (d) {
        if (!res.ok) {
          var msg = d && d.detail && (d.detail.error || d.detail.message || (typeof d.detail === "string" ? d.detail : null));
          throw new Error(msg || "エラー (" + res.status + ")");
        }
        return d;
      });
    });
  }
  function fail(err) { $("page-error").textContent = err.message; }
  function fmt(iso) {
    return new Date(iso).toLocaleString("ja-JP", { year: "numeric", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone: "Asia/Tokyo" });
  }
  function shownOnce(text) { var p = $("shown-once"); p.textContent = text; p.hidden = false; }

  function button(label, cls, fn) {
    var b = el("button", { type: "button", "class": cls || "" }, label);
    b.addEventListener("click", fn);
    return b;
  }

  function accountRow(a) {
    var tr = el("tr", { "class": a.active ? "" : "disabled", "data-login": a.login });
    [a.login, a.display_name, ROLE[a.role] || a.role, a.team || "—", a.profiles.join("、") || "なし(何も見えません)",
      a.mfa ? "登録済み" : "未登録"].forEach(function (v) { tr.appendChild(el("td", {}, v)); });
    tr.appendChild(el("td", { "class": "state" }, a.active ? "有効" : "停止中"));
    var td = el("td"), box = el("div", { "class": "row-actions" });
    box.appendChild(a.active
      ? button("停止", "danger", function () { if (confirm(a.login + " を停止しますか?ログイン中の画面もすぐに閉じます。")) act("/disable", a); })
      : button("再開", "", function () { act("/enable", a); }));
    box.appendChild(button("パスワード再設定", "", function () {
      api("POST", "/api/accounts/" + a.id + "/reset-password").then(function (r) {
        shownOnce(a.login + " の新しいパスワード(いまだけ表示): " + r.password); load();
      }).catch(fail);
    }));
    box.appendChild(button("2段階認証を再設定", "", function () {
      if (confirm(a.login + " の2段階認証を再設定しますか?次回ログイン時に登録し直します。")) act("/reset-mfa", a);
    }));
    box.appendChild(button("役割・チーム・自治体", "", function () { edit(a); }));
    td.appendChild(box);
    tr.appendChild(td);
    return tr;
  }

  function act(suffix, a) { api("POST", "/api/accounts/" + a.id + suffix).then(load).catch(fail); }

  function edit(a) {
    var role = prompt("役割 (counsellor / lead / admin)", a.role);
    if (role === null) return;
    var team = prompt("チーム(空欄でなし)", a.team || "");
    if (team === null) return;
    var prof = prompt("担当自治体(カンマ区切り): " + profiles.join(", "), a.profiles.join(","));
    if (prof === null) return;
    api("PATCH", "/api/accounts/" + a.id, { role: role.trim(), team: team.trim(),
      profiles: prof.split(",").map(function (s) { return s.trim(); }).filter(Boolean) }).then(load).catch(fail);
  }

  function load() {
    $("page-error").textContent = "";
    return api("GET", "/api/accounts").then(function (d) {
      profiles = d.profiles;
      var body = $("accounts").tBodies[0];
      body.textContent = "";
      d.accounts.forEach(function (a) { body.appendChild(accountRow(a)); });
      var sel = $("new-profiles");
      if (!sel.options.length) profiles.forEach(function (p) { sel.appendChild(el("option", { value: p }, p)); });
      var lock = $("lockouts");
      lock.hidden = !d.lockouts.length;
      lock.textContent = d.lockouts.length ? "最近のロックアウト: " + d.lockouts.map(function (l) {
        return fmt(l.at) + "(" + (l.scope === "ip" ? "接続元" : "アカウント") + ")"; }).join("、") : "";
    }).catch(fail);
  }

  function create(ev) {
    ev.preventDefault();
    var chosen = Array.prototype.filter.call($("new-profiles").options, function (o) { return o.selected; }).map(function (o) { return o.value; });
    api("POST", "/api/accounts", { login: $("new-login").value.trim(), display_name: $("new-name").value.trim(),
      role: $("new-role").value, team: $("new-team").value.trim() || null, profiles: chosen }).then(function (r) {
      shownOnce(r.account.login + " を追加しました。初期パスワード(いまだけ表示): " + r.password + " — 初回ログイン時に2段階認証を登録します。");
      $("create-form").reset();
      load();
    }).catch(fail);
  }

  function glass() {
    return api("GET", "/api/cases/break-glass/recent").then(function (d) {
      var body = $("glass").tBodies[0];
      body.textContent = "";
      if (!d.break_glass.length) { var tr = el("tr"); tr.appendChild(el("td", { colspan: "4" }, "記録はありません。")); body.appendChild(tr); }
      d.break_glass.forEach(function (g) {
        var tr = el("tr");
        [fmt(g.at), g.counsellor || ("ID " + g.counsellor_id), g.case_id ? "ケース " + g.case_id : "相談 " + g.conversation_id, g.reason]
          .forEach(function (v) { tr.appendChild(el("td", {}, v)); });
        body.appendChild(tr);
      });
    }).catch(fail);
  }

  function query() {
    var q = [];
    if ($("audit-from").value) q.push("from=" + encodeURIComponent($("audit-from").value + "T00:00:00+09:00"));
    if ($("audit-to").value) q.push("to=" + encodeURIComponent($("audit-to").value + "T23:59:59+09:00"));
    if (/^\d+$/.test($("audit-case").value.trim())) q.push("case=" + $("audit-case").value.trim());
    return q.join("&");
  }

  function audit(ev) {
    if (ev) ev.preventDefault();
    var q = query();
    $("audit-csv").href = "/api/audit/export.csv" + (q ? "?" + q : "");
    return api("GET", "/api/audit?limit=300" + (q ? "&" + q : "")).then(function (d) {
      var body = $("audit").tBodies[0];
      body.textContent = "";
      d.events.forEach(function (e) {
        var tr = el("tr", { "data-action": e.action });
        var detail = Object.keys(e.detail || {}).map(function (k) { return k + "=" + JSON.stringify(e.detail[k]); }).join(" ");
        [fmt(e.at), e.actor_login || (e.actor_type === "system" ? "システム" : "—"), ACTION[e.action] || e.action,
          e.target_type + " " + e.target_id, e.profile_id || "—", (e.reason ? "理由: " + e.reason + " " : "") + detail]
          .forEach(function (v) { tr.appendChild(el("td", {}, v)); });
        body.appendChild(tr);
      });
    }).catch(fail);
  }

  function init() {
    api("GET", "/api/auth/me").then(function (me) {
      $("who").textContent = (me.display_name || me.login) + "(" + (ROLE[me.role] || me.role) + ")";
      var jobs = [];
      if (me.role === "admin") { $("accounts-section").hidden = false; jobs.push(load()); }
      if (me.role === "lead") { $("glass-section").hidden = false; jobs.push(glass()); }
      if (me.role === "admin" || me.role === "lead") { $("audit-section").hidden = false; jobs.push(audit()); }
      else $("page-error").textContent = "このページは主任相談支援員と管理者のためのものです。";
      return Promise.all(jobs);
    }).catch(function () {
      location.href = "/console";
    }).then(function () { $("page").setAttribute("data-ready", "true"); });
    $("create-form").addEventListener("submit", create);
    $("audit-form").addEventListener("submit", audit);
  }
  document.addEventListener("DOMContentLoaded", init);
})();
