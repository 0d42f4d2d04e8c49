"""Web chat JSON API and WebSocket (the contract in DESIGN.md) and the widget page at /chat."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import (
    APIRouter,
    Depends,
    Header,
    HTTPException,
    Query,
    Request,
    Response,
    WebSocket,
    WebSocketDisconnect,
)
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import select

from casecore.db import transaction
from casecore.models import ContactPoint, Conversation, Message
from casecore.types import utcnow
from dialogs.profile import Contact
from handoff import blocks
from handoff.actions import conversation as conversation_actions
from handoff.actions import survey as survey_actions
from handoff.api.deps import Ctx, ws_ctx
from handoff.context import HandoffContext as AppContext
from handoff.events import MAX_TEXT_CHARS, InboundEvent
from handoff.hub import conversation_topic
from handoff.offload import run_pure
from handoff.pages import all_languages, json_block, namespace_table, with_data_block
from handoff.ratelimit import limiter, rule
from handoff.router import ProcessResult
from handoff.security_texts import all_texts, security_text
from i18n.catalog import available_languages, catalog
from i18n.formats import list_separators
from i18n.risk import screen

STATIC = Path(__file__).parent / "static"
STATIC_FILES = {"chat.js": "text/javascript; charset=utf-8", "chat.css": "text/css; charset=utf-8",
                "survey.css": "text/css; charset=utf-8"}
# The page runs under a strict policy: its own scripts and styles only, no framing, no referrer.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


INT64_MAX = 2**63 - 1
# C0 controls but tab, newline and carriage return, and DEL: nothing a resident means to write,
# and PostgreSQL refuses NUL outright.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _strip_controls(value: str | None) -> str | None:
    return None if value is None else _CONTROL.sub("", value)


def refusal(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> HTTPException:
    """Every refusal in one shape: {"detail": {"code", "message"}} (FastAPI's `detail`)."""
    return HTTPException(status, {"code": code, "message": message}, headers=headers)


class NewSession(BaseModel):
    language: str | None = Field(default=None, max_length=35)
    profile: str | None = Field(default=None, max_length=64)

    _clean = field_validator("language", "profile")(_strip_controls)


class PostMessage(BaseModel):
    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    choice: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_.\-\u3000-\u9fff]+$")
    client_message_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")

    _clean = field_validator("text")(_strip_controls)

    @model_validator(mode="after")
    def _one_of(self) -> PostMessage:
        if (self.text is None or not self.text.strip()) and self.choice is None:
            raise ValueError("send either a non-empty text or a choice")
        return self


def _reply(result: ProcessResult, language: str | None, max_chars: int) -> dict[str, Any]:
    return {
        "language": language,
        "max_message_chars": max_chars,
        "messages": [m.to_json() for m in result.messages],
        "conversation_status": result.conversation_status,
        "state": result.state,
        "case_id": result.case_id,
        "case_number": result.case_number,
    }


def _browser_language(value: str | None) -> str | None:
    """Map a browser language tag (vi-VN, zh-TW, pt-BR …) to a catalog language."""
    if not value:
        return None
    tag = value.split(",")[0].strip()
    langs = available_languages()
    low = tag.lower()
    if low.startswith("zh"):
        cand = "zh-Hant" if any(x in low for x in ("tw", "hk", "hant", "mo")) else "zh-Hans"
        return cand if cand in langs else None
    if low.startswith("pt"):
        return "pt-BR" if "pt-BR" in langs else None
    if low.startswith("fil"):
        low = "tl"
    base = low.split("-")[0]
    return base if base in langs else None


def _with_withdraw(table: dict[str, str], language: str) -> dict[str, str]:
    """The toolbar's withdraw control (issue 12) takes its words from the `consent` catalog."""
    words = catalog(language, "consent").text("control")
    return {**table, "cmd_withdraw": words, "say_withdraw": words}


