// The case work page (/console/cases): the case list with search and filters, and one case's
// face sheet with the routing reasons, triage, referrals, assessment, plan and reviews.
// Everything the resident or a counsellor wrote is set as text (textContent), never as HTML.
(function () {
  "use strict";
  var state = { me: null, labels: {}, names: {}, caseId: null, work: null, templates: {} };
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function label(group, code) { return ((state.labels[group] || {})[code]) || code; }

  function api(method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: {} };
    if (body !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(url, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) { var e = new Error(errorText(data, r.status)); e.status = r.status; e.data = data; throw e; }
        return data;
      });
    });
  }
  function errorText(data, status) {
    var d = data && data.detail;
    if (status === 403 && d && d.consent) return "情報共有の同意がないため、つなぎを記録できません（本人の同意：" + consentLabel(d.consent) + "）";
    if (status === 409) return "ほかの人が先に保存しました。読み込み直してください。";
    if (status === 403) return "この操作は主任相談支援員が行います。";
    return (d && (d.error || d)) ? String(d.error || d) : "エラー(" + status + ")";
  }
  function consentLabel(c) {
    return { granted: "同意あり", declined: "同意なし", discuss: "相談して決める", withdrawn: "撤回", none: "未確認" }[c] || c;
  }
  function say(text) { $("case-status").textContent = text; }

  // ── list and search ────────────────────────────────────────────────
  function search(ev) {
    if (ev) ev.preventDefault();
    var p = new URLSearchParams();
    var q = $("q").value.trim();
    if (q) p.set("q", q);
    if ($("f-status").value) p.set("status", $("f-status").value);
    if ($("f-programme").value) p.set("programme", $("f-programme").value);
    if ($("f-mine").checked && state.me) p.set("counsellor", state.me.id);
    if ($("f-urgent").checked) p.set("urgent", "true");
    if ($("f-overdue").checked) p.set("overdue", "true");
    return api("GET", "/api/casework/cases?" + p.toString()).then(showList);
  }
  function showList(data) {
    state.names = data.programme_names || {};
    var sel = $("f-programme");
    if (sel.options.length === 1) {
      Object.keys(state.names).forEach(function (id) {
        var o = el("option", state.names[id]); o.value = id; sel.appendChild(o);
      });
    }
    var body = $("case-rows"); clear(body);
    $("list-count").textContent = data.total + "件";
    data.cases.forEach(function (c) {
      var tr = el("tr"); tr.dataset.caseId = c.id;
      if (c.urgent) tr.classList.add("urgent");
      var a = el("a", c.number); a.href = "#case=" + c.id;
      var td = el("td"); td.appendChild(a); tr.appendChild(td);
      tr.appendChild(el("td", c.name || "（未回答）"));
      var st = el("td", label("caseStatus", c.status));
      if (c.overdue_review) st.appendChild(el("span", "評価期限切れ", "badge late"));
      tr.appendChild(st);
      tr.appendChild(el("td", (c.categories || []).map(function (k) { return label("category", k); }).join("・")));
      tr.appendChild(el("td", (c.programmes || []).map(function (k) { return (state.names[k] || k).split(" ")[0]; }).join(" ")));
      tr.appendChild(el("td", c.created_at.slice(0, 10)));
      body.appendChild(tr);
    });
  }

  // ── reminders ──────────────────────────────────────────────────────
  function reminders() {
    var box = $("cw-reminders");
    return api("GET", "/api/casework/reviews/today").then(function (d) {
      var ul = $("rem-today"); clear(ul);
      d.reviews.forEach(function (r) { ul.appendChild(reviewItem(r)); });
      if (!d.reviews.length) ul.appendChild(el("li", "今日が予定日の評価はありません。", "none"));
      box.hidden = false;
      if (state.me && (state.me.role === "lead" || state.me.role === "admin")) {
        return api("GET", "/api/casework/reviews/overdue").then(function (o) {
          var ol = $("rem-overdue"); clear(ol);
          o.reviews.forEach(function (r) { ol.appendChild(reviewItem(r)); });
          $("rem-overdue-box").hidden = !o.reviews.length;
        });
      }
    });
  }
  function reviewItem(r) {
    var li = el("li"); var a = el("a", r.case_number); a.href = "#case=" + r.case_id;
    li.appendChild(a); li.appendChild(el("span", " " + r.label + "　予定日 " + r.due_on));
    return li;
  }

  // ── one case ───────────────────────────────────────────────────────
  function openCase(id) {
    if (state.caseId !== id) { say(""); $("referral-form").reset(); $("ref-error").textContent = ""; $("approve-error").textContent = ""; }
    state.caseId = id;
    return api("GET", "/api/casework/cases/" + id).then(function (w) {
      state.work = w;
      $("cw-case").hidden = false;
      $("case-title").textContent = "受付番号 " + w.number + "　" + (w.face_sheet.name || "");
      $("case-meta").textContent = label("caseStatus", w.status) + (w.urgent ? "・緊急" : "") + "　受付 " + w.created_at.slice(0, 10);
      $("pdf-link").href = "/api/casework/cases/" + id + "/intake-sheet.pdf";
      $("reopen").hidden = w.allowed_actions.indexOf("reopen") < 0;
      renderFace(w); renderReferrals(w); renderReviews(w);
      return Promise.all(["assessment", "plan"].map(function (k) { return renderDoc(k, w.documents[k].latest, w.documents[k]); }));
    });
  }
  function changed(message) {
    return function () { say(message); return openCase(state.caseId).then(function () { return search(); }); };
  }
  var FACE = [["name", "氏名"], ["contact_detail", "連絡先"], ["for_whom", "相談者"], ["age_band", "年代"],
              ["district", "地区"], ["household", "世帯"], ["public_assistance", "生活保護"], ["residence", "住まい"],
              ["problem_text", "相談の要旨"], ["problem_text_ja", "要旨(日本語訳)"]];
  function renderFace(w) {
    var dl = $("face"); clear(dl);
    FACE.forEach(function (f) {
      var v = w.face_sheet[f[0]]; if (v === null || v === undefined || v === "") return;
      dl.appendChild(el("dt", f[1])); dl.appendChild(el("dd", (w.face_sheet_labels || {})[f[0]] || v));
    });
    dl.appendChild(el("dt", "相談内容"));
    dl.appendChild(el("dd", (w.categories || []).map(function (k) { return label("category", k); }).join("・")));
    var ul = $("routing"); clear(ul);
    w.routing.recommended.forEach(function (r) {
      var li = el("li"); li.appendChild(el("strong", r.name));
      r.because.forEach(function (b) { li.appendChild(el("span", b, "because")); });
      r.confirm.forEach(function (c) { li.appendChild(el("span", c, "confirm")); });
      ul.appendChild(li);
    });
    var ex = $("excluded"); clear(ex);
    w.routing.excluded.forEach(function (r) {
      var li = el("li"); li.appendChild(el("strong", r.name));
      r.why_not.forEach(function (b) { li.appendChild(el("span", b, "why-not")); });
      ex.appendChild(li);
    });
    if (!w.routing.excluded.length) ex.appendChild(el("li", "なし", "none"));
    var h = $("triage-history"); clear(h);
    w.triage.slice().reverse().forEach(function (t) {
      h.appendChild(el("li", t.at.slice(0, 10) + "　" + t.label + (t.reason ? "：" + t.reason : "")));
    });
  }
  function renderReferrals(w) {
    $("consent-line").textContent = "他機関との情報共有への本人の同意：" + consentLabel(w.sharing_consent || "none");
    $("consent-line").className = "consent " + (w.sharing_consent === "granted" ? "ok" : "no");
    var sel = $("ref-agency"); clear(sel);
    w.agencies.forEach(function (a) { var o = el("option", a.name); o.value = a.id; sel.appendChild(o); });
    var body = $("referral-rows"); clear(body);
    w.referrals.forEach(function (r) {
      var tr = el("tr");
      tr.appendChild(el("td", r.made_at.slice(0, 10)));
      tr.appendChild(el("td", r.agency_name));
      tr.appendChild(el("td", r.shared_labels.join("・") + (r.note ? "（" + r.note + "）" : "")));
      var acc = el("td"); var s = el("select"); s.setAttribute("aria-label", "受け入れ");
      [["pending", "回答待ち"], ["accepted", "受け入れ"], ["declined", "受け入れ不可"]].forEach(function (o) {
        var op = el("option", o[1]); op.value = o[0]; if (o[0] === r.acceptance) op.selected = true; s.appendChild(op);
      });
      s.addEventListener("change", function () { updateReferral(r.id, { acceptance: s.value }); });
      acc.appendChild(s); tr.appendChild(acc);
      var out = el("td"); var inp = el("input"); inp.value = r.outcome || ""; inp.setAttribute("aria-label", "結果");
      inp.addEventListener("change", function () { updateReferral(r.id, { outcome: inp.value }); });
      out.appendChild(inp); tr.appendChild(out);
      body.appendChild(tr);
    });
  }
  function updateReferral(id, body) {
    return api("PATCH", "/api/casework/cases/" + state.caseId + "/referrals/" + id, body)
      .then(function () { say("つなぎの記録を更新しました。"); }).catch(function (e) { say(e.message); });
  }
  function renderReviews(w) {
    var body = $("review-rows"); clear(body);
    w.reviews.forEach(function (r) {
      var tr = el("tr"); tr.className = "review " + r.state;
      tr.appendChild(el("td", r.due_on)); tr.appendChild(el("td", r.label));
      tr.appendChild(el("td", { done: "実施済み", today: "今日", overdue: "期限切れ", upcoming: "予定" }[r.state] + (r.note ? "：" + r.note : "")));
      var td = el("td");
      if (r.state !== "done") {
        var b = el("button", "実施を記録"); b.type = "button";
        b.addEventListener("click", function () {
          api("POST", "/api/casework/cases/" + state.caseId + "/reviews/" + r.id + "/done", { note: null })
            .then(function () { return openCase(state.caseId); }).then(reminders);
        });
        td.appendChild(b);
      }
      tr.appendChild(td); body.appendChild(tr);
    });
    if (!w.reviews.length) { var tr = el("tr"); var td = el("td", "まだ予定はありません(支援計画の承認・就職の記録で入ります)。"); td.colSpan = 4; tr.appendChild(td); body.appendChild(tr); }
  }

  // ── assessment and plan, drawn from their templates ───────────────
  function template(kind) {
    if (state.templates[kind]) return Promise.resolve(state.templates[kind]);
    return api("GET", "/api/casework/templates/" + kind).then(function (t) { state.templates[kind] = t; return t; });
  }
  function renderDoc(kind, doc, all) {
    return template(kind).then(function (t) {
      var form = $("doc-" + kind); clear(form);
      var content = (doc && doc.content) || {};
      var latest = all.versions.length ? all.versions[0].version : null;
      var head = el("p", doc ? ("第" + doc.version + "版　" + doc.created_at.slice(0, 10) + (doc.approved_on ? "　支援調整会議で承認（" + doc.approved_on + "）" : "") +
        (doc.version !== latest ? "　— 以前の版を表示中です。保存すると第" + (latest + 1) + "版になります" : "")) : "まだ保存されていません", "version");
      form.appendChild(el("h3", t.title)); form.appendChild(head);
      if (all.versions.length > 1) {
        var vs = el("p", "版の履歴：", "versions");
        all.versions.forEach(function (v) {
          var b = el("button", "第" + v.version + "版" + (v.approved_on ? "(承認)" : "")); b.type = "button";
          b.setAttribute("aria-pressed", String(doc && v.version === doc.version));
          b.addEventListener("click", function () {
            api("GET", "/api/casework/cases/" + state.caseId + "/documents/" + kind + "/" + v.version)
              .then(function (d) { return renderDoc(kind, d.document, all); });
          });
          vs.appendChild(b);
        });
        form.appendChild(vs);
      }
      t.sections.forEach(function (sec) {
        var fs = el("fieldset"); fs.appendChild(el("legend", sec.title));
        sec.items.forEach(function (item) { fs.appendChild(field(kind, item, content[item.id])); });
        form.appendChild(fs);
      });
      var save = el("button", "保存(新しい版)", "primary"); save.type = "submit"; form.appendChild(save);
      form.dataset.version = latest === null ? "" : latest;
      form.onsubmit = function (ev) { ev.preventDefault(); saveDoc(kind, t); };
    });
  }
  function field(kind, item, value) {
    var id = kind + "-" + item.id, wrap = el("div", null, "item item-" + item.type);
    var lab = el("label", item.label); lab.htmlFor = id; wrap.appendChild(lab);
    var input;
    if (item.type === "textarea") { input = el("textarea"); input.rows = 3; input.value = value || ""; }
    else if (item.type === "choice") {
      input = el("select"); input.appendChild(el("option", "—"));
      input.options[0].value = "";
      item.choices.forEach(function (c) { var o = el("option", c); o.value = c; if (c === value) o.selected = true; input.appendChild(o); });
    } else if (item.type === "multi") {
      input = el("div", null, "multi"); input.setAttribute("role", "group");
      item.choices.forEach(function (c) {
        var l = el("label"); var cb = el("input"); cb.type = "checkbox"; cb.value = c;
        cb.checked = (value || []).indexOf(c) >= 0; l.appendChild(cb); l.appendChild(document.createTextNode(c)); input.appendChild(l);
      });
    } else if (item.type === "rows") {
      input = el("table", null, "rows");
      var hr = el("tr"); item.columns.forEach(function (c) { hr.appendChild(el("th", c)); }); input.appendChild(hr);
      var rows = (value || []).concat([[]]);
      rows.forEach(function (row) { input.appendChild(rowInputs(item, row)); });
    } else { input = el("input"); input.type = item.type === "date" ? "date" : "text"; input.value = value || ""; }
    input.id = id; input.dataset.item = item.id; input.dataset.type = item.type;
    wrap.appendChild(input);
    if (item.type === "rows") {
      var add = el("button", "行を追加"); add.type = "button";
      add.addEventListener("click", function () { input.appendChild(rowInputs(item, [])); });
      wrap.appendChild(add);
    }
    return wrap;
  }
  function rowInputs(item, row) {
    var tr = el("tr");
    item.columns.forEach(function (c, i) {
      var td = el("td"); var inp = el("input"); inp.value = row[i] || ""; inp.setAttribute("aria-label", item.label + " " + c);
      td.appendChild(inp); tr.appendChild(td);
    });
    return tr;
  }
  function collect(form) {
    var out = {};
    form.querySelectorAll("[data-item]").forEach(function (n) {
      var t = n.dataset.type, v;
      if (t === "multi") v = Array.prototype.map.call(n.querySelectorAll("input:checked"), function (c) { return c.value; });
      else if (t === "rows") v = Array.prototype.map.call(n.querySelectorAll("tr"), function (tr) {
        return Array.prototype.map.call(tr.querySelectorAll("input"), function (i) { return i.value; });
      }).filter(function (r) { return r.length && r.some(function (c) { return c.trim(); }); });
      else v = n.value;
      out[n.dataset.item] = v;
    });
    return out;
  }
  function saveDoc(kind) {
    var form = $("doc-" + kind), base = form.dataset.version ? parseInt(form.dataset.version, 10) : null;
    return api("PUT", "/api/casework/cases/" + state.caseId + "/documents/" + kind, { content: collect(form), base_version: base })
      .then(function (d) { return changed((kind === "plan" ? "支援計画" : "アセスメントシート") + "を第" + d.document.version + "版として保存しました。")(); })
      .catch(function (e) { say(e.message); });
  }

  // ── wiring ─────────────────────────────────────────────────────────
  function tabs() {
    var all = Array.prototype.slice.call(document.querySelectorAll("[role=tab]"));
    function select(b) {
      all.forEach(function (x) { x.setAttribute("aria-selected", String(x === b)); x.tabIndex = x === b ? 0 : -1; });
      document.querySelectorAll(".tab").forEach(function (p) { p.hidden = p.id !== "tab-" + b.dataset.tab; });
    }
    all.forEach(function (b, i) {
      b.addEventListener("click", function () { select(b); });
      b.addEventListener("keydown", function (ev) {  // arrow keys move between tabs (WAI-ARIA tabs)
        var step = ev.key === "ArrowRight" ? 1 : ev.key === "ArrowLeft" ? -1 : 0;
        if (!step) return;
        var next = all[(i + step + all.length) % all.length];
        select(next); next.focus(); ev.preventDefault();
      });
    });
    select(all[0]);
  }
  function forms() {
    $("search-form").addEventListener("submit", search);
    $("triage-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      api("POST", "/api/casework/cases/" + state.caseId + "/triage", { outcome: $("triage-outcome").value, reason: $("triage-reason").value || null })
        .then(function () { $("triage-reason").value = ""; return changed("振り分けを記録しました。")(); })
        .catch(function (e) { say(e.message); });
    });
    $("referral-form").addEventListener("submit", function (ev) {
      ev.preventDefault(); $("ref-error").textContent = "";
      var items = Array.prototype.map.call(document.querySelectorAll("input[name=share]:checked"), function (c) { return c.value; });
      api("POST", "/api/casework/cases/" + state.caseId + "/referrals", { agency: $("ref-agency").value, items: items, note: $("ref-note").value || null })
        .then(function () { $("ref-note").value = ""; return changed("つなぎを記録しました。")(); })
        .catch(function (e) { $("ref-error").textContent = e.message; });
    });
    $("approve-form").addEventListener("submit", function (ev) {
      ev.preventDefault(); $("approve-error").textContent = "";
      var v = $("doc-plan").dataset.version;
      if (!v) { $("approve-error").textContent = "先に支援計画を保存してください。"; return; }
      api("POST", "/api/casework/cases/" + state.caseId + "/documents/plan/" + v + "/approve", { meeting_on: $("meeting-on").value, note: $("meeting-note").value || null })
        .then(changed("支援調整会議の承認を記録しました。評価の予定(3・6・12か月)が入りました。"))
        .catch(function (e) { $("approve-error").textContent = e.message; });
    });
    $("placement-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      api("POST", "/api/casework/cases/" + state.caseId + "/placement", { placed_on: $("placed-on").value })
        .then(changed("就職を記録しました。フォローアップの予定が入りました。")).then(reminders)
        .catch(function (e) { say(e.message); });
    });
    $("reopen").addEventListener("click", function () {
      var reason = window.prompt("再開の理由");
      if (!reason) return;
      api("POST", "/api/casework/cases/" + state.caseId + "/reopen", { reason: reason })
        .then(changed("ケースを再開しました。"));
    });
  }
  function route() {
    var m = /case=(\d+)/.exec(location.hash);
    if (m) openCase(parseInt(m[1], 10)).catch(function (e) { say(e.message); });
  }

  function start() {
    tabs(); forms();
    api("GET", "/api/auth/me").then(function (me) {
      state.me = me.counsellor || me;
      return api("GET", "/api/console/strings").then(function (s) { state.labels = s.labels || {}; });
    }).then(function () {
      $("cw-main").hidden = false;
      $("cw").dataset.view = "main";
      return Promise.all([search(), reminders()]);
    }).then(function () {
      window.addEventListener("hashchange", route); route();
      $("cw").dataset.ready = "true";
    }).catch(function (e) {
      if (e.status === 401) { $("cw-login").hidden = false; $("cw").dataset.view = "login"; }
      else say(e.message);
    });
  }
  document.addEventListener("DOMContentLoaded", start);
})();
