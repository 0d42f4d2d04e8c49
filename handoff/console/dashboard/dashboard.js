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
      renderSurvey(node, id, p.survey, data.viewer_role);
      main.append(node);
    }
  }

  // One stacked bar per question and month: yes / a little / no / no answer, as shares.
  function stack(counts) {
    const total = counts.yes + counts.partly + counts.no + counts.no_answer;
    const bar = document.createElement("div");
    bar.className = "stack";
    bar.setAttribute("role", "img");
    bar.setAttribute("aria-label", `はい${counts.yes}件、少し${counts.partly}件、いいえ${counts.no}件、無回答${counts.no_answer}件`);
    for (const [key, cls] of [["yes", "yes"], ["partly", "partly"], ["no", "no"], ["no_answer", "none"]]) {
      if (!counts[key]) continue;
      const part = document.createElement("span");
      part.className = cls;
      part.style.width = `${(100 * counts[key]) / Math.max(1, total)}%`;
      bar.append(part);
    }
    return bar;
  }

  function renderSurvey(node, profileId, survey, role) {
    const body = node.querySelector(".survey tbody");
    let latest = null;
    for (const m of (survey && survey.months) || []) {
      const tr = document.createElement("tr");
      const [year, mon] = m.month.split("-");
      const cells = [`${year}年${Number(mon)}月`, String(m.answers)];
      cells.forEach((text) => { const td = document.createElement("td"); td.textContent = text; tr.append(td); });
      for (const q of ["helped", "easy", "again"]) {
        const td = document.createElement("td");
        if (m.answers) td.append(stack(m[q])); else td.textContent = "—";
        tr.append(td);
      }
      const td = document.createElement("td");
      td.textContent = String(m.comments);
      tr.append(td);
      body.append(tr);
      latest = m;
    }
    // Comments are residents' own words: only a lead reads them, one audited request each time.
    const box = node.querySelector(".comments");
    if (role !== "lead" || !latest || !latest.comments) return;
    box.hidden = false;
    const button = box.querySelector(".read-comments");
    const list = box.querySelector(".comment-list");
    button.addEventListener("click", async () => {
      button.disabled = true;
      const q = new URLSearchParams({ profile: profileId, month: latest.month });
      const r = await fetch(`/api/reports/survey-comments?${q}`, { credentials: "same-origin" });
      list.replaceChildren();
      if (!r.ok) { const li = document.createElement("li"); li.textContent = "読み込めませんでした"; list.append(li); return; }
      for (const c of (await r.json()).comments) {
        const li = document.createElement("li");
        li.textContent = c.text;  // text, never HTML: a comment may hold markup
        const meta = document.createElement("span");
        meta.className = "meta";
        meta.textContent = `（${c.language}・${c.channel}）`;
        li.append(meta);
        list.append(li);
      }
    });
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