def _page(ctx: AppContext) -> str:
    """chat.html with the quick-exit target and its words in every language, as a JSON data
    block (not a script: the page's CSP allows only its own files to run)."""
    data = {"exit_url": ctx.settings.quick_exit_url, "texts": all_texts()}
    blob = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    # The page's own words (the `page` catalog, every language) ride in another data block.
    html = with_data_block(STATIC / "chat.html", "page-strings",
                           {lang: _with_withdraw(table, lang) for lang, table in all_languages("page").items()})
    # ...and so do the server's message limit (the page warns before anything is cut) and how
    # each language joins chosen items in the resident's bubble.
    config = {"max_message_chars": ctx.settings.max_message_chars, "max_upload_bytes": ctx.settings.media_max_file_bytes,
              "list_separators": list_separators(available_languages())}
    html = html.replace('<script type="application/json" id="page-config"></script>',
                        f'<script type="application/json" id="page-config">{json_block(config)}</script>')
    return html.replace("</body>", f'<script type="application/json" id="madoguchi-safety">{blob}</script>\n</body>', 1)


def _client_ip(request: Request | WebSocket) -> str | None:
    return request.client.host if request.client else None


def _limit_ip(ip: str | None) -> str | None:
    """The IP for per-IP limits; None (no limit) for loopback, where behind a local proxy
    every resident would share one address."""
    try:
        return None if ip is None or ipaddress.ip_address(ip).is_loopback else ip
    except ValueError:
        return ip


def webchat_router(ctx: AppContext) -> APIRouter:
    """The web chat's routes (one module-level router; handlers read the context from
    `request.app.state.ctx`)."""
    return router


router = APIRouter(tags=["webchat"])


def _page_for(ctx: AppContext) -> str:
    """Built once per app (it holds the app's quick-exit URL)."""
    page = ctx.extras.get("webchat_page")
    if page is None:
        page = ctx.extras["webchat_page"] = _page(ctx)
    return page


def _ended(language: str | None) -> HTTPException:
    return refusal(404, "session_ended", security_text("session_ended", language))


@dataclass(frozen=True, slots=True)
class Session:
    """What the web chat's calls need of a session's conversation, read in one Core statement
    (the ORM object with its joined contact point, its identity map and a transaction cost
    more per message than the read itself)."""

    id: int
    status: str
    language: str | None
    profile_id: str
    case_id: int | None
    dialog_node: str | None
    external_id: str


_SESSION = (
    select(Conversation.id, Conversation.channel, Conversation.access_token_hash, Conversation.status,
           Conversation.language, Conversation.profile_id, Conversation.case_id, Conversation.dialog_node,
           Conversation.created_at, Conversation.last_inbound_at, Conversation.updated_at, ContactPoint.external_id)
    .join(ContactPoint, ContactPoint.id == Conversation.contact_point_id)
)


def _expired(ctx: AppContext, *times: datetime | None) -> bool:
    last = max(t for t in times if t is not None)
    return utcnow() - last > timedelta(hours=ctx.settings.webchat_idle_hours)


async def _session_conv(ctx: AppContext, session_id: int, token: str, language: str | None = None, *,
                        allow_closed: bool = False) -> Session:
    """The session behind a token. A closed chat's token stops working for reads at once
    (a shared phone must not show it again), and any token after the idle time."""
    async with ctx.engine.connect() as c:
        row = (await c.execute(_SESSION.where(Conversation.id == session_id))).first()
    if row is None or row.channel != "webchat" or not row.access_token_hash or not secrets.compare_digest(row.access_token_hash, _hash(token)):
        raise _ended(language)
    if (row.status == "closed" and not allow_closed) or _expired(ctx, row.created_at, row.last_inbound_at, row.updated_at):
        raise _ended(row.language)
    return Session(id=row.id, status=row.status, language=row.language, profile_id=row.profile_id,
                   case_id=row.case_id, dialog_node=row.dialog_node, external_id=row.external_id)


