"""Who holds a conversation, and the checks the actions make before changing it.

The changes themselves (claim, transfer, release, close, block) are actions in
`handoff.actions.conversation`: each one conditional UPDATE, so two counsellors acting at once
cannot both win. This module only reads.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore.models import Conversation, Counsellor
from handoff.actions.base import ActionError

SUPERVISOR_ROLES = ("lead", "admin")  # may transfer, release or close a colleague's conversation


async def holder_of(s: AsyncSession, conv: Conversation) -> dict[str, object] | None:
    if conv.owner_counsellor_id is None:
        return None
    c = await s.get(Counsellor, conv.owner_counsellor_id)
    return {"id": c.id, "login": c.login, "display_name": c.display_name} if c else None


async def locked_conversation(s: AsyncSession, conversation_id: int) -> Conversation:
    conv = await s.scalar(
        select(Conversation).where(Conversation.id == conversation_id).execution_options(populate_existing=True)
    )
    if conv is None:
        raise ActionError(404, "no such conversation")
    return conv


async def refusal(s: AsyncSession, conversation_id: int, wanted: str) -> ActionError:
    conv = await locked_conversation(s, conversation_id)
    if conv.status == "counsellor":
        holder = await holder_of(s, conv)
        who = holder["display_name"] if holder else "?"
        return ActionError(409, f"already taken by {who}", holder=holder)
    return ActionError(409, f"cannot {wanted}: the conversation is {conv.status}")


def held_by(me: Counsellor, *, supervisors: bool) -> ColumnElement[bool]:
    """The WHERE clause: I own it (or, for supervisors, anyone does)."""
    cond = Conversation.status == "counsellor"
    if supervisors and me.role in SUPERVISOR_ROLES:
        return cond
    return cond & (Conversation.owner_counsellor_id == me.id)


async def require_owner(s: AsyncSession, conversation_id: int, me: Counsellor) -> Conversation:
    conv = await locked_conversation(s, conversation_id)
    if conv.status != "counsellor":
        raise ActionError(409, f"the conversation is {conv.status}; claim it first")
    if conv.owner_counsellor_id != me.id:
        raise ActionError(403, "another counsellor holds this conversation", holder=await holder_of(s, conv))
    return conv


async def not_mine(s: AsyncSession, conversation_id: int, me: Counsellor) -> ActionError:
    conv = await locked_conversation(s, conversation_id)
    if conv.status != "counsellor":
        return ActionError(409, f"the conversation is {conv.status}")
    return ActionError(403, "another counsellor holds this conversation", holder=await holder_of(s, conv))


async def require_owner_or_supervisor(s: AsyncSession, conversation_id: int, me: Counsellor) -> Conversation:
    conv = await locked_conversation(s, conversation_id)
    if conv.status == "counsellor" and me.role in SUPERVISOR_ROLES:
        return conv
    return await require_owner(s, conversation_id, me)
