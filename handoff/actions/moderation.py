"""A lead's moderation of a resident who breaks the rules (002 §6(1)⑥): warn, then remove
(block is `conversation.block`), each audited and counted in the monthly report; the resident
is told each time, in their own language, in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass

from casecore import audit
from casecore.models import Conversation, Counsellor
from handoff import relay
from handoff.actions.base import ActionError, atomic, conversation_next
from handoff.actions.messages import add_notice
from handoff.context import HandoffContext


@dataclass(frozen=True)
class Warned:
    conversation_id: int
    message_id: int


async def _open(s: object, conversation_id: int) -> Conversation:
    conv = await s.get(Conversation, conversation_id)  # type: ignore[attr-defined]
    if conv is None:
        raise ActionError(404, "no such conversation", plain=True)
    if conv.status == "closed":
        raise ActionError(409, "this conversation has ended", plain=True)
    return conv


async def warn(ctx: HandoffContext, conversation_id: int, actor: Counsellor, reason: str) -> Warned:
    """Warn the resident (first step): a message asking them to keep the rules, saying the
    conversation may be ended otherwise."""
    async with atomic(ctx) as (s, after):
        conv = await _open(s, conversation_id)
        await audit.record(s, action="resident_warned", target_type="conversation", target_id=conv.id,
                           actor_type="counsellor", actor_id=actor.id, detail={"reason": reason})
        mid = await add_notice(s, after, ctx, conv, "resident_warned", relay.security_notice("warning")(conv.language))
    return Warned(conversation_id, mid)


async def remove(ctx: HandoffContext, conversation_id: int, actor: Counsellor, reason: str) -> str:
    """Remove the resident (second step): told why, then the conversation is closed (a web chat
    token stops working at once). They may start again; a block keeps them out."""
    async with atomic(ctx) as (s, after):
        conv = await _open(s, conversation_id)
        await add_notice(s, after, ctx, conv, "resident_removed", relay.security_notice("removed")(conv.language))
        conv.status = conversation_next(conv.status, "close")
        conv.owner_counsellor_id, conv.waiting_since = None, None
        await audit.record(s, action="resident_removed", target_type="conversation", target_id=conv.id,
                           actor_type="counsellor", actor_id=actor.id, detail={"reason": reason})
        after.status_changed(conversation_id, conv.status)
        after.queue_changed(conversation_id)
    return conv.status
