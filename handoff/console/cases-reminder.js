// Loaded by the console page: once a counsellor is logged in, the 「ケース一覧」 link shows how
// many reviews and follow-ups are due today (the reminders are on /console/cases). Own file so
// the console's own script stays untouched; it only reads /api/casework/reviews/today.
(function () {
  "use strict";
  var link = null, base = "";
  function loggedIn() { var app = document.getElementById("app"); return !app || app.dataset.view === "main"; }
  function refresh() {
    link = link || document.querySelector("a.nav-cases");
    if (!link) return;
    base = base || link.textContent;
    // the console's stylesheet is not ours: readable on its header whatever its colours
    link.style.color = "inherit";
    if (!loggedIn()) { setTimeout(refresh, 1500); return; }
    fetch("/api/casework/reviews/today", { credentials: "same-origin" }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (d) {
      if (d) {
        var n = d.reviews.length;
        link.textContent = n ? base + "（今日の評価・フォロー " + n + "件）" : base;
        link.classList.toggle("due", n > 0);
        link.style.fontWeight = n ? "700" : "";
      }
      setTimeout(refresh, 60000);
    }).catch(function () { setTimeout(refresh, 60000); });
  }
  document.addEventListener("DOMContentLoaded", refresh);
})();