async def _bearer(authorization: str | None = Header(default=None)) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise refusal(401, "unauthorized", "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    return authorization[7:].strip()


async def _flagged(text: str | None, language: str | None) -> bool:
    """Whether the risk screen flags this text (on the step thread: its learned layer held the
    event loop, and so every other resident's message, for tens of milliseconds)."""
    return bool(text) and bool((await run_pure(screen, text, language=language)).kinds)


async def _within_limits_or_flagged(ctx: AppContext, request: Request, conv: Session, text: str | None) -> None:
    """The flood limits of a message. A crisis always gets through: text the risk screen flags
    passes a limit that would refuse it (never silently dropped either way: a limited message
    is answered 429 and the page sends it again). The screen runs only when a limit refuses:
    the dialog step screens every message anyway, and screening each one twice (once on the
    event loop) was the web chat's largest cost under load."""
    for name, identity in (("messages_per_session", str(conv.id)), ("messages_per_ip", _limit_ip(_client_ip(request)))):
        try:
            await _limited(ctx, name, identity, conv.language)
        except HTTPException as refused:
            if refused.status_code != 429 or not await _flagged(text, conv.language):
                raise
            return


async def _limited(ctx: AppContext, name: str, identity: str | None, language: str | None) -> None:
    verdict = await limiter(ctx).hit(rule(ctx, name), identity or "")
    if not verdict.allowed:
        raise refusal(429, "rate_limited", security_text("rate_limited", language, seconds=verdict.retry_after),
                      headers={"Retry-After": str(verdict.retry_after)})


@router.get("/chat", include_in_schema=False)
async def chat_page(ctx: Ctx) -> HTMLResponse:
    return HTMLResponse(_page_for(ctx), headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})

@router.get("/api/webchat/strings")
async def page_strings(lang: str | None = Query(default=None, max_length=35)) -> dict[str, Any]:
    """The web chat page's own words (buttons, notices, errors) in a language, each
    missing one filled from the fallback language; `{n}`-style placeholders are left
    for the page."""
    language = catalog(lang).language
    return {"language": language, "strings": _with_withdraw(namespace_table("page", language), language)}

@router.get("/chat/static/{name}", include_in_schema=False)
async def chat_static(name: str) -> FileResponse:
    if name not in STATIC_FILES:
        raise HTTPException(404, "not found")
    return FileResponse(STATIC / name, media_type=STATIC_FILES[name], headers=SECURITY_HEADERS)

@router.post("/api/webchat/sessions", status_code=201)
async def create_session(request: Request, response: Response, ctx: Ctx, body: NewSession | None = None) -> dict[str, Any]:
    """Start a chat. Answers the session id, a bearer token for the other calls, and the
    bot's first messages. Sets an HttpOnly device cookie so that a lead's block also
    covers the next session from this browser."""
    body = body or NewSession()
    hint = _browser_language(body.language) or _browser_language(request.headers.get("accept-language"))
    profile_id = body.profile or ctx.profiles.default_id
    if profile_id not in ctx.profiles:
        raise refusal(422, "unknown_profile", "unknown profile")
    ip = _client_ip(request)
    device = blocks.read_device_cookie(ctx.settings.resolved_secret_key(), request.cookies.get(blocks.DEVICE_COOKIE))
    cookie = None
    if device is None:
        device, cookie = blocks.new_device_cookie(ctx.settings.resolved_secret_key())
    await _limited(ctx, "sessions_per_ip", _limit_ip(ip), hint)
    await _limited(ctx, "sessions_per_device", device, hint)
    async with transaction(ctx.sessions) as s:
        if await blocks.is_blocked(s, device, ip):
            raise refusal(403, "blocked", security_text("blocked", hint))
    visitor = uuid.uuid4().hex  # the web chat has no account: each session is a contact point
    token = secrets.token_urlsafe(32)
    result = await ctx.router.process(InboundEvent(
        channel="webchat", channel_event_id=f"start:{visitor}", external_user_id=visitor,
        # "message" with no text: the intake starts without LINE's "thanks for adding us".
        profile_id=profile_id, kind="message", language_hint=hint,
    ))
    assert result.conversation_id is not None
    language = await conversation_actions.start_webchat_session(ctx, result.conversation_id, _hash(token), device, ip)
    if cookie is not None:
        response.set_cookie(
            blocks.DEVICE_COOKIE, cookie, httponly=True, samesite="strict", secure=ctx.settings.cookie_secure,
            max_age=int(ctx.settings.block_hours * 3600) + 86400, path="/api/webchat",
        )
    return {"session_id": result.conversation_id, "token": token, **_reply(result, language, ctx.settings.max_message_chars)}

