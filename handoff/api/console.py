"""The counsellor console: its pages at /console and its live socket at /api/console/ws.

The socket (cookie auth, like the API) always carries queue changes (hub topic `queue`) and,
for each conversation the counsellor watches, its new messages, ownership changes and
delivery states (hub topic `conversation:{id}`). With Redis configured the hub spans every
app process, so the resident may write to one process while the console listens on another.

Client → server: {"action": "watch" | "unwatch", "conversation_id": N}, {"action": "ping"}.
Server → client: {"type": "hello"}, {"type": "queue_changed"}, {"type": "watching"},
{"type": "desk", "kind": "note" | "escalated" | "presence" | "canned", …} (issue 14),
{"type": "messages", "conversation_id", "messages": [...]}, {"type": "status", ...},
{"type": "delivery", ...}, {"type": "pong"}, {"type": "error", "error"}.
Closes with 4401 when not (or no longer) logged in.
"""

from __future__ import annotations

import asyncio
import contextlib
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy import select

from casecore import access, audit, staff
from casecore.db import transaction
from casecore.models import Conversation, Counsellor, Message
from handoff.actions import media as media_actions
from handoff.api import desk
from handoff.api.cases import message_view
from handoff.api.deps import COOKIE, idle, websocket_counsellor, ws_ctx
from handoff.api.views import ConsoleStrings
from handoff.context import HandoffContext as AppContext
from handoff.hub import ALERT_TOPIC, QUEUE_TOPIC, conversation_topic, staff_topic
from handoff.pages import grouped, namespace_table, with_data_block

log = structlog.get_logger(__name__)
STATIC = Path(__file__).resolve().parent.parent / "console"
_JS = "text/javascript; charset=utf-8"
_FILES = {"console.js": _JS, "console.css": "text/css; charset=utf-8",
          # issue 14's modules, loaded after console.js (window.Console is their shared API)
          "console-alerts.js": _JS, "console-compose.js": _JS, "console-keys.js": _JS, "console-desk.js": _JS,
          "console-media.js": _JS,  # issue 16: thumbnails, file chips, a PDF back
          # issue 11: login, MFA enrolment, break-glass, accounts and audit pages
          "login.js": _JS, "access.js": _JS, "accounts.js": _JS, "access.css": "text/css; charset=utf-8"}
MAX_WATCHED = 50
RECHECK_SECONDS = 60.0  # a session that expires or is logged out loses the socket within this
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
}


router = APIRouter(tags=["console"])
router.include_router(desk.router)  # issue 14: lists, presence, notes, canned replies, preview


@cache
def _page() -> str:
    return with_data_block(STATIC / "console.html", "console-strings", grouped(namespace_table("console", "ja")))


@router.get("/console", include_in_schema=False)
async def console_page() -> HTMLResponse:
    return HTMLResponse(_page(), headers=_HEADERS)


@router.get("/console/access", include_in_schema=False)
async def access_page() -> FileResponse:
    """Issue 11: accounts (admin), break-glass records and the audit trail (lead, admin)."""
    return FileResponse(STATIC / "access.html", media_type="text/html; charset=utf-8", headers=_HEADERS)


@router.get("/api/console/strings", response_model=ConsoleStrings)
async def console_strings() -> dict[str, Any]:
    """The console's labels for codes, grouped (language, channel, category, …)."""
    return {"language": "ja", "labels": grouped(namespace_table("console", "ja"))}


def static_file(directory: Path, name: str, files: dict[str, str]) -> FileResponse:
    """One of a staff page's own files (only those named: never a path from the request),
    with the console's headers; shared by the console, the case pages and the dashboard."""
    if name not in files:
        raise HTTPException(404, "not found")
    return FileResponse(directory / name, media_type=files[name], headers=_HEADERS)


@router.get("/console/static/{name}", include_in_schema=False)
async def console_static(name: str) -> FileResponse:
    return static_file(STATIC, name, _FILES)


@router.websocket("/api/console/ws")
async def console_socket(ws: WebSocket) -> None:
    ctx = ws_ctx(ws)
    me = await websocket_counsellor(ctx, ws)
    await ws.accept()
    if me is None:
        await ws.close(code=4401, reason="login required")
        return
    # A page of another site must not ride on the counsellor's cookie (cross-site WebSocket).
    origin = ws.headers.get("origin")
    allowed_hosts = {urlsplit(ctx.settings.public_base_url).netloc}
    if origin and urlsplit(origin).netloc not in {*allowed_hosts, ws.headers.get("host", "")}:
        await ws.close(code=4403, reason="foreign origin")
        return
    await ConsoleSocket(ctx, ws, me).run()


