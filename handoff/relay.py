"""Sending to the resident while a counsellor holds the conversation.

The counsellor writes Japanese. The transcript keeps that original in `text` and what the
resident reads in `translation` (machine translation, or a canned reply's human-written
version). Without a translator the Japanese goes out untranslated and is marked so
(`translation_status`), never silently. Web chat residents read from the store and get a hub
event; every other channel is sent to through the router's sender registry.

System notices (a counsellor joined, "we have not forgotten you", out-of-hours contacts) are
stored the other way round, like inbound messages: `text` is what the resident reads and
`translation` the Japanese for the console.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from casecore import audit
from casecore.db import transaction
from casecore.models import Conversation, Counsellor, Message
from casecore.types import utcnow
from dialogs.types import OutboundMessage
from handoff import canned
from handoff.context import HandoffContext as AppContext
from handoff.delivery import DeliveryTarget
from handoff.hub import conversation_topic
from handoff.ownership import require_owner, require_owner_or_supervisor
from i18n.catalog import catalog

log = structlog.get_logger(__name__)


class RelayError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class _Outgoing:
    ja: str
    resident_text: str
    translation: str | None
    translation_language: str | None
    translation_status: str | None
    confidence: float | None
    machine_translated: bool


def needs_translation(language: str) -> bool:
    return not language.startswith("ja")


async def _prepare(ctx: AppContext, language: str, text: str | None, canned_key: str | None) -> _Outgoing:
    if canned_key is not None:
        try:
            c = canned.reply(canned_key, language)
        except KeyError:
            raise RelayError(422, f"no canned reply {canned_key!r}") from None
        if not needs_translation(language):
            return _Outgoing(c.ja, c.ja, None, None, None, None, False)
        return _Outgoing(c.ja, c.text, c.text, c.language, "canned", None, False)
    assert text is not None
    if not needs_translation(language):
        return _Outgoing(text, text, None, None, None, None, False)
    translator = ctx.router.translator
    if translator is None:
        return _Outgoing(text, text, None, None, "unavailable", None, False)
    res = await translator.translate(text, "ja", language)
    if res.status == "translated":
        return _Outgoing(text, res.text, res.text, language, "translated", res.confidence, True)
    # untranslated / timeout / error: the Japanese goes out, marked in the transcript
    return _Outgoing(text, text, None, None, res.status, None, False)


def _target(conv: Conversation) -> DeliveryTarget:
    return DeliveryTarget(
        profile_id=conv.profile_id, channel=conv.channel, external_user_id=conv.contact_point.external_id,
        conversation_id=conv.id, language=conv.language, reply_context={},
    )


async def send_counsellor_message(
    ctx: AppContext, conversation_id: int, me: Counsellor, *, text: str | None = None,
    canned_key: str | None = None, supervisor_ok: bool = False,
) -> int:
    """Store, audit, deliver and publish one counsellor message; returns its id.
    `supervisor_ok`: a lead closing a colleague's conversation may send its last message."""
    check = require_owner_or_supervisor if supervisor_ok else require_owner
    async with transaction(ctx.sessions) as s:
        conv = await check(s, conversation_id, me)
        language = conv.language
    out = await _prepare(ctx, language, text, canned_key)  # outside the transaction: may take seconds
    async with transaction(ctx.sessions) as s:
        conv = await check(s, conversation_id, me)  # still mine after translating?
        msg = Message(
            conversation_id=conv.id, direction="out", sender="counsellor", counsellor_id=me.id,
            channel=conv.channel, kind="text", text=out.ja, language="ja", translation=out.translation,
            translation_language=out.translation_language, translation_status=out.translation_status,
            translation_confidence=out.confidence,
            delivery_status="sent" if conv.channel == "webchat" else "pending", created_at=utcnow(),
        )
        s.add(msg)
        await s.flush()
        await audit.record(s, action="message_sent", target_type="conversation", target_id=conv.id,
                           actor_type="counsellor", actor_id=me.id,
                           detail={"message_id": msg.id, "canned": canned_key, "translation": out.translation_status})
        target = _target(conv)
        message_id = msg.id
    await _deliver(ctx, target, message_id, "counsellor_message",
                   OutboundMessage(text=out.resident_text, machine_translated=out.machine_translated))
    return message_id


