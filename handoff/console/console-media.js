/* A resident's pictures and documents in the transcript (issue 16): thumbnails for images,
 * file chips for the rest, and what was not kept ("画像（大きすぎるため保存していません）").
 * Opening one is GET /api/conversations/{id}/media/{media_id}: the server checks the same
 * need-to-know rule as the transcript and audits every view. A PDF can be sent back.
 * Everything is put on the page with textContent; the bytes never pass through script.
 */
(function () {
  "use strict";
  var C = window.Console;
  if (!C) return;
  var $ = C.$, el = C.el;

  var KIND = { image: "画像", file: "ファイル", audio: "音声", video: "動画" };
  var NOT_KEPT = {
    too_large: "大きすぎるため保存していません",
    case_full: "この相談の保存量の上限を超えたため保存していません",
    refused: "安全のため受け取っていません（実行ファイル・HTMLなど）",
    unavailable: "取得できませんでした（本人に再送を依頼済み）",
    empty: "空のファイルでした"
  };

  function size(n) {
    if (!n) return "";
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return Math.round(n / 1024) + " KB";
    return (n / 1024 / 1024).toFixed(1) + " MB";
  }

  function href(cid, m, thumb) {
    return "/api/conversations/" + Number(cid) + "/media/" + Number(m.id) + (thumb ? "/thumb" : "");
  }

  function item(cid, m) {
    var what = KIND[m.kind] || "ファイル";
    if (m.status !== "stored") {
      return el("span", "media-chip media-missing", what + "（" + (NOT_KEPT[m.status] || m.status) + "）");
    }
    var a = el("a", m.has_thumb ? "media-thumb" : "media-chip");
    a.href = href(cid, m, false);
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    var name = m.filename || what;
    if (m.has_thumb) {
      var img = el("img");
      img.src = href(cid, m, true);
      img.alt = what + "（" + name + "）";
      img.loading = "lazy";
      img.decoding = "async";
      a.appendChild(img);
      a.setAttribute("aria-label", what + "を開く: " + name);
    } else {
      a.textContent = (m.direction === "out" ? "送った書類: " : what + ": ") + name + (m.size ? "（" + size(m.size) + "）" : "");
      if (m.content_type !== "image/jpeg" && m.content_type !== "image/png") a.setAttribute("download", name);
    }
    return a;
  }

  C.on("message", function (ev) {
    var m = ev.message;
    if (!m.media || !m.media.length || !ev.node) return;
    var box = el("div", "media");
    m.media.forEach(function (x) { box.appendChild(item(C.state.convId, x)); });
    ev.node.appendChild(box);
  });

  // ── a PDF back to the resident ──────────────────────────────────────────────
  var MAX_BYTES = 10 * 1024 * 1024;

  function sendDocument() {
    var input = $("doc-file"), status = $("doc-status");
    var file = input.files && input.files[0];
    if (!file || !C.state.convId) { status.textContent = "PDFファイルを選んでください。"; return; }
    if (file.size > MAX_BYTES) { status.textContent = "10MBまでのPDFを選んでください。"; return; }
    if (file.type && file.type !== "application/pdf") { status.textContent = "送れるのはPDFだけです。"; return; }
    status.textContent = "送信中…";
    $("send-doc").disabled = true;
    fetch("/api/conversations/" + Number(C.state.convId) + "/documents", {
      method: "POST", credentials: "same-origin", body: file,
      headers: { "Content-Type": "application/pdf", "Accept": "application/json", "X-Filename": encodeURIComponent(file.name) }
    }).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (data) {
        if (!res.ok) {
          var d = data && data.detail;
          var why = res.status === 415 ? "送れるのはPDFだけです。" : res.status === 413 ? "ファイルが大きすぎます。"
            : (d && (d.error || (typeof d === "string" ? d : ""))) || ("送れませんでした (" + res.status + ")");
          throw new Error(why);
        }
        status.textContent = "「" + file.name + "」を送りました。";
        input.value = "";
        return C.loadConversation(false);
      });
    }).catch(function (err) {
      status.textContent = err && err.message ? err.message : "通信できませんでした。";
    }).then(function () { $("send-doc").disabled = false; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var button = $("send-doc");
    if (button) button.addEventListener("click", sendDocument);
  });
})();
