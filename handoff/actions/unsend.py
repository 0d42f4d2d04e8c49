"""A resident withdrew (unsent) a chat message: its words leave the transcript.

LINE's unsend event names the message by LINE's message id, which the LINE adapter puts into
the message's channel event id (`<webhookEventId>:<messageId>`). The row stays (the transcript
shows that something was withdrawn, and a risk flag it raised stays on the conversation), its
text and translation are cleared, and the console is told at once.
"""

from __future__ import annotations

from sqlalchemy import select

from casecore import audit, crypto
from casecore.models import ContactPoint, Conversation, Message
from handoff.actions.base import _Hosts, atomic
from handoff.hub import conversation_topic


async def withdraw(host: _Hosts, profile_id: str, channel: str, external_user_id: str, channel_message_id: str) -> bool:
    """True when a stored message was found and its words removed."""
    index = crypto.cipher().blind_index(f"{channel}:{external_user_id}")
    async with atomic(host) as (s, after):
        contact = await s.scalar(select(ContactPoint).where(
            ContactPoint.profile_id == profile_id, ContactPoint.channel == channel,
            ContactPoint.external_id_index == index,
        ))
        if contact is None:
            return False
        msg = await s.scalar(
            select(Message).join(Conversation, Message.conversation_id == Conversation.id).where(
                Conversation.contact_point_id == contact.id, Message.channel == channel,
                Message.direction == "in", Message.channel_event_id.like(f"%:{channel_message_id}"),
            )
        )
        if msg is None:
            return False
        msg.text = None
        msg.translation = None
        msg.kind = "unsent"
        await audit.record(s, action="message_unsent", target_type="conversation", target_id=msg.conversation_id,
                           actor_type="resident", detail={"message_id": msg.id})
        after.publish(conversation_topic(msg.conversation_id), {
            "type": "message_unsent", "conversation_id": msg.conversation_id, "message_id": msg.id,
        })
    return True