Render = Callable[[str], tuple[str, str, str]]  # language -> (resident text, its language, Japanese)


def canned_notice(key: str, params: dict[str, Any] | None = None, ja_params: dict[str, Any] | None = None) -> Render:
    return lambda language: canned.notice(key, language, params, ja_params)


def catalog_notice(key: str) -> Render:
    """A text of the intake's catalogs (i18n), e.g. `closed.body`."""
    def render(language: str) -> tuple[str, str, str]:
        cat = catalog(language)
        return cat.text(key), cat.language, catalog("ja").text(key)
    return render


async def send_notice(
    ctx: AppContext, conversation_id: int, name: str, render: Render, *,
    once_key: str | None = None, kind: str = "notice",
) -> int | None:
    """Send a system notice in the resident's language. With `once_key`, at most once ever,
    across every app process (the message table's unique (channel, channel_event_id)
    decides); returns None when it was already sent or the conversation is gone."""
    async with transaction(ctx.sessions) as s:
        conv = await s.scalar(select(Conversation).where(Conversation.id == conversation_id))
        if conv is None:
            return None
        language = conv.language
    resident_text, lang, ja_text = render(language)
    japanese = lang.startswith("ja")
    try:
        async with transaction(ctx.sessions) as s:
            conv = await s.get(Conversation, conversation_id)
            assert conv is not None
            msg = Message(
                conversation_id=conv.id, direction="out", sender="system", channel=conv.channel,
                channel_event_id=f"handoff:{once_key}" if once_key else None, kind=kind,
                text=resident_text, language=lang,
                translation=None if japanese else ja_text, translation_language=None if japanese else "ja",
                translation_status=None if japanese else "canned",
                delivery_status="sent" if conv.channel == "webchat" else "pending", created_at=utcnow(),
            )
            s.add(msg)
            await s.flush()
            await audit.record(s, action="notice_sent", target_type="conversation", target_id=conv.id,
                               detail={"message_id": msg.id, "notice": name})
            target = _target(conv)
            message_id = msg.id
    except IntegrityError:
        return None  # another process (or an earlier pass) sent it
    await _deliver(ctx, target, message_id, "system_message",
                   OutboundMessage(text=resident_text, kind="emergency" if kind == "emergency" else "notice"))
    return message_id


async def _deliver(ctx: AppContext, target: DeliveryTarget, message_id: int, event_type: str, message: OutboundMessage) -> None:
    topic = conversation_topic(target.conversation_id)
    # The web chat resident (and every console watching) picks it up from the store.
    await ctx.hub.publish(topic, {"type": event_type, "conversation_id": target.conversation_id, "message_id": message_id})
    if target.channel == "webchat":
        return
    ok = await ctx.router.deliver(target, [message], [message_id])
    log.info("relayed", conversation_id=target.conversation_id, message_id=message_id, channel=target.channel, delivered=ok)
    await ctx.hub.publish(topic, {
        "type": "delivery", "conversation_id": target.conversation_id, "message_id": message_id,
        "delivery_status": "sent" if ok else "failed",
    })


async def show_typing(ctx: AppContext, conversation_id: int, me: Counsellor) -> bool:
    """Tell the resident the counsellor is writing, where the channel can show it: a hub
    event for the web chat page, and `show_typing(target)` of the channel's sender when it
    has one (LINE's loading animation, Telegram's chat action). Best effort, never raises."""
    async with transaction(ctx.sessions) as s:
        conv = await require_owner(s, conversation_id, me)
        target = _target(conv)
    await ctx.hub.publish(conversation_topic(conversation_id), {
        "type": "typing", "conversation_id": conversation_id, "sender": "counsellor",
    })
    sender = ctx.router.senders.get(target.channel)
    hook = getattr(sender, "show_typing", None)
    if hook is None:
        return False
    try:
        await hook(target)
    except Exception as exc:  # an indicator is never worth an error
        log.debug("typing_indicator_failed", channel=target.channel, error=type(exc).__name__)
        return False
    return True


async def publish_status(ctx: AppContext, conversation_id: int, status: str) -> None:
    """Tell the resident's page and every console that the owner changed."""
    await ctx.hub.publish(conversation_topic(conversation_id), {
        "type": "conversation_status", "conversation_id": conversation_id, "conversation_status": status,
    })
