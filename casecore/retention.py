"""What is due for erasure under a profile's retention rules (issue 12). Read-only queries;
handoff.actions.retention erases and audits. Never due: an open case, an urgent one, one
under legal hold, or a crisis record (ever urgent, flagged or claimed) before consent."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import consent
from casecore.lifecycle import OPEN_STATES
from casecore.models import AuditEvent, Case, ContactPoint, Conversation, Message


def _held_case():
    """A case that keeps its resident: open, urgent, or under legal hold."""
    return exists().where(Case.contact_point_id == ContactPoint.id,
                          or_(Case.status.in_(OPEN_STATES), Case.urgent.is_(True), Case.legal_hold.is_(True)))


def _open_conversation():
    return exists().where(Conversation.contact_point_id == ContactPoint.id, Conversation.status != "closed")


def _crisis_conversation():
    return exists().where(Conversation.contact_point_id == ContactPoint.id,
                          or_(Conversation.urgent.is_(True), Conversation.ever_claimed.is_(True)))


async def withdrawn_due(s: AsyncSession, profile_id: str, now: datetime, days: int) -> list[int]:
    """Residents who withdrew consent to use at least `days` ago; a crisis record or a held
    case waits for a lead (the withdrawal audited `erasure_held_crisis_record`)."""
    ids = await consent.withdrawn_use(s, now - timedelta(days=days))
    if not ids:
        return []
    return list((await s.scalars(select(ContactPoint.id).where(
        ContactPoint.id.in_(ids), ContactPoint.profile_id == profile_id,
        ~exists().where(Case.contact_point_id == ContactPoint.id, or_(Case.urgent.is_(True), Case.legal_hold.is_(True))),
        ~exists().where(Conversation.contact_point_id == ContactPoint.id, Conversation.urgent.is_(True)),
    ))).all())


async def closed_cases_due(s: AsyncSession, profile_id: str, now: datetime, days: int) -> list[int]:
    """Residents whose every case was closed or withdrawn more than `days` ago."""
    cutoff = now - timedelta(days=days)
    last_change = (select(func.max(Case.updated_at)).where(Case.contact_point_id == ContactPoint.id)
                   .correlate(ContactPoint).scalar_subquery())
    return list((await s.scalars(select(ContactPoint.id).where(
        ContactPoint.profile_id == profile_id,
        exists().where(Case.contact_point_id == ContactPoint.id),
        ~_held_case(), ~_open_conversation(), last_change < cutoff,
    ))).all())


async def unconsented_due(s: AsyncSession, profile_id: str, now: datetime, days: int) -> list[int]:
    """Residents who never reached consent and no case, all conversations closed and quiet for
    `days`, none of them a crisis record: the contact point goes too."""
    cutoff = now - timedelta(days=days)
    return list((await s.scalars(select(ContactPoint.id).where(
        ContactPoint.profile_id == profile_id,
        ~exists().where(Case.contact_point_id == ContactPoint.id),
        ~exists().where(Conversation.contact_point_id == ContactPoint.id,
                        or_(Conversation.consented_use.is_(True), Conversation.updated_at >= cutoff)),
        ~_open_conversation(), ~_crisis_conversation(),
        ContactPoint.created_at < cutoff,
    ))).all())


async def delete_old_transcripts(s: AsyncSession, profile_id: str, now: datetime, days: int) -> int:
    """Messages of closed, non-urgent conversations quiet for `days` (the case stays)."""
    cutoff = now - timedelta(days=days)
    old = select(Conversation.id).where(
        Conversation.profile_id == profile_id, Conversation.status == "closed", Conversation.urgent.is_(False),
        Conversation.updated_at < cutoff,
        ~exists().where(Case.id == Conversation.case_id, or_(Case.legal_hold.is_(True), Case.urgent.is_(True))),
    )
    return (await s.execute(delete(Message).where(Message.conversation_id.in_(old)))).rowcount or 0


async def delete_old_audit(s: AsyncSession, now: datetime, days: int) -> int:
    return (await s.execute(delete(AuditEvent).where(and_(AuditEvent.at < now - timedelta(days=days))))).rowcount or 0
