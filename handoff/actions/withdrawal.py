"""Withdrawing consent (issue 12): a `withdrawn` ledger row (wording version, hash, channel,
time) and what it sets off. Sharing withdrawn: referrals that need it are blocked
(casecore.consent.has_sharing_consent says no from now on). Use withdrawn: the open case is
closed as withdrawn and the resident is due for erasure under the profile's retention rules
(the retention job erases them; a crisis record is held for a lead instead)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import audit
from casecore.lifecycle import CASE, CONVERSATION
from casecore.models import Case, CaseStatusChange, ConsentRecord, Conversation, Counsellor
from casecore.store import is_crisis_record
from casecore.types import utcnow
from handoff.actions.base import ActionError, atomic
from handoff.context import HandoffContext

KINDS = ("use", "share_agencies")
STAFF_CHANNELS = ("phone", "in_person", "letter")


async def _latest_case(s: AsyncSession, contact_point_id: int) -> Case | None:
    return await s.scalar(select(Case).where(Case.contact_point_id == contact_point_id).order_by(Case.id.desc()).limit(1))


async def apply_in(s: AsyncSession, *, contact_point_id: int, kind: str, conv: Conversation | None,
                   case: Case | None, counsellor_id: int | None) -> None:
    """In the caller's transaction, after the ledger row: the case and conversation follow."""
    if case is not None and kind == "share_agencies":
        case.share_consent = "withdrawn"
    if kind == "use":
        if conv is not None:
            conv.consented_use = False
        for c in (await s.scalars(select(Case).where(Case.contact_point_id == contact_point_id))).all():
            if CASE.can(c.status, "withdraw"):
                s.add(CaseStatusChange(case_id=c.id, from_status=c.status, to_status="withdrawn",
                                       reason="consent withdrawn", counsellor_id=counsellor_id, at=utcnow()))
                c.status = CASE.next(c.status, "withdraw")
        convs = (await s.scalars(select(Conversation).where(Conversation.contact_point_id == contact_point_id))).all()
        if any(is_crisis_record(v) for v in convs):
            await audit.record(s, action="erasure_held_crisis_record", target_type="contact_point",
                               target_id=contact_point_id)
    await audit.record(s, action="consent_withdrawn", target_type="contact_point", target_id=contact_point_id,
                       actor_type="counsellor" if counsellor_id else "resident", actor_id=counsellor_id,
                       detail={"kind": kind, "case_id": case.id if case else None})


async def record_in(s: AsyncSession, conv: Conversation, *, kind: str, wording_version: str, wording_hash: str,
                    language: str, counsellor_id: int | None = None, channel: str | None = None) -> ConsentRecord:
    """The resident's own withdrawal in a channel (the dialog's RecordConsent "withdrawn")."""
    case = await s.get(Case, conv.case_id) if conv.case_id else await _latest_case(s, conv.contact_point_id)
    rec = ConsentRecord(
        contact_point_id=conv.contact_point_id, conversation_id=conv.id, case_id=case.id if case else None,
        kind=kind, decision="withdrawn", wording_version=wording_version, wording_hash=wording_hash,
        language=language, channel=channel or conv.channel, recorded_by=counsellor_id,
    )
    s.add(rec)
    await apply_in(s, contact_point_id=conv.contact_point_id, kind=kind, conv=conv, case=case, counsellor_id=counsellor_id)
    return rec


async def record_by_staff(ctx: HandoffContext, case_id: int, actor: Counsellor, *, kind: str, channel: str,
                          wording_version: str, wording_hash: str, language: str) -> int:
    """A withdrawal given by phone, letter or in person, recorded by a counsellor."""
    if kind not in KINDS:
        raise ActionError(422, f"kind must be one of {', '.join(KINDS)}")
    if channel not in STAFF_CHANNELS:
        raise ActionError(422, f"channel must be one of {', '.join(STAFF_CHANNELS)}")
    async with atomic(ctx) as (s, after):
        case = await s.get(Case, case_id)
        if case is None:
            raise ActionError(404, "no such case", plain=True)
        rec = ConsentRecord(
            contact_point_id=case.contact_point_id, conversation_id=None, case_id=case.id, kind=kind,
            decision="withdrawn", wording_version=wording_version, wording_hash=wording_hash,
            language=language, channel=channel, recorded_by=actor.id,
        )
        s.add(rec)
        await apply_in(s, contact_point_id=case.contact_point_id, kind=kind, conv=None, case=case, counsellor_id=actor.id)
        if kind == "use":
            for conv in (await s.scalars(select(Conversation).where(
                    Conversation.contact_point_id == case.contact_point_id, Conversation.status != "closed"))).all():
                conv.consented_use = False
                if CONVERSATION.can(conv.status, "close"):
                    conv.status = CONVERSATION.next(conv.status, "close")
                    after.status_changed(conv.id, conv.status)
                    after.queue_changed(conv.id)
        await s.flush()
        return rec.id
