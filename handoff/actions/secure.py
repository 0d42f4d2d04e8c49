"""Sensitive details off LINE and Telegram (issue 16): the steps a flow marks `secure` (name,
contact, the problem in detail) can be answered on the operator's own web chat page.

- Entering a run of secure steps from the chat, the resident gets a one-time link
  (handoff.secure_links) beside the question (`offer`) or before it (`default`); typing the
  answer in the chat still works unless the profile's `in_chat` is false.
- On the page (bots/webchat/secure.py) every answer is an InboundEvent of the conversation's own
  channel, marked `reply_context["via"] = "secure_page"`: the same lock, dedupe, risk screen,
  dialog and encrypted storage as any message, but its replies go back to the page only; the
  chat receives nothing of it. The dialog remembers those answers (`DialogState.secured`) and
  its summary never repeats them into the chat.
- When the run is over (or the conversation leaves the bot: a crisis, "talk to a person") the
  page says "go back to LINE" and the chat is pushed the next question.
- An answer typed in the chat while the page is open closes the page; a page whose time ran out
  tells the chat, which simply asks on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import audit
from casecore.models import ContactPoint, Conversation, Message
from dialogs.flow import load_flow
from dialogs.profile import Profile
from dialogs.state import DialogState
from dialogs.types import Choice, LinkButton, OutboundMessage
from handoff import secure_links
from handoff.actions.base import _Hosts, atomic
from handoff.delivery import DeliveryTarget
from handoff.events import InboundEvent
from i18n.catalog import catalog

if TYPE_CHECKING:
    from handoff.router import Router

VIA = "secure_page"
CHANNELS = ("line", "telegram")
APP_NAMES = {"line": "LINE", "telegram": "Telegram"}


def via_page(event: InboundEvent) -> bool:
    return event.reply_context.get("via") == VIA


def words(language: str | None, key: str, channel: str, **params: Any) -> str:
    return catalog(language, "secure").text(key, app=APP_NAMES.get(channel, "LINE"), **params)


@dataclass
class Routed:
    """What one dialog step says, and where: `messages` are stored (the transcript) and sent to
    the chat unless `silent`; `page` is what the page shows (None: not from the page)."""

    messages: list[OutboundMessage]
    page: list[OutboundMessage] | None = None
    silent: bool = False
    done: bool = False
    links: dict[int, str] = field(default_factory=dict)


def _is_secure(profile: Profile, state: DialogState, node: str | None) -> bool:
    if not node:
        return False
    flow = load_flow(state.flow or profile.flow)
    n = flow.nodes.get(node)
    return bool(n and n.secure)


def _applies(router: Router, event: InboundEvent, profile: Profile) -> bool:
    return (event.channel in CHANNELS and profile.secure_details.mode != "off"
            and getattr(router, "secure_links", None) is not None)


def refuses_in_chat(router: Router, event: InboundEvent, profile: Profile, state: DialogState) -> bool:
    """A profile that keeps the secure steps off the chat altogether (`in_chat: false`): a
    typed answer there is not taken (nor kept); the resident gets a fresh link."""
    return (_applies(router, event, profile) and not via_page(event) and not profile.secure_details.in_chat
            and event.kind == "message" and bool(event.text) and _is_secure(profile, state, state.node))


def offer(router: Router, conv: Conversation, contact: ContactPoint, profile: Profile, state: DialogState,
          channel: str, key: str) -> OutboundMessage:
    """A new one-time link (any earlier one stops working) in a message with its button."""
    links = router.secure_links  # type: ignore[attr-defined]
    minutes = profile.secure_details.link_minutes
    token, nonce = secure_links.issue(links.secret, conv.id, contact.id, minutes=minutes)
    conv.access_token_hash = secure_links.pending_hash(nonce)
    state.secure_page = "offered"
    lang = state.language or conv.language
    return OutboundMessage(text=words(lang, key, channel, minutes=minutes), kind="notice",
                           link=LinkButton(label=words(lang, "button", channel),
                                           uri=secure_links.url(links.base_url, token)))


def route_step(router: Router, conv: Conversation, contact: ContactPoint, profile: Profile, event: InboundEvent,
               before: DialogState, after: DialogState, messages: list[OutboundMessage]) -> Routed:
    """Where a step's messages go (called inside the inbound transaction, before the state is
    written back; may issue a link, or end the page)."""
    if not _applies(router, event, profile):
        return Routed(messages)
    lang = after.language or conv.language
    secure_now = _is_secure(profile, after, after.node) and conv.status == "bot" and not after.finished
    if via_page(event):
        if secure_now:
            return Routed(messages, page=messages, silent=True)
        # The run is over (or a person takes it from here): the page sends the resident back,
        # the chat gets the next question. A crisis's lines show on the page too.
        after.secure_page = None
        conv.access_token_hash = None
        urgent = [m for m in messages if m.kind == "emergency" or m.contacts]
        out = [OutboundMessage(text=words(lang, "done_chat", event.channel), kind="notice"), *messages]
        return Routed(out, page=[*urgent, OutboundMessage(text=words(lang, "done", event.channel), kind="notice")],
                      done=True)
    was_secure = _is_secure(profile, before, before.node)
    if before.secure_page == "open" and conv.access_token_hash:
        # Answered in the chat while the page was open: the choice is the resident's; the page stops.
        conv.access_token_hash = None
        after.secure_page = None
        messages = [OutboundMessage(text=words(lang, "chat_note", event.channel), kind="notice"), *messages]
        return Routed(messages)
    if not secure_now:
        if after.secure_page:
            conv.access_token_hash = None  # an unopened link past its steps stops working
            after.secure_page = None
        return Routed(messages)
    if not was_secure:  # entering a run of secure steps from the chat
        mode = profile.secure_details.mode
        link = offer(router, conv, contact, profile, after, event.channel, "default_offer" if mode == "default" else "offer")
        messages = [link, *messages] if mode == "default" else [*messages, link]
    return Routed(messages)


def refused(router: Router, conv: Conversation, contact: ContactPoint, profile: Profile,
            state: DialogState, channel: str) -> list[OutboundMessage]:
    """The answer to a secure step typed in the chat of a profile with `in_chat: false`."""
    return [offer(router, conv, contact, profile, state, channel, "chat_refused")]


# ── the page's side ─────────────────────────────────────────────────────────────────────────
@dataclass
class Opened:
    conversation_id: int
    token: str
    language: str
    channel: str
    state: str | None
    status: str
    prompt: list[OutboundMessage]


class PageGone(Exception):
    """The link or the page's session no longer works (410), in the resident's language."""

    def __init__(self, language: str, channel: str) -> None:
        super().__init__("secure page gone")
        self.language = language
        self.channel = channel


async def _conversation(ctx: _Hosts, conversation_id: int) -> Conversation | None:
    async with atomic(ctx) as (s, _after):
        return await s.get(Conversation, conversation_id)


async def page_link_state(ctx: _Hosts, claims: secure_links.Claims) -> tuple[str, str, bool] | None:
    """(language, channel, still unused) of the conversation a genuine link names."""
    conv = await _conversation(ctx, claims.conversation_id)
    if conv is None or conv.contact_point_id != claims.contact_point_id or conv.channel not in CHANNELS:
        return None
    unused = conv.access_token_hash == secure_links.pending_hash(claims.nonce) and conv.status == "bot"
    return conv.language, conv.channel, unused


async def language_of(ctx: _Hosts, conversation_id: int) -> str:
    async with atomic(ctx) as (s, _after):
        return await s.scalar(select(Conversation.language).where(Conversation.id == conversation_id)) or "ja"


def _key(conv: Conversation) -> str:
    return f"{conv.profile_id}:{conv.channel}:{conv.contact_point.external_id}"


async def current_prompt(s: AsyncSession, conv: Conversation) -> list[OutboundMessage]:
    """The question the conversation is at, as the bot last asked it (its buttons too)."""
    row = await s.scalar(select(Message).where(
        Message.conversation_id == conv.id, Message.direction == "out", Message.sender == "bot",
        Message.kind == "text", Message.text.is_not(None)).order_by(Message.id.desc()).limit(1))
    if row is None or not row.text:
        return []
    return [OutboundMessage(text=row.text, choices=tuple(Choice(c["id"], c["label"]) for c in (row.choices or [])),
                            multi=row.multi)]


async def open_page(ctx: _Hosts, router: Router, claims: secure_links.Claims) -> Opened:
    """Spend a link: swap its pending hash for the page session's, in one conditional UPDATE
    (a second open, or an older link, finds nothing to swap)."""
    conv = await _conversation(ctx, claims.conversation_id)
    if conv is None or conv.contact_point_id != claims.contact_point_id or conv.channel not in CHANNELS:
        raise LookupError("no such conversation")
    minutes = router.profiles.get(conv.profile_id).secure_details.link_minutes
    token = secure_links.new_session_token(minutes=minutes)
    async with router.locks.hold(_key(conv)), atomic(ctx) as (s, _after):
        done = await s.execute(update(Conversation).where(
            Conversation.id == conv.id, Conversation.contact_point_id == claims.contact_point_id,
            Conversation.access_token_hash == secure_links.pending_hash(claims.nonce),
            Conversation.status == "bot",
        ).values(access_token_hash=secure_links.session_hash(token)).execution_options(synchronize_session=False))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise PageGone(conv.language, conv.channel)
        fresh = await s.get(Conversation, conv.id, populate_existing=True)
        assert fresh is not None
        state = dict(fresh.dialog_state or {})
        state["secure_page"] = "open"
        fresh.dialog_state = state
        await audit.record(s, action="secure_page_opened", target_type="conversation", target_id=conv.id,
                           actor_type="resident", detail={"channel": conv.channel})
        return Opened(conversation_id=conv.id, token=token, language=fresh.language, channel=conv.channel,
                      state=fresh.dialog_node or None, status=fresh.status, prompt=await current_prompt(s, fresh))


async def page_conversation(ctx: _Hosts, conversation_id: int, token: str) -> Conversation:
    """The conversation a page session's token opens; PageGone when it ended or ran out (the
    chat is told once, and asks on)."""
    conv = await _conversation(ctx, conversation_id)
    if conv is None or conv.channel not in CHANNELS:
        raise LookupError("no such conversation")
    hashed = secure_links.session_hash(token)
    if conv.access_token_hash != hashed or conv.status != "bot":
        raise PageGone(conv.language, conv.channel)
    deadline = secure_links.session_deadline(token)
    if deadline is None or time.time() > deadline:
        await expire(ctx, conv, hashed)
        raise PageGone(conv.language, conv.channel)
    return conv


async def expire(ctx: _Hosts, conv: Conversation, hashed: str) -> bool:
    """A link or page whose time ran out: it stops working, and the chat gets a kind note and
    the question it is at (once: only the call that clears the hash sends it)."""
    router: Router = ctx.router  # type: ignore[attr-defined]
    async with router.locks.hold(_key(conv)), atomic(ctx) as (s, after):
        done = await s.execute(update(Conversation).where(
            Conversation.id == conv.id, Conversation.access_token_hash == hashed,
        ).values(access_token_hash=None).execution_options(synchronize_session=False))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            return False
        fresh = await s.get(Conversation, conv.id, populate_existing=True)
        assert fresh is not None
        opened = (fresh.dialog_state or {}).get("secure_page") == "open"
        state = dict(fresh.dialog_state or {})
        state["secure_page"] = None
        fresh.dialog_state = state
        if not opened or fresh.status != "bot":
            return True  # an unopened link: the chat has been asking all along
        lang = fresh.language
        out = [OutboundMessage(text=words(lang, "expired_note", fresh.channel), kind="notice"),
               *await current_prompt(s, fresh)]
        rows = [Message(conversation_id=fresh.id, direction="out", sender="bot", channel=fresh.channel,
                        kind=m.kind, text=m.text, language=lang,
                        choices=[{"id": c.id, "label": c.label} for c in m.choices], multi=m.multi) for m in out]
        s.add_all(rows)
        await s.flush()
        target = DeliveryTarget(profile_id=fresh.profile_id, channel=fresh.channel,
                                external_user_id=fresh.contact_point.external_id, conversation_id=fresh.id,
                                language=lang)
        after.call(router.deliver, target, out, [r.id for r in rows])
    return True


async def expire_link(ctx: _Hosts, claims: secure_links.Claims) -> str | None:
    """An expired link opened: it stops working. Answers the conversation's language."""
    conv = await _conversation(ctx, claims.conversation_id)
    if conv is None or conv.contact_point_id != claims.contact_point_id:
        return None
    await expire(ctx, conv, secure_links.pending_hash(claims.nonce))
    return conv.language
