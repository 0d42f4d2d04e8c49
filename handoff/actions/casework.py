"""Case work after the intake (issue 13): the triage outcome, referrals to named agencies
(only with the sharing consent), job placement follow-ups and completed reviews. Each is one
transaction with its audit row (ids and codes only). Assessment and plan: casework_docs.py."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import audit
from casecore.casework.models import TRIAGE_OUTCOMES, CaseReview, CaseTriage, Referral
from casecore.casework.schedule import due_dates
from casecore.lifecycle import CASE
from casecore.models import Case, CaseStatusChange, ConsentRecord, Counsellor
from casecore.types import utcnow
from handoff.actions.base import ActionError, atomic
from handoff.context import HandoffContext

SHARE_KIND = "share_agencies"
# A triage outcome moves a case on when its status allows it (別紙1-2 §4(2)).
TRIAGE_TRIGGER = {"centre_support": "assess", "referral": "refer", "welfare_office": "refer"}


async def case_row(s: AsyncSession, case_id: int) -> Case:
    case = await s.get(Case, case_id)
    if case is None:
        raise ActionError(404, "no such case", plain=True)
    return case


def _log(s: AsyncSession, what: str, case_id: int, actor: Counsellor, **detail: object):  # type: ignore[no-untyped-def]
    return audit.record(s, action=what, target_type="case", target_id=case_id, actor_type="counsellor",
                        actor_id=actor.id, detail=detail)


async def _move(s: AsyncSession, case: Case, trigger: str, actor: Counsellor, reason: str | None) -> None:
    if not CASE.can(case.status, trigger):
        return
    new = CASE.next(case.status, trigger)
    s.add(CaseStatusChange(case_id=case.id, from_status=case.status, to_status=new, reason=reason,
                           counsellor_id=actor.id, at=utcnow()))
    await audit.record(s, action="case_status_changed", target_type="case", target_id=case.id, actor_type="counsellor",
                       actor_id=actor.id, detail={"from": case.status, "to": new, "action": trigger})
    case.status = new
    case.updated_at = utcnow()


async def record_triage(ctx: HandoffContext, case_id: int, actor: Counsellor, outcome: str,
                        reason: str | None) -> CaseTriage:
    """The counsellor's 振り分け: support here, information only, a referral, or a sure
    connection to the welfare office; the latest one is the case's outcome."""
    if outcome not in TRIAGE_OUTCOMES:
        raise ActionError(422, f"outcome must be one of {', '.join(TRIAGE_OUTCOMES)}")
    async with atomic(ctx) as (s, _):
        case = await case_row(s, case_id)
        row = CaseTriage(case_id=case.id, outcome=outcome, reason=reason, counsellor_id=actor.id, at=utcnow())
        s.add(row)
        await s.flush()
        await _log(s, "case_triaged", case.id, actor, outcome=outcome, triage_id=row.id)
        if trigger := TRIAGE_TRIGGER.get(outcome):
            await _move(s, case, trigger, actor, reason)
    return row


async def sharing_consent(s: AsyncSession, case: Case) -> ConsentRecord | None:
    """The latest decision on sharing with agencies, for this case or its contact point: a
    later `withdrawn` (or `declined`) row wins over an earlier grant."""
    return await s.scalar(
        select(ConsentRecord)
        .where(ConsentRecord.kind == SHARE_KIND,
               (ConsentRecord.case_id == case.id) | ((ConsentRecord.case_id.is_(None))
                                                      & (ConsentRecord.contact_point_id == case.contact_point_id)))
        .order_by(ConsentRecord.at.desc(), ConsentRecord.id.desc()).limit(1)
    )


async def refer(ctx: HandoffContext, case_id: int, actor: Counsellor, *, agency: str, items: list[str],
                note: str | None) -> Referral:
    """Refer to an agency the profile names, recording what was shared. Refused (403) without
    the resident's consent to share with agencies; the refusal is audited too."""
    async with atomic(ctx) as (s, _):
        case = await case_row(s, case_id)
        if ctx.profiles.get(case.profile_id).agency(agency) is None:
            raise ActionError(422, f"unknown agency {agency!r} for this municipality")
        consent = await sharing_consent(s, case)
        granted = consent is not None and consent.decision == "granted"
        if granted:
            assert consent is not None
            ref = Referral(case_id=case.id, agency=agency, consent_record_id=consent.id, made_by=actor.id,
                           shared={"items": items, "note": note}, made_at=utcnow(), acceptance="pending")
            s.add(ref)
            await s.flush()
            await _log(s, "case_referred", case.id, actor, agency=agency, referral_id=ref.id,
                       consent_record_id=consent.id, items=len(items))
            await _move(s, case, "refer", actor, None)
            return ref
    async with atomic(ctx) as (s, _):
        await _log(s, "case_referral_refused", case_id, actor, agency=agency,
                   consent=consent.decision if consent else None)
    raise ActionError(403, "no consent to share with agencies: ask the resident first",
                      consent=consent.decision if consent else "none")


async def update_referral(ctx: HandoffContext, case_id: int, referral_id: int, actor: Counsellor, *,
                          acceptance: str | None, outcome: str | None) -> Referral:
    """The agency took the case on (or not), and what came of it."""
    async with atomic(ctx) as (s, _):
        ref = await s.get(Referral, referral_id)
        if ref is None or ref.case_id != case_id:
            raise ActionError(404, "no such referral", plain=True)
        now = utcnow()
        if acceptance is not None and acceptance != ref.acceptance:
            ref.acceptance, ref.accepted_at = acceptance, now
        if outcome is not None:
            ref.outcome, ref.outcome_at = outcome, now
        await _log(s, "referral_updated", case_id, actor, referral_id=ref.id, acceptance=ref.acceptance,
                   outcome_recorded=outcome is not None)
    return ref


async def schedule_reviews(s: AsyncSession, case_id: int, kind: str, start: date) -> list[CaseReview]:
    """Reviews from `start`; an open review of the same kind and month is replaced."""
    rows = []
    for months, due in due_dates(kind, start):
        old = await s.scalar(select(CaseReview).where(CaseReview.case_id == case_id, CaseReview.kind == kind,
                                                      CaseReview.months == months, CaseReview.done_at.is_(None)))
        if old is not None:
            await s.delete(old)
        rows.append(CaseReview(case_id=case_id, kind=kind, months=months, due_on=due, created_at=utcnow()))
    s.add_all(rows)
    await s.flush()
    return rows


async def record_placement(ctx: HandoffContext, case_id: int, actor: Counsellor, placed_on: date) -> list[CaseReview]:
    """A job placement: follow-ups at 1, 3, 6 and 12 months (定着支援)."""
    async with atomic(ctx) as (s, _):
        await case_row(s, case_id)
        rows = await schedule_reviews(s, case_id, "job_followup", placed_on)
        await _log(s, "job_placement_recorded", case_id, actor, placed_on=placed_on.isoformat())
    return rows


async def complete_review(ctx: HandoffContext, case_id: int, review_id: int, actor: Counsellor,
                          note: str | None) -> CaseReview:
    async with atomic(ctx) as (s, _):
        row = await s.get(CaseReview, review_id)
        if row is None or row.case_id != case_id:
            raise ActionError(404, "no such review", plain=True)
        if row.done_at is not None:
            raise ActionError(409, "this review is already recorded")
        row.done_at, row.done_by, row.note = utcnow(), actor.id, note
        await _log(s, "review_completed", case_id, actor, review_id=row.id, kind=row.kind, months=row.months)
    return row
