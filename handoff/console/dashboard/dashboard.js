// The lead's dashboard: figures from GET /api/reports/dashboard, refreshed every 30 seconds.
"use strict";
(() => {
  const status = document.getElementById("status");
  const main = document.getElementById("profiles");
  const tpl = document.getElementById("profile");
  const show = (v) => (v === null || v === undefined ? "—" : String(v));

  function render(data) {
    main.replaceChildren();
    for (const [id, p] of Object.entries(data.profiles)) {
      const node = tpl.content.cloneNode(true);
      node.querySelector(".name").textContent = `${p.name}　${p.centre}（${id}）`;
      node.querySelector(".waiting").textContent = show(p.waiting_now);
      const urgent = node.querySelector(".urgent");
      urgent.textContent = show(p.urgent_waiting_now);
      if (p.urgent_waiting_now > 0) urgent.classList.add("alert");
      node.querySelector(".longest").textContent = show(p.longest_wait_minutes);
      node.querySelector(".today").textContent = show(p.today.new_consultations);
      node.querySelector(".wait").textContent = show(p.last_30_days.waiting_minutes.median);
      node.querySelector(".reply").textContent = show(p.last_30_days.first_reply_minutes.median);
      node.querySelector(".reviews").textContent = p.open_reviews.recorded ? show(p.open_reviews.count) : "未記録";
      const hours = node.querySelector(".hours");
      const counts = p.last_30_days.by_hour;
      const top = Math.max(1, ...counts);
      hours.setAttribute("aria-label", counts.map((n, h) => `${h}時 ${n}件`).join("、"));
      counts.forEach((n, h) => {
        const bar = document.createElement("div");
        bar.className = "bar";
        bar.style.height = `${(100 * n) / top}%`;
        bar.title = `${h}時台 ${n}件`;
        if (h % 3 === 0) { const s = document.createElement("span"); s.textContent = String(h); bar.append(s); }
        hours.append(bar);
      });
      main.append(node);
    }
  }

  async function refresh() {
    try {
      const r = await fetch("/api/reports/dashboard", { credentials: "same-origin" });
      if (r.status === 401) { status.textContent = "ログインしてください（コンソールからログイン）"; return; }
      if (r.status === 403) { status.textContent = "主任相談支援員のための画面です"; return; }
      const data = await r.json();
      render(data);
      status.textContent = `${new Date(data.generated_at).toLocaleTimeString("ja-JP", { timeZone: "Asia/Tokyo" })} 現在`;
    } catch (e) {
      status.textContent = "更新できませんでした。しばらくして再度試します。";
    }
  }
  refresh();
  setInterval(refresh, 30000);
})();
