"""A resident withdrew (unsent) a chat message: its words leave the transcript.

LINE's unsend event names the message by LINE's message id, which the LINE adapter puts into
the message's channel event id (`<webhookEventId>:<messageId>`). The row stays (the transcript
shows that something was withdrawn, and a risk flag it raised stays on the conversation), its
text and translation are cleared, and the console is told at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import audit, crypto
from casecore.models import AuditEvent, ContactPoint, Conversation, Message
from casecore.types import utcnow
from handoff.actions.base import OnCommit, _Hosts, atomic
from handoff.hub import conversation_topic

# An unsend can overtake its message (the inbox, LINE's redelivery): it is remembered as a
# tombstone — an audit row whose target is a keyed hash of the channel's message id (never the
# id in clear, never the text) — and a message that arrives later is stored `unsent`. A
# tombstone counts for this long (LINE redelivers for a few hours at most).
TOMBSTONE = "unsend_tombstone"
TOMBSTONE_TTL = timedelta(days=2)


def tombstone_key(profile_id: str, channel: str, external_user_id: str, channel_message_id: str) -> str:
    return crypto.cipher().blind_index(f"unsend:{profile_id}:{channel}:{external_user_id}:{channel_message_id}")


def channel_message_id(channel: str, channel_event_id: str) -> str | None:
    """LINE message events carry `<webhookEventId>:<messageId>`."""
    if channel != "line" or ":" not in channel_event_id:
        return None
    return channel_event_id.rsplit(":", 1)[1] or None


async def tombstoned(s: AsyncSession, profile_id: str, channel: str, external_user_id: str,
                     channel_event_id: str, now: datetime | None = None) -> bool:
    """Was this message unsent before it was stored? (one indexed lookup, LINE only)"""
    message_id = channel_message_id(channel, channel_event_id)
    if message_id is None:
        return False
    since = (now or utcnow()) - TOMBSTONE_TTL
    key = tombstone_key(profile_id, channel, external_user_id, message_id)
    return await s.scalar(_TOMBSTONE, {"key": key, "since": since}) is not None


# Built once, on the table's columns: it runs for every LINE message, and building it with
# its cache key and the ORM's compile step each time was ~5 % of an event's CPU (issue 19).
_audit = AuditEvent.__table__.c
_TOMBSTONE = (select(_audit.id)
              .where(_audit.target_type == TOMBSTONE, _audit.target_id == bindparam("key"),
                     _audit.at >= bindparam("since", type_=_audit.at.type))
              .limit(1))


def withdraw_stored(msg: Message, after: OnCommit) -> None:
    """A message's words leave the transcript (the row stays, kind `unsent`)."""
    msg.text = None
    msg.translation = None
    msg.kind = "unsent"
    after.publish(conversation_topic(msg.conversation_id), {
        "type": "message_unsent", "conversation_id": msg.conversation_id, "message_id": msg.id,
    })


async def withdraw(host: _Hosts, profile_id: str, channel: str, external_user_id: str, channel_message_id: str) -> bool:
    """True when a stored message was found and its words removed; otherwise a tombstone
    waits for it. Under the conversation's lock, so the message is either stored before (and
    found here) or after (and finds the tombstone)."""
    locks = getattr(host, "locks", None) or getattr(getattr(host, "router", None), "locks", None)
    if locks is None:
        return await _withdraw(host, profile_id, channel, external_user_id, channel_message_id)
    async with locks.hold(f"{profile_id}:{channel}:{external_user_id}"):
        return await _withdraw(host, profile_id, channel, external_user_id, channel_message_id)


async def _withdraw(host: _Hosts, profile_id: str, channel: str, external_user_id: str, channel_message_id: str) -> bool:
    index = crypto.cipher().blind_index(f"{channel}:{external_user_id}")
    async with atomic(host) as (s, after):
        contact = await s.scalar(select(ContactPoint).where(
            ContactPoint.profile_id == profile_id, ContactPoint.channel == channel,
            ContactPoint.external_id_index == index,
        ))
        msg = None if contact is None else await s.scalar(
            select(Message).join(Conversation, Message.conversation_id == Conversation.id).where(
                Conversation.contact_point_id == contact.id, Message.channel == channel,
                Message.direction == "in", Message.channel_event_id.like(f"%:{channel_message_id}"),
            )
        )
        if msg is None:
            await audit.record(s, action="message_unsent_early", target_type=TOMBSTONE, actor_type="resident",
                               target_id=tombstone_key(profile_id, channel, external_user_id, channel_message_id))
            return False
        withdraw_stored(msg, after)
        await audit.record(s, action="message_unsent", target_type="conversation", target_id=msg.conversation_id,
                           actor_type="resident", detail={"message_id": msg.id})
    return True