@router.post("/api/webchat/sessions/{session_id}/messages")
async def post_message(request: Request, body: PostMessage, ctx: Ctx, session_id: int = PathParam(ge=1, le=INT64_MAX),
                       token: str = Depends(_bearer)) -> dict[str, Any]:
    conv = await _session_conv(ctx, session_id, token, allow_closed=True)
    if conv.status == "closed":
        if await _flagged(body.text, conv.language):
            return await _crisis_after_close(request, ctx, conv, body, token)
        return await _survey_after_close(ctx, conv, body)
    await _within_limits_or_flagged(ctx, request, conv, body.text)
    event_id = f"{session_id}:{body.client_message_id or uuid.uuid4().hex}"
    result = await ctx.router.process(InboundEvent(
        channel="webchat", channel_event_id=event_id, external_user_id=conv.external_id,
        profile_id=conv.profile_id, text=body.text, choice=body.choice,
    ))
    # The step may have changed the language (the resident chose one): read it after, on a
    # plain connection (no ORM session or transaction for one column).
    async with ctx.engine.connect() as c:
        language = await c.scalar(select(Conversation.language).where(Conversation.id == session_id))
    return _reply(result, language, ctx.settings.max_message_chars)

async def _survey_after_close(ctx: AppContext, conv: Session, body: PostMessage) -> dict[str, Any]:
    """After the chat ended only the survey's answers are taken (the page keeps its buttons);
    anything else is refused as closed and the page gives the text back."""
    await _limited(ctx, "messages_per_session", str(conv.id), conv.language)
    took = await survey_actions.answer_webchat(
        ctx, conv.id, choice=body.choice, text=body.text, max_comment=ctx.settings.max_message_chars,
        event_id=f"{conv.id}:{body.client_message_id}" if body.client_message_id else None)
    if took is None:
        raise refusal(409, "closed", security_text("session_ended", conv.language))
    return {"language": conv.language, "max_message_chars": ctx.settings.max_message_chars,
            "messages": [m.to_json() for m in took.messages], "conversation_status": "closed",
            "state": took.state, "case_id": conv.case_id, "case_number": None}


async def _crisis_after_close(request: Request, ctx: AppContext, conv: Session, body: PostMessage,
                              token: str) -> dict[str, Any]:
    """A crisis written into a chat that has ended is never refused: it opens a new
    conversation for the same resident (urgent, in the queue, the emergency lines answered),
    the session's token moves to it, and the answer names the new `session_id`."""
    event_id = f"{conv.id}:{body.client_message_id or uuid.uuid4().hex}"
    result = await ctx.router.process(InboundEvent(
        channel="webchat", channel_event_id=event_id, external_user_id=conv.external_id,
        profile_id=conv.profile_id, text=body.text, language_hint=conv.language,
    ))
    if result.conversation_id is None:  # a blocked resident: the refusal stands
        raise refusal(409, "closed", security_text("session_ended", conv.language))
    device = blocks.read_device_cookie(ctx.settings.resolved_secret_key(), request.cookies.get(blocks.DEVICE_COOKIE))
    language = await conversation_actions.start_webchat_session(
        ctx, result.conversation_id, _hash(token), device or "", _client_ip(request))
    return {"session_id": result.conversation_id, **_reply(result, language, ctx.settings.max_message_chars)}


