"""Messages to the resident that are not the bot's: a counsellor's message, a system notice,
and the delivery status a channel reported."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import audit
from casecore.db import transaction
from casecore.models import ContactPoint, Conversation, Counsellor, Message
from casecore.types import utcnow
from dialogs.types import OutboundMessage
from handoff import relay
from handoff.actions.base import OnCommit, atomic, grouped
from handoff.context import HandoffContext
from handoff.hub import conversation_topic
from handoff.ownership import require_owner, require_owner_or_supervisor


async def counsellor_message(
    ctx: HandoffContext, conversation_id: int, actor: Counsellor, *, text: str | None = None,
    canned_key: str | None = None, supervisor_ok: bool = False,
) -> int:
    """Store, audit, then (after commit) publish and deliver one counsellor message; returns
    its id. `supervisor_ok`: a lead closing a colleague's conversation may send its last one."""
    check = require_owner_or_supervisor if supervisor_ok else require_owner
    async with transaction(ctx.sessions) as s:  # a read: the language to translate into
        language = (await check(s, conversation_id, actor)).language
    out = await relay.prepare(ctx, language, text, canned_key)  # outside the transaction: may take seconds
    async with atomic(ctx) as (s, after):
        conv = await check(s, conversation_id, actor)  # still mine after translating?
        mid = await add_counsellor_message(s, after, ctx, conv, actor, out, canned_key)
    if relay.needs_translation(language) and out.translation_status not in (None, "translated", "canned"):
        # issue 14: the Japanese went out as is; the resident is told why, once, in their language
        await notice(ctx, conversation_id, "answered_in_japanese", relay.canned_notice("answered_in_japanese"),
                     once_key=f"ja_only:{conversation_id}")
    return mid


async def add_counsellor_message(
    s: AsyncSession, after: OnCommit, ctx: HandoffContext, conv: Conversation, actor: Counsellor,
    out: relay.Outgoing, canned_key: str | None,
) -> int:
    """In the caller's transaction: the row, its audit, and its delivery after the commit."""
    msg = Message(
        conversation_id=conv.id, direction="out", sender="counsellor", counsellor_id=actor.id,
        channel=conv.channel, kind="text", text=out.ja, language="ja", translation=out.translation,
        translation_language=out.translation_language, translation_status=out.translation_status,
        translation_confidence=out.confidence,
        delivery_status="sent" if conv.channel == "webchat" else "pending", created_at=utcnow(),
    )
    blocked = await _blocked(s, conv)
    if blocked:
        msg.delivery_status = "blocked"  # the resident blocked the account: not attempted
    s.add(msg)
    await s.flush()
    await audit.record(s, action="message_sent", target_type="conversation", target_id=conv.id,
                       actor_type="counsellor", actor_id=actor.id,
                       detail={"message_id": msg.id, "canned": canned_key, "translation": out.translation_status,
                               **({"delivery": "blocked"} if blocked else {})})
    if blocked:
        # the console shows it at once; nothing is sent to a channel that would refuse it
        after.publish(conversation_topic(conv.id), {"type": "counsellor_message", "conversation_id": conv.id,
                                                    "message_id": msg.id})
        after.publish(conversation_topic(conv.id), {"type": "delivery", "conversation_id": conv.id,
                                                    "message_id": msg.id, "delivery_status": "blocked"})
        return msg.id
    after.call(relay.deliver_after_commit, ctx, relay.target_of(conv), msg.id, "counsellor_message",
               OutboundMessage(text=out.resident_text, machine_translated=out.machine_translated))
    return msg.id


async def _blocked(s: AsyncSession, conv: Conversation) -> bool:
    """The resident blocked the chat account (LINE unfollow, Telegram kicked): a send would
    only fail, and showing "sent" would mislead the counsellor."""
    if conv.channel == "webchat":
        return False
    contact = await s.get(ContactPoint, conv.contact_point_id)
    return contact is not None and contact.unfollowed_at is not None


async def notice(
    ctx: HandoffContext, conversation_id: int, name: str, render: relay.Render, *,
    once_key: str | None = None, kind: str = "notice",
) -> int | None:
    """A system notice in the resident's language. With `once_key`, at most once ever, across
    every app process (the message table's unique (channel, channel_event_id) decides);
    None when it was already sent or the conversation is gone."""
    async with transaction(ctx.sessions) as s:
        language = await s.scalar(select(Conversation.language).where(Conversation.id == conversation_id))
    if language is None:
        return None
    rendered = render(language)
    try:
        async with atomic(ctx) as (s, after):
            conv = await s.get(Conversation, conversation_id)
            if conv is None:
                return None
            return await add_notice(s, after, ctx, conv, name, rendered, once_key=once_key, kind=kind)
    except IntegrityError:
        return None  # another process (or an earlier pass) sent it


async def add_notice(
    s: AsyncSession, after: OnCommit, ctx: HandoffContext, conv: Conversation, name: str,
    rendered: tuple[str, str, str], *, once_key: str | None = None, kind: str = "notice",
) -> int:
    resident_text, lang, ja_text = rendered
    japanese = lang.startswith("ja")
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
    after.call(relay.deliver_after_commit, ctx, relay.target_of(conv), msg.id, "system_message",
               OutboundMessage(text=resident_text, kind="emergency" if kind == "emergency" else "notice"))
    return msg.id


async def record_delivery(ctx: HandoffContext, message_ids: Sequence[int], status: str) -> None:
    """What the channel's sender reported (sent / failed) for the rows of one batch: one
    UPDATE for the batch (it was a SELECT and an UPDATE per row, ~7 % of an event on PG)."""
    await record_deliveries(ctx, {status: list(message_ids)})


async def record_deliveries(ctx: HandoffContext, by_status: dict[str, list[int]]) -> None:
    """Several deliveries' statuses in one transaction, one UPDATE per status (the router
    gathers the deliveries that finish together: one commit for them all). It takes its
    turn as SQLite's writer like the inbound step: a write that met an inbound transaction
    holding SQLite's lock slept in SQLite's busy handler, and stalled every writer after it."""
    async def write(s: AsyncSession, _after: OnCommit) -> None:
        for status, ids in by_status.items():
            if ids:
                await s.execute(_SET_DELIVERY_STATUS, {"ids": ids, "status": status})

    await grouped(ctx, write)


# Built once, on the table (no ORM bulk-update pass: nothing loaded needs the new status),
# with an expanding IN: the compiled form is cached whatever the number of ids.
_SET_DELIVERY_STATUS = (
    update(Message.__table__)
    .where(Message.__table__.c.id.in_(bindparam("ids", expanding=True)))
    .values(delivery_status=bindparam("status"))
)
