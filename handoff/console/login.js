/* The console's login with the mandatory second factor (issue 11).
 *
 * Takes over the login form of console.html (a capture listener, so console.js's own handler
 * does not run): the one-time code field is always shown, and a refusal says the same thing
 * whatever was wrong. An account without an authenticator yet is taken to the enrolment
 * screen (QR code, then the first code, then the recovery codes shown once); afterwards the
 * page reloads and console.js starts as logged in.
 */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var enrolling = false;

  function post(path, body) {
    return fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (data) { return { status: res.status, data: data }; });
    });
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text) e.textContent = text;
    return e;
  }

  function onSubmit(ev) {
    if (!ev.target || ev.target.id !== "login-form") return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    var body = { login: $("login").value.trim(), password: $("password").value, otp: $("otp").value.trim() };
    var error = $("login-error");
    if (!body.login || !body.password) {
      error.textContent = "ログインIDとパスワードを入力してください。";
      return;
    }
    if (!body.otp) delete body.otp;
    $("login-submit").disabled = true;
    post("/api/auth/login", body).then(function (r) {
      $("password").value = "";
      $("otp").value = "";
      if (r.status === 200 && r.data && r.data.mfa_enrolment_required) { showEnrol(); return; }
      if (r.status === 200) { location.reload(); return; }
      if (r.status === 429) error.textContent = "ログインの試行が多すぎるため、しばらくログインできません。時間をおいてから試してください。";
      else if (r.status === 401) error.textContent = "ログインID、パスワード、またはワンタイムコードが違います。";
      else if (r.status === 403) error.textContent = "このページからはログインできません。";
      else error.textContent = "ログインできませんでした (" + r.status + ")。";
      $("password").focus();
    }).catch(function () {
      error.textContent = "通信できませんでした。ネットワークを確認してください。";
    }).then(function () { $("login-submit").disabled = false; });
  }

  function mfaView() {
    var view = $("mfa-view");
    if (view) return view;
    view = el("section", { id: "mfa-view", "class": "login mfa", "aria-labelledby": "mfa-title" });
    view.innerHTML =
      '<form id="mfa-form" novalidate>' +
      '<h2 id="mfa-title">2段階認証の設定</h2>' +
      '<p>この相談員コンソールでは、パスワードに加えて認証アプリ(Google Authenticator、Microsoft Authenticator など)の' +
      'ワンタイムコードが必要です。初回ログインのため、いまから設定します。</p>' +
      '<ol class="mfa-steps">' +
      '<li>スマートフォンの認証アプリで、下のQRコードを読み取ってください。</li>' +
      '<li>読み取れない場合は、次のキーを手で入力してください: <code id="mfa-secret"></code></li>' +
      '<li>アプリに表示された6桁のコードを入力してください。</li></ol>' +
      '<img id="mfa-qr" alt="認証アプリ用のQRコード" width="205" height="205">' +
      '<label for="mfa-code">6桁のコード</label>' +
      '<input id="mfa-code" inputmode="numeric" autocomplete="one-time-code" maxlength="6" required>' +
      '<p class="error" id="mfa-error" role="alert"></p>' +
      '<button type="submit" id="mfa-submit" class="primary">設定を完了する</button>' +
      '</form>' +
      '<div id="mfa-done" hidden>' +
      '<h2 id="mfa-done-title" tabindex="-1">回復コード(いまだけ表示されます)</h2>' +
      '<p>スマートフォンをなくしたときは、ワンタイムコードの代わりにこのコードを1つずつ使えます。' +
      '印刷するか、安全な場所に控えてください。この画面を閉じると二度と表示されません。</p>' +
      '<ol class="recovery" id="mfa-recovery"></ol>' +
      '<button type="button" id="mfa-continue" class="primary">控えました。コンソールを開く</button>' +
      '</div>';
    var login = $("login-view");
    login.parentNode.insertBefore(view, login.nextSibling);
    $("mfa-form").addEventListener("submit", onEnrol);
    $("mfa-continue").addEventListener("click", function () { location.reload(); });
    return view;
  }

  function applyEnrolView() {
    $("app").setAttribute("data-view", "mfa");
    $("login-view").hidden = true;
    if ($("main-view")) $("main-view").hidden = true;
    mfaView().hidden = false;
  }

  function showEnrol() {
    enrolling = true;
    applyEnrolView();
    fetch("/api/auth/mfa/setup", { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (res) { return res.json().then(function (d) { return { status: res.status, data: d }; }); })
      .then(function (r) {
        if (r.status !== 200) { $("mfa-error").textContent = "設定を始められませんでした。もう一度ログインしてください。"; return; }
        $("mfa-qr").src = r.data.qr_svg;
        $("mfa-secret").textContent = r.data.secret.replace(/(.{4})/g, "$1 ").trim();
        $("mfa-code").focus();
      });
  }

  function onEnrol(ev) {
    ev.preventDefault();
    var code = $("mfa-code").value.replace(/\s/g, "");
    if (!/^\d{6}$/.test(code)) { $("mfa-error").textContent = "6桁の数字を入力してください。"; return; }
    $("mfa-submit").disabled = true;
    post("/api/auth/mfa/enrol", { otp: code }).then(function (r) {
      if (r.status !== 200) {
        $("mfa-error").textContent = r.status === 401 ? "ログインの有効期限が切れました。もう一度ログインしてください。"
          : "コードが一致しません。スマートフォンの時刻を確認し、次に表示されたコードを入力してください。";
        $("mfa-code").value = "";
        $("mfa-code").focus();
        return;
      }
      enrolling = false;
      $("mfa-form").hidden = true;
      var list = $("mfa-recovery");
      r.data.recovery_codes.forEach(function (c) { list.appendChild(el("li", {}, c)); });
      $("mfa-done").hidden = false;
      $("mfa-done-title").focus();
    }).then(function () { $("mfa-submit").disabled = false; });
  }

  function init() {
    var row = $("otp-row");
    if (row) {
      row.hidden = false;  // always asked: the answer never says which part was wrong
      var label = row.querySelector("label");
      if (label) label.textContent = "ワンタイムコード(認証アプリの6桁、または回復コード)";
      $("otp").setAttribute("maxlength", "32");
    }
    document.addEventListener("submit", onSubmit, true);
    // console.js may show its login view after we decided to enrol: keep the enrolment.
    new MutationObserver(function () {
      if (enrolling && $("app").getAttribute("data-view") !== "mfa") applyEnrolView();
      if (row && row.hidden) row.hidden = false;
    }).observe($("app"), { attributes: true, attributeFilter: ["data-view"], subtree: true });
    fetch("/api/auth/me", { credentials: "same-origin", headers: { "Accept": "application/json" } }).then(function (res) {
      if (res.status !== 401) return;
      return res.json().then(function (d) {
        if (d && d.detail && d.detail.code === "mfa_enrolment_required") showEnrol();
      });
    }).catch(function () {});
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
