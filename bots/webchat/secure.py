"""The secure-details page (issue 16): a LINE or Telegram resident answers the sensitive steps
on the operator's own web chat page, opened from a one-time link (handoff.secure_links).

`GET /secure/<link>` serves the web chat page in its secure mode (404 for a forged link, 410
for a used or expired one); the page spends the link with `POST /api/webchat/secure/open`,
which answers a bearer token for this page only, and posts answers to
`/api/webchat/secure/sessions/<id>/messages`. Each answer is processed by the router as a
message of the conversation's own channel (the same lock, screen, dialog and encrypted
storage), answered here and never sent to the chat (handoff.actions.secure)."""

from __future__ import annotations

import uuid
from html import escape
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from bots.webchat.api import (
    INT64_MAX,
    SECURITY_HEADERS,
    PostMessage,
    _bearer,
    _client_ip,
    _limit_ip,
    _limited,
    _page_for,
    refusal,
)
from dialogs.types import OutboundMessage
from handoff import secure_links
from handoff.actions import secure
from handoff.api.deps import Ctx
from handoff.events import InboundEvent
from i18n.risk import screen

router = APIRouter(tags=["webchat"])
PAGE_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-store"}


class OpenBody(BaseModel):
    link: str = Field(min_length=10, max_length=300)


def _plain_page(language: str, channel: str, key: str, status: int) -> HTMLResponse:
    """A short page of its own (no script): the link is forged (404) or spent (410)."""
    lang = "ja" if language.startswith("ja") else language
    title = escape(secure.words(language, "page_title", channel))
    body = escape(secure.words(language, key, channel))
    return HTMLResponse(
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">'
        f'<title>{title}</title><link rel="stylesheet" href="/chat/static/survey.css"></head>'
        f'<body><main><h1>{title}</h1><p class="intro" id="secure-message">{body}</p></main></body></html>',
        status_code=status, headers=PAGE_HEADERS)


def _gone(language: str, channel: str) -> Any:
    return refusal(410, "secure_gone", secure.words(language, "link_used", channel))


def _messages(messages: list[OutboundMessage]) -> list[dict[str, Any]]:
    return [m.to_json() for m in messages]


@router.get("/secure/{token}", include_in_schema=False)
async def secure_page(ctx: Ctx, token: str = PathParam(max_length=300)) -> HTMLResponse:
    secret = ctx.settings.resolved_secret_key()
    try:
        claims = secure_links.verify(secret, token)
    except secure_links.LinkExpired as exc:
        language = await secure.expire_link(ctx, exc.claims)
        if language is None:
            return _plain_page("ja", "line", "not_found", 404)
        return _plain_page(language, "line", "link_used", 410)
    except secure_links.LinkError:
        return _plain_page("ja", "line", "not_found", 404)
    conv = await secure.page_link_state(ctx, claims)
    if conv is None:
        return _plain_page("ja", "line", "not_found", 404)
    language, channel, unused = conv
    if not unused:
        return _plain_page(language, channel, "link_used", 410)
    html = _page_for(ctx).replace('data-profile=""', 'data-profile="" data-secure="on"', 1)
    return HTMLResponse(html, headers=PAGE_HEADERS)


@router.post("/api/webchat/secure/open", status_code=201)
async def open_secure(request: Request, body: OpenBody, ctx: Ctx) -> dict[str, Any]:
    """Spend a link (once): answers the page's session id and bearer token, a note on where
    the answers go, and the question the conversation is at."""
    await _limited(ctx, "sessions_per_ip", _limit_ip(_client_ip(request)), None)
    secret = ctx.settings.resolved_secret_key()
    try:
        claims = secure_links.verify(secret, body.link)
    except secure_links.LinkExpired as exc:
        language = await secure.expire_link(ctx, exc.claims)
        raise _gone(language or "ja", "line") from None
    except secure_links.LinkError:
        raise refusal(404, "not_found", secure.words("ja", "not_found", "line")) from None
    try:
        opened = await secure.open_page(ctx, ctx.router, claims)
    except LookupError:
        raise refusal(404, "not_found", secure.words("ja", "not_found", "line")) from None
    except secure.PageGone as gone:
        raise _gone(gone.language, gone.channel) from None
    intro = OutboundMessage(text=secure.words(opened.language, "page_intro", opened.channel), kind="notice")
    return {
        "session_id": opened.conversation_id, "token": opened.token, "language": opened.language,
        "max_message_chars": ctx.settings.max_message_chars, "messages": _messages([intro, *opened.prompt]),
        "conversation_status": opened.status, "state": opened.state, "case_id": None, "case_number": None,
        "secure": True, "secure_done": False,
    }


@router.post("/api/webchat/secure/sessions/{session_id}/messages")
async def post_secure(request: Request, body: PostMessage, ctx: Ctx, session_id: int = PathParam(ge=1, le=INT64_MAX),
                      token: str = Depends(_bearer)) -> dict[str, Any]:
    try:
        conv = await secure.page_conversation(ctx, session_id, token)
    except LookupError:
        raise refusal(404, "not_found", secure.words("ja", "not_found", "line")) from None
    except secure.PageGone as gone:
        raise _gone(gone.language, gone.channel) from None
    # A crisis always gets through the flood limits, as in the web chat.
    if not (body.text and screen(body.text, language=conv.language).kinds):
        await _limited(ctx, "messages_per_session", f"secure:{session_id}", conv.language)
        await _limited(ctx, "messages_per_ip", _limit_ip(_client_ip(request)), conv.language)
    result = await ctx.router.process(InboundEvent(
        channel=conv.channel, channel_event_id=f"secure:{session_id}:{body.client_message_id or uuid.uuid4().hex}",
        external_user_id=conv.contact_point.external_id, profile_id=conv.profile_id,
        text=body.text, choice=body.choice, reply_context={"via": secure.VIA},
    ))
    page = result.page_messages if result.page_messages is not None else result.messages
    return {
        "language": await secure.language_of(ctx, session_id), "max_message_chars": ctx.settings.max_message_chars,
        "messages": _messages(page), "conversation_status": result.conversation_status if not result.secure_done else "bot",
        "state": result.state, "case_id": None, "case_number": None, "secure": True,
        "secure_done": result.secure_done,
    }