class ConsoleSocket:
    def __init__(self, ctx: AppContext, ws: WebSocket, me: Counsellor) -> None:
        self.ctx = ctx
        self.ws = ws
        self.me = me
        self.token = ws.cookies.get(COOKIE) or ""
        self.events: asyncio.Queue[tuple[int | None, dict[str, Any]]] = asyncio.Queue(maxsize=2000)
        self.watching: dict[int, asyncio.Task[None]] = {}
        self.statuses: dict[int, str] = {}  # last status told, so only changes are pushed
        self.closed_code: int | None = None
        self.redacted: set[int] = set()  # watched before claim: status only, no messages (issue 11)

    async def run(self) -> None:
        tasks: list[asyncio.Task[Any]] = []
        try:
            queue_ready = asyncio.Event()
            tasks = [
                asyncio.create_task(self._forward(QUEUE_TOPIC, None, queue_ready)),
                asyncio.create_task(self._read()),
                asyncio.create_task(self._write()),
                asyncio.create_task(self._recheck()),
                asyncio.create_task(self._account_events()),
            ]
            await queue_ready.wait()
            await self.ws.send_json({"type": "hello", "counsellor": {"id": self.me.id, "login": self.me.login,
                                                                     "display_name": self.me.display_name}})
            await asyncio.wait(tasks[1:], return_when=asyncio.FIRST_COMPLETED)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            for t in [*tasks, *self.watching.values()]:
                t.cancel()
            for t in [*tasks, *self.watching.values()]:
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, Exception):
                    await t
            if self.closed_code is not None:
                with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                    await self.ws.close(code=self.closed_code)

    async def _forward(self, topic: str, conversation_id: int | None, ready: asyncio.Event) -> None:
        async with self.ctx.hub.subscribe(topic) as q:
            ready.set()
            while True:
                event = await q.get()
                if self.events.full():  # a stalled client loses the oldest live events, not the process
                    with contextlib.suppress(asyncio.QueueEmpty):
                        self.events.get_nowait()
                self.events.put_nowait((conversation_id, event))

    async def _read(self) -> None:
        while True:
            try:
                data = await self.ws.receive_json()
            except WebSocketDisconnect:
                return
            except ValueError:
                await self._send({"type": "error", "error": "send JSON objects"})
                continue
            if not isinstance(data, dict):
                await self._send({"type": "error", "error": "send JSON objects"})
                continue
            action = data.get("action")
            cid = data.get("conversation_id")
            if action == "ping":
                await self._send({"type": "pong"})
            elif action in ("watch", "unwatch") and isinstance(cid, int) and not isinstance(cid, bool):
                await (self._watch(cid) if action == "watch" else self._unwatch(cid))
            else:
                await self._send({"type": "error", "error": "unknown action"})

    async def _watch(self, cid: int) -> None:
        if cid in self.watching:
            await self._send({"type": "watching", "conversation_id": cid})
            return
        if len(self.watching) >= MAX_WATCHED:
            await self._send({"type": "error", "error": f"watching at most {MAX_WATCHED} conversations"})
            return
        async with transaction(self.ctx.sessions) as s:
            if not await self._still_logged_in(s):
                return
            conv = await s.get(Conversation, cid)
            basis = (await access.readable(s, self.me, conv=conv))[0] if conv is not None else None
            # Need-to-know: a waiting conversation of the counsellor's municipality may be
            # watched for its status (to claim it), its messages only once readable.
            if conv is None or (basis is None and not (
                    conv.status == "waiting" and self.me.role != "admin" and access.can_see(self.me, conv.profile_id))):
                await self._send({"type": "error", "error": "no such conversation", "conversation_id": cid})
                refused = True
            else:
                refused = False
                if basis is None:
                    self.redacted.add(cid)
                self.statuses[cid] = conv.status
                await audit.record(s, action="watch_conversation", target_type="conversation", target_id=cid,
                                   actor_type="counsellor", actor_id=self.me.id,
                                   detail={"basis": basis or "status_only"})
        if refused:
            await audit.record_now(self.ctx.sessions, action="access_refused", target_type="conversation",
                                   target_id=cid, actor_type="counsellor", actor_id=self.me.id,
                                   detail={"wanted": "watch"})
            return
        ready = asyncio.Event()
        self.watching[cid] = asyncio.create_task(self._forward(conversation_topic(cid), cid, ready))
        await ready.wait()
        await self._send({"type": "watching", "conversation_id": cid})

    async def _unwatch(self, cid: int) -> None:
        task = self.watching.pop(cid, None)
        self.statuses.pop(cid, None)
        if task:
            task.cancel()
        await self._send({"type": "unwatched", "conversation_id": cid})

    async def _still_logged_in(self, s: Any) -> bool:
        if await staff.session_counsellor(s, self.token, idle(self.ctx)) is None:
            self.closed_code = 4401
            raise WebSocketDisconnect(4401)
        return True

    async def _recheck(self) -> None:
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            async with transaction(self.ctx.sessions) as s:
                await self._still_logged_in(s)

    async def _account_events(self) -> None:
        """Logout (this session) or disable (every session) closes the socket at once; admins
        also hear of login lockouts."""
        mine = staff.hash_token(self.token)
        async with contextlib.AsyncExitStack() as stack:
            q = await stack.enter_async_context(self.ctx.hub.subscribe(staff_topic(self.me.id)))
            alerts = await stack.enter_async_context(self.ctx.hub.subscribe(ALERT_TOPIC)) if self.me.role == "admin" else None
            while True:
                waits = [asyncio.ensure_future(q.get())] + ([asyncio.ensure_future(alerts.get())] if alerts else [])
                try:
                    done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for w in waits:
                        w.cancel()
                for d in done:
                    event = d.result()
                    if event.get("type") == "session_closed" and event.get("token_hash") in (None, mine):
                        self.closed_code = 4401
                        return
                    if event.get("type") == "alert":
                        await self._send({"type": "alert", "kind": event.get("kind"), "scope": event.get("scope")})

    async def _readable_now(self, cid: int) -> bool:
        async with transaction(self.ctx.sessions) as s:
            conv = await s.get(Conversation, cid)
            ok = conv is not None and (await access.readable(s, self.me, conv=conv))[0] is not None
        if ok:
            self.redacted.discard(cid)
        return ok

    async def _write(self) -> None:
        while True:
            cid, event = await self.events.get()
            for payload in await self._payloads(cid, event):
                await self._send(payload)

    async def _send(self, payload: dict[str, Any]) -> None:
        await self.ws.send_json(payload)

    def _desk(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Issue 14's console events (codes and ids only): a note, an escalation (leads of that
        municipality), presence or canned replies changed."""
        profile = event.get("profile_id")
        if profile is not None and not access.can_see(self.me, str(profile)):
            return []
        if event.get("kind") == "escalated" and self.me.role not in ("lead", "admin"):
            return []
        keep = ("kind", "conversation_id", "counsellor_id", "status", "waited_seconds")
        return [{"type": "desk", **{k: event[k] for k in keep if k in event}}]

    async def _payloads(self, cid: int | None, event: dict[str, Any]) -> list[dict[str, Any]]:
        if cid is None:
            if event.get("type") == "risk_flagged":
                # Codes only (kinds, level); shown only to counsellors who may see that municipality.
                if not access.can_see(self.me, str(event.get("profile_id") or "")):
                    return []
                return [{"type": "risk_flagged", "conversation_id": event.get("conversation_id"),
                         "kinds": list(event.get("kinds") or []), "level": event.get("level")},
                        {"type": "queue_changed", "conversation_id": event.get("conversation_id")}]
            if event.get("type") == "desk":
                return self._desk(event)
            return [{"type": "queue_changed", "conversation_id": event.get("conversation_id")}]
        if event.get("type") == "risk_flagged":
            return []  # told once, through the queue topic
        out: list[dict[str, Any]] = []
        ids = [int(i) for i in event.get("message_ids") or []]
        if event.get("message_id"):
            ids.append(int(event["message_id"]))
        if ids and cid in self.redacted and not await self._readable_now(cid):
            ids = []  # not claimed yet: no resident text
        if ids and event.get("type") != "delivery":
            async with transaction(self.ctx.sessions) as s:
                rows = (await s.scalars(
                    select(Message).where(Message.id.in_(ids), Message.conversation_id == cid).order_by(Message.id)
                )).all()
                attached = await media_actions.by_message(s, cid) if any(m.media_type for m in rows) else {}
            views = [{**message_view(m), "media": media_actions.views(attached.get(m.id, []))}
                     for m in rows if m.text is not None or m.media_type]
            if views:
                out.append({"type": "messages", "conversation_id": cid, "messages": views})
        if event.get("type") == "delivery":
            out.append({"type": "delivery", "conversation_id": cid, "message_id": event.get("message_id"),
                        "delivery_status": event.get("delivery_status")})
        status = event.get("conversation_status")
        # Every inbound message carries the status; ownership changes (claim, transfer,
        # release, close) are pushed always, the rest only when the status differs.
        if status and (event.get("type") == "conversation_status" or self.statuses.get(cid) != status):
            self.statuses[cid] = status
            out.append({"type": "status", "conversation_id": cid, "conversation_status": status})
        return out
