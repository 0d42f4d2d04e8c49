"""Who holds a conversation: claim (atomic), transfer, release to the bot, close.

Each change is one conditional UPDATE, so two counsellors acting at once cannot both win:
the database decides (a row lock on PostgreSQL, the write lock on SQLite) and the loser
sees rowcount 0. Every change is audited in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import access, audit
from casecore.models import Conversation, Counsellor
from casecore.types import utcnow

SUPERVISOR_ROLES = ("lead", "admin")  # may transfer, release or close a colleague's conversation


class OwnershipError(Exception):
    """Refused. `status` is the HTTP status to answer; `holder` who holds it, if anyone."""

    def __init__(self, status: int, message: str, holder: dict[str, object] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.holder = holder


async def holder_of(s: AsyncSession, conv: Conversation) -> dict[str, object] | None:
    if conv.owner_counsellor_id is None:
        return None
    c = await s.get(Counsellor, conv.owner_counsellor_id)
    return {"id": c.id, "login": c.login, "display_name": c.display_name} if c else None


async def _conversation(s: AsyncSession, conversation_id: int) -> Conversation:
    conv = await s.scalar(
        select(Conversation).where(Conversation.id == conversation_id).execution_options(populate_existing=True)
    )
    if conv is None:
        raise OwnershipError(404, "no such conversation")
    return conv


async def _refusal(s: AsyncSession, conversation_id: int, wanted: str) -> OwnershipError:
    conv = await _conversation(s, conversation_id)
    if conv.status == "counsellor":
        holder = await holder_of(s, conv)
        who = holder["display_name"] if holder else "?"
        return OwnershipError(409, f"already taken by {who}", holder)
    return OwnershipError(409, f"cannot {wanted}: the conversation is {conv.status}")


async def claim(s: AsyncSession, conversation_id: int, me: Counsellor) -> None:
    res = await s.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.status == "waiting")
        .values(status="counsellor", owner_counsellor_id=me.id, waiting_since=None, updated_at=utcnow(),
                ever_claimed=True)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        raise await _refusal(s, conversation_id, "claim")
    await audit.record(s, action="conversation_claimed", target_type="conversation", target_id=conversation_id,
                       actor_type="counsellor", actor_id=me.id)


def _held_by(me: Counsellor, *, supervisors: bool):
    """The WHERE clause: I own it (or, for supervisors, anyone does)."""
    cond = Conversation.status == "counsellor"
    if supervisors and me.role in SUPERVISOR_ROLES:
        return cond
    return cond & (Conversation.owner_counsellor_id == me.id)


async def require_owner(s: AsyncSession, conversation_id: int, me: Counsellor) -> Conversation:
    conv = await _conversation(s, conversation_id)
    if conv.status != "counsellor":
        raise OwnershipError(409, f"the conversation is {conv.status}; claim it first")
    if conv.owner_counsellor_id != me.id:
        raise OwnershipError(403, "another counsellor holds this conversation", await holder_of(s, conv))
    return conv


async def transfer(
    s: AsyncSession, conversation_id: int, me: Counsellor, to_login: str, profile_id: str | None = None
) -> Counsellor:
    target = await s.scalar(select(Counsellor).where(Counsellor.login == to_login))
    if target is None or not target.active:
        raise OwnershipError(422, f"no active counsellor with login {to_login!r}")
    if profile_id is not None and not access.can_see(target, profile_id):
        raise OwnershipError(422, f"{to_login!r} is not assigned to this municipality")
    before = await _conversation(s, conversation_id)
    from_id = before.owner_counsellor_id
    res = await s.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, _held_by(me, supervisors=True))
        .values(owner_counsellor_id=target.id, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        raise await _not_mine(s, conversation_id, me)
    await audit.record(s, action="conversation_transferred", target_type="conversation", target_id=conversation_id,
                       actor_type="counsellor", actor_id=me.id, detail={"from": from_id, "to": target.id})
    return target


async def _not_mine(s: AsyncSession, conversation_id: int, me: Counsellor) -> OwnershipError:
    conv = await _conversation(s, conversation_id)
    if conv.status != "counsellor":
        return OwnershipError(409, f"the conversation is {conv.status}")
    return OwnershipError(403, "another counsellor holds this conversation", await holder_of(s, conv))


async def _end_hold(s: AsyncSession, conversation_id: int, me: Counsellor, action: str, **values: object) -> None:
    """Change a conversation the counsellor (or a supervisor) holds, atomically, and audit it."""
    res = await s.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, _held_by(me, supervisors=True))
        .values(updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        raise await _not_mine(s, conversation_id, me)
    await audit.record(s, action=action, target_type="conversation", target_id=conversation_id,
                       actor_type="counsellor", actor_id=me.id)


async def release(s: AsyncSession, conversation_id: int, me: Counsellor) -> None:
    """Back to the bot: the dialog continues where it was."""
    await _end_hold(s, conversation_id, me, "conversation_released", status="bot", owner_counsellor_id=None)


async def close(s: AsyncSession, conversation_id: int, me: Counsellor) -> None:
    """Closed for good; the resident's next message opens a new conversation."""
    await _end_hold(s, conversation_id, me, "conversation_closed", status="closed", waiting_since=None)


async def require_owner_or_supervisor(s: AsyncSession, conversation_id: int, me: Counsellor) -> Conversation:
    conv = await _conversation(s, conversation_id)
    if conv.status == "counsellor" and me.role in SUPERVISOR_ROLES:
        return conv
    return await require_owner(s, conversation_id, me)