@router.get("/api/webchat/sessions/{session_id}/messages")
async def list_messages(ctx: Ctx, session_id: int = PathParam(ge=1, le=INT64_MAX), token: str = Depends(_bearer),
                        after: int = Query(default=0, ge=0, le=INT64_MAX)) -> dict[str, Any]:
    conv = await _session_conv(ctx, session_id, token)
    async with transaction(ctx.sessions) as s:
        rows = (await s.scalars(
            select(Message).where(Message.conversation_id == session_id, Message.id > after).order_by(Message.id)
        )).all()
        lines = ctx.profiles.get(conv.profile_id).all_contacts() if conv.profile_id in ctx.profiles else []
        return {
            "messages": [_resident_view(m, lines) for m in rows if m.text is not None or m.media_type or m.choice_id],
            "conversation_status": conv.status,
            "state": conv.dialog_node or None,
            "case_id": conv.case_id,
            "language": conv.language,
            "max_message_chars": ctx.settings.max_message_chars,
        }

@router.websocket("/api/webchat/sessions/{session_id}/ws")
async def socket(ws: WebSocket, session_id: int) -> None:
    """Authenticates with its first frame, `{"type": "auth", "token": …}`, within a few
    seconds (never a token in the URL, which access logs and history keep); answers
    `{"type": "ready"}` once subscribed; closes 4401 otherwise, 4410 when the chat ends."""
    ctx = ws_ctx(ws)
    await ws.accept()
    try:
        first = await asyncio.wait_for(ws.receive_json(), ctx.settings.webchat_ws_auth_seconds)
        token = first.get("token") if isinstance(first, dict) and first.get("type") == "auth" else None
        if not isinstance(token, str) or not 0 < session_id <= INT64_MAX:
            raise ValueError("no auth frame")
        await _session_conv(ctx, session_id, token)
    except (TimeoutError, ValueError, HTTPException, WebSocketDisconnect, RuntimeError, json.JSONDecodeError):
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await ws.close(code=4401)
        return
    async with ctx.hub.subscribe(conversation_topic(session_id)) as q:
        reader = asyncio.create_task(_drain_client(ws))
        try:
            await ws.send_json({"type": "ready"})
            while not reader.done():
                getter = asyncio.create_task(q.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                event = getter.result()
                for payload in await _resident_payloads(ctx, session_id, event):
                    await ws.send_json(payload)
                if event.get("conversation_status") == "closed":
                    await ws.close(code=4410)  # the token stops working: nothing more to push
                    break
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await reader


async def _drain_client(ws: WebSocket) -> None:
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await ws.receive_text()  # pings; the socket only pushes


def _resident_view(m: Message, lines: list[Contact] | None = None) -> dict[str, Any]:
    """What the resident may see of a transcript row: never private notes or translations
    meant for staff; counsellor messages in the resident's language. An emergency message
    read back carries its lines again (`contacts`), so the page can make them call links."""
    text = m.text
    if m.sender == "counsellor" and m.translation:
        text = m.translation
    contacts = []
    if lines and text and m.kind == "emergency" and m.direction == "out":
        contacts = [{"label": c.label_for(m.language or "ja"), "number": c.phone, "uri": c.tel_uri}
                    for c in lines if c.phone and c.tel_uri and c.phone in text]
    return {
        "contacts": contacts,
        "id": m.id, "direction": m.direction, "sender": m.sender, "text": text, "choice": m.choice_id,
        "choices": m.choices or [], "multi": m.multi, "kind": m.kind,
        # Canned replies are written per language, so only real MT output gets the marker.
        "machine_translated": m.sender == "counsellor" and m.translation_status == "translated",
        "created_at": m.created_at.isoformat(),
    }


async def _resident_payloads(ctx: AppContext, session_id: int, event: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if event.get("type") in ("counsellor_message", "system_message") and event.get("message_id"):
        async with transaction(ctx.sessions) as s:
            m = await s.get(Message, int(event["message_id"]))
            if m is not None and m.conversation_id == session_id:
                out.append({"type": "message", "message": _resident_view(m)})
    if event.get("type") == "typing" and event.get("sender") == "counsellor":
        out.append({"type": "typing"})  # who is typing is not said: only that someone is
    if event.get("conversation_status"):
        out.append({"type": "status", "conversation_status": event["conversation_status"]})
    return out
