"""Who may see what (issue 11, need-to-know; 004 §7(3), 002 §12(6)).

- Municipality scope: an account sees only the profiles it is assigned; none: nothing.
- A counsellor reads a case and its transcript when they hold or held one of its
  conversations, are assigned to it, or share its team. A waiting conversation shows coded
  triage fields only, until someone claims it.
- A lead reads every case of their municipalities, and assigns.
- An admin manages accounts and reads no case content.
- Any other read is break-glass: a reason, an audit row, and the lead sees it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore.models import BreakGlass, Case, Conversation, ConversationHolder, Counsellor
from casecore.types import utcnow

# Why a read was allowed, as written into its audit row.
HELD, ASSIGNED, TEAM, LEAD, BREAK_GLASS = "held", "assigned", "team", "lead", "break_glass"
WRITE_BASES = (HELD, ASSIGNED, TEAM, LEAD)  # break-glass reads, it never writes


def can_see(counsellor: Counsellor, profile_id: str) -> bool:
    return profile_id in (counsellor.profiles or [])


def scope(query: Any, counsellor: Counsellor, profile_column: Any) -> Any:
    """Restrict a SELECT to the counsellor's profiles (none: no row at all)."""
    return query.where(profile_column.in_(list(counsellor.profiles or [])))


async def record_holder(s: AsyncSession, conversation_id: int, counsellor_id: int) -> None:
    """Remember that this counsellor held the conversation (claim, transfer)."""
    if await s.get(ConversationHolder, (conversation_id, counsellor_id)) is None:
        s.add(ConversationHolder(conversation_id=conversation_id, counsellor_id=counsellor_id))


async def _held_any(s: AsyncSession, me: Counsellor, conversation_ids: list[int]) -> bool:
    if not conversation_ids:
        return False
    row = await s.scalar(select(ConversationHolder.counsellor_id).where(
        ConversationHolder.conversation_id.in_(conversation_ids), ConversationHolder.counsellor_id == me.id).limit(1))
    return row is not None


async def break_glass_open(s: AsyncSession, me: Counsellor, *, case_id: int | None, conversation_id: int | None,
                           now: datetime | None = None) -> BreakGlass | None:
    now = now or utcnow()
    conds = []
    if case_id is not None:
        conds.append(BreakGlass.case_id == case_id)
    if conversation_id is not None:
        conds.append(BreakGlass.conversation_id == conversation_id)
    if not conds:
        return None
    return await s.scalar(select(BreakGlass).where(
        BreakGlass.counsellor_id == me.id, BreakGlass.until > now, or_(*conds)).order_by(BreakGlass.id.desc()).limit(1))


async def case_basis(s: AsyncSession, me: Counsellor, case: Case) -> str | None:
    """Why `me` may read this case, or None (then only break-glass opens it)."""
    if me.role == "admin" or not can_see(me, case.profile_id):
        return None
    if me.role == "lead":
        return LEAD
    if case.assigned_counsellor_id == me.id:
        return ASSIGNED
    if me.team and case.team == me.team:
        return TEAM
    conv_ids = list((await s.scalars(select(Conversation.id).where(Conversation.case_id == case.id))).all())
    if any(await s.scalars(select(Conversation.id).where(
            Conversation.case_id == case.id, Conversation.owner_counsellor_id == me.id))):
        return HELD
    return HELD if await _held_any(s, me, conv_ids) else None


async def conversation_basis(s: AsyncSession, me: Counsellor, conv: Conversation) -> str | None:
    """Why `me` may read this conversation's transcript, or None."""
    if me.role == "admin" or not can_see(me, conv.profile_id):
        return None
    if me.role == "lead":
        return LEAD
    if conv.owner_counsellor_id == me.id or await _held_any(s, me, [conv.id]):
        return HELD
    if conv.case_id is not None:
        case = await s.get(Case, conv.case_id)
        if case is not None:
            return await case_basis(s, me, case)
    return None


async def readable(s: AsyncSession, me: Counsellor, *, case: Case | None = None,
                   conv: Conversation | None = None) -> tuple[str | None, BreakGlass | None]:
    """(basis, break-glass grant): the basis, else an open break-glass grant, else (None, None)."""
    basis = await (case_basis(s, me, case) if case is not None else conversation_basis(s, me, conv))  # type: ignore[arg-type]
    if basis is not None:
        return basis, None
    if me.role == "admin":
        return None, None
    target = case if case is not None else conv
    if target is None or not can_see(me, target.profile_id):
        return None, None
    glass = await break_glass_open(
        s, me, case_id=case.id if case is not None else (conv.case_id if conv else None),
        conversation_id=conv.id if conv is not None else None)
    return (BREAK_GLASS, glass) if glass is not None else (None, None)


def visible_cases(query: Any, s: AsyncSession, me: Counsellor) -> Any:
    """Restrict a SELECT of cases to those `me` reads without break-glass."""
    query = scope(query, me, Case.profile_id)
    if me.role == "admin":
        return query.where(Case.id.is_(None))  # nothing
    if me.role == "lead":
        return query
    conds = [held_or_assigned(me)]
    if me.team:
        conds.append(Case.team == me.team)
    return query.where(or_(*conds))


def held_or_assigned(me: Counsellor) -> Any:
    """WHERE: cases assigned to `me` or with a conversation `me` holds or held."""
    held = select(Conversation.case_id).join(
        ConversationHolder, ConversationHolder.conversation_id == Conversation.id
    ).where(ConversationHolder.counsellor_id == me.id, Conversation.case_id.is_not(None))
    owned = select(Conversation.case_id).where(Conversation.owner_counsellor_id == me.id, Conversation.case_id.is_not(None))
    return or_(Case.assigned_counsellor_id == me.id, Case.id.in_(held), Case.id.in_(owned))
