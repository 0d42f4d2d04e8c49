/* Alerts, unread counts and presence (issue 14).
 *
 * - A new waiting resident rings (WebAudio: no sound file) and shows a browser notification
 *   when the counsellor allowed it; an urgent one rings louder, three times, and its
 *   notification stays until clicked. A message in one of my other conversations rings softly.
 * - Unread counts per conversation (server read markers, then counted live) and in the tab title.
 * - Per-counsellor settings (sound, volume, notifications, urgent only) are stored on the
 *   server (PUT /api/console/settings); presence (available / away) likewise.
 * Notifications carry codes only (language, channel, urgency): never a resident's words.
 * `Console.alerts.log` keeps what was signalled (for the counsellor's "test" and for tests).
 */
(function () {
  "use strict";
  var C = window.Console;
  if (!C) return;
  var $ = C.$;
  var BASE_TITLE = document.title;
  var settings = { sound: true, notify: true, urgent_only: false, volume: 0.6 };
  var presence = "away";
  var audio = null;
  var log = [];
  var readTimer = null;

  function ring(urgent) {
    if (!settings.sound) return false;
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return false;
    try {
      audio = audio || new Ctx();
      if (audio.state === "suspended" && audio.resume) audio.resume();
      var beeps = urgent ? 3 : 1;
      var gainValue = Math.max(0, Math.min(1, settings.volume)) * (urgent ? 1 : 0.45);
      for (var i = 0; i < beeps; i++) {
        var t = audio.currentTime + i * 0.28;
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.type = urgent ? "square" : "sine";
        osc.frequency.value = urgent ? 988 : 660;
        gain.gain.setValueAtTime(gainValue, t);
        gain.gain.exponentialRampToValueAtTime(0.001, t + 0.22);
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(t); osc.stop(t + 0.24);
      }
      return true;
    } catch (e) { return false; }
  }

  function notify(title, body, id, urgent) {
    if (!settings.notify || !("Notification" in window) || window.Notification.permission !== "granted") return false;
    try {
      var n = new window.Notification(title, { body: body, tag: "madoguchi-" + id, requireInteraction: !!urgent });
      n.onclick = function () { window.focus(); location.hash = "#c/" + id; if (n.close) n.close(); };
      return true;
    } catch (e) { return false; }
  }

  // kind: "waiting" | "message" | "escalated" | "test"
  function signal(kind, item, urgent) {
    if (settings.urgent_only && !urgent) return;
    if (presence === "away" && !urgent && kind !== "test") return;  // away: only urgent ones
    var what = describe(item);
    var title = kind === "message" ? "新しいメッセージ" : kind === "escalated" ? "緊急の相談が目安を過ぎています" :
      urgent ? "緊急の相談が届きました" : "新しい相談が届きました";
    var entry = { kind: kind, id: item && item.id, urgent: !!urgent, sound: ring(urgent),
      notification: notify(title, what, item && item.id, urgent) };
    log.push(entry);
    $("app").setAttribute("data-last-alert", (urgent ? "urgent-" : "") + kind);
    $("app").setAttribute("data-alerts", String(log.length));
  }

  function describe(item) {
    if (!item) return "";
    var parts = [C.label("language", item.language), C.label("channel", item.channel)];
    if (item.urgency_reasons && item.urgency_reasons.length) {
      parts.push(item.urgency_reasons.map(function (r) { return C.label("urgency", r); }).join("、"));
    }
    return "相談 #" + item.id + "(" + parts.join("・") + ")";
  }

  function unreadMap() {
    var q = C.state.queue;
    if (!q) return {};
    q.unread = q.unread || {};
    return q.unread;
  }

  function updateTitle() {
    var q = C.state.queue;
    if (!q) { document.title = BASE_TITLE; return; }
    var u = unreadMap(), mineUnread = 0;
    q.mine.forEach(function (i) { mineUnread += u[String(i.id)] || 0; });
    var prefix = (mineUnread ? "(" + mineUnread + ") " : "") + (q.waiting.length ? "待ち" + q.waiting.length + " | " : "");
    document.title = prefix + BASE_TITLE;
  }

  function markRead(id) {
    clearTimeout(readTimer);
    readTimer = setTimeout(function () {
      var ids = Object.keys(C.state.messages).map(Number);
      var last = ids.length ? Math.max.apply(null, ids) : null;
      C.api("POST", "/api/conversations/" + id + "/read", last ? { last_message_id: last } : {}).catch(function () {});
    }, 150);
    var u = unreadMap();
    if (u[String(id)]) { delete u[String(id)]; C.renderQueue(); }
    updateTitle();
  }

  function findItem(id) {
    var q = C.state.queue;
    if (!q) return null;
    var all = [].concat(q.waiting, q.mine, q.team || [], q.held, q.resting || [], q.closed || []);
    for (var i = 0; i < all.length; i++) if (all[i].id === id) return all[i];
    return null;
  }

  C.on("queue", function (x) {
    var now = x.now, before = x.before;
    presence = now.presence.status;
    settings = now.presence.settings;
    $("presence").value = presence;
    // watch my conversations, so a message in one I am not looking at counts and rings
    now.mine.forEach(function (i) { C.watch(i.id); });
    if (before && !x.first) {
      var old = {};
      before.waiting.forEach(function (i) { old[i.id] = i; });
      now.waiting.forEach(function (i) {
        var was = old[i.id];
        if (!was) signal("waiting", i, i.urgent);
        else if (i.urgent && !was.urgent) signal("waiting", i, true);
      });
    }
    if (C.state.convId && document.hasFocus()) {
      var u = unreadMap();
      if (u[String(C.state.convId)]) markRead(C.state.convId);
    }
    updateTitle();
  });

  C.on("conversation", function (data) { markRead(data.conversation.id); });

  C.on("event", function (e) {
    if (e.type !== "messages") return;
    var fromResident = e.messages.filter(function (m) { return m.direction === "in"; }).length;
    if (!fromResident) return;
    if (e.conversation_id === C.state.convId && document.hasFocus()) { markRead(e.conversation_id); return; }
    var u = unreadMap();
    u[String(e.conversation_id)] = (u[String(e.conversation_id)] || 0) + fromResident;
    C.renderQueue();
    updateTitle();
    var item = findItem(e.conversation_id);
    signal("message", item || { id: e.conversation_id }, !!(item && item.urgent));
  });

  window.addEventListener("focus", function () { if (C.state.convId) markRead(C.state.convId); });

  // ── presence and the settings dialog ──────────────────────────────────────
  function setPresence() {
    var v = $("presence").value;
    C.api("PUT", "/api/console/presence", { status: v }).then(function (p) {
      presence = p.status;
      $("live").setAttribute("data-presence", presence);
    }).catch(function (err) { $("action-error").textContent = C.explain(err); });
  }

  function permissionText() {
    if (!("Notification" in window)) return "このブラウザは通知に対応していません。";
    var p = window.Notification.permission;
    return p === "granted" ? "ブラウザの通知は許可されています。" :
      p === "denied" ? "ブラウザの通知がブロックされています(ブラウザの設定で許可してください)。" :
        "「ブラウザの通知を出す」を選ぶと、許可を求めます。";
  }

  function openSettings() {
    $("set-sound").checked = !!settings.sound;
    $("set-notify").checked = !!settings.notify;
    $("set-urgent-only").checked = !!settings.urgent_only;
    $("set-volume").value = String(settings.volume);
    $("notify-permission").textContent = permissionText();
    $("settings").showModal();
    $("set-sound").focus();
  }

  function askPermission() {
    if (!$("set-notify").checked || !("Notification" in window) || window.Notification.permission !== "default") return;
    var done = function () { $("notify-permission").textContent = permissionText(); };
    var p = window.Notification.requestPermission(done);
    if (p && p.then) p.then(done);
  }

  function saveSettings() {
    var body = { sound: $("set-sound").checked, notify: $("set-notify").checked,
      urgent_only: $("set-urgent-only").checked, volume: Number($("set-volume").value) };
    settings = body;
    C.api("PUT", "/api/console/settings", body).then(function (r) { settings = r.settings; }).catch(function () {});
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("presence").addEventListener("change", setPresence);
    $("open-settings").addEventListener("click", openSettings);
    $("set-notify").addEventListener("change", askPermission);
    $("set-test").addEventListener("click", function () {
      settings = { sound: $("set-sound").checked, notify: $("set-notify").checked, urgent_only: false,
        volume: Number($("set-volume").value) };
      signal("test", { id: 0, language: "ja", channel: "webchat" }, true);
    });
    $("settings").addEventListener("close", saveSettings);
  });

  C.alerts = { log: log, signal: signal, ring: ring, updateTitle: updateTitle, markRead: markRead };
})();
