"""The raw figures of one municipality over one period: counts and codes straight from the case
core. Suppression ("<5") and labels are the report's business; these are exact, for tests and
for the dashboard's own thresholds."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore.casework.models import CaseTriage, Referral
from casecore.models import AuditEvent, Case, ContactPoint, Conversation, Message
from casecore.reporting.models import SurveyAnswer
from casecore.reporting.periods import JST

# Audit actions the report reads (casecore.audit rows written by handoff).
BLOCKED = "contact_blocked"
BLOCKED_ATTEMPT = "blocked_contact_ignored"
WARNED = ("resident_warned", "conversation_warned")  # handoff/api/moderation.py writes resident_warned
REMOVED = "resident_removed"
REQUESTED, CLAIMED = "handoff_requested", "conversation_claimed"
WAIT_BUCKETS = ((5, "〜5分"), (15, "5〜15分"), (30, "15〜30分"), (60, "30分〜1時間"), (240, "1〜4時間"), (None, "4時間超"))


@dataclass
class Figures:
    consultations: int = 0  # conversations whose resident wrote their first message in the period
    by_channel: Counter[str] = field(default_factory=Counter)
    by_language: Counter[str] = field(default_factory=Counter)
    by_hour: Counter[int] = field(default_factory=Counter)  # JST hour of the first message
    declined_or_left: int = 0  # wrote, but never agreed to use the service
    urgent: int = 0
    urgent_by_kind: Counter[str] = field(default_factory=Counter)
    look: int = 0
    look_by_kind: Counter[str] = field(default_factory=Counter)
    cases: int = 0
    by_age_band: Counter[str] = field(default_factory=Counter)
    by_district: Counter[str] = field(default_factory=Counter)
    by_for_whom: Counter[str] = field(default_factory=Counter)
    by_category: Counter[str] = field(default_factory=Counter)
    programmes_used: Counter[str] = field(default_factory=Counter)  # accepted on cases, not recommended
    triage: Counter[str] | None = None  # the latest 振り分け per case (casework_triage)
    referrals: Counter[str] | None = None
    removals: int = 0  # conversations removed by a lead or blocked (one removed, then blocked, is one)
    blocks: int = 0
    removals_by_reason: Counter[str] = field(default_factory=Counter)
    warnings: int | None = None
    blocked_attempts: int = 0
    delivery_failures: int = 0
    delivery_failures_by_channel: Counter[str] = field(default_factory=Counter)
    handoffs: int = 0
    unclaimed: int = 0
    waits_minutes: list[float] = field(default_factory=list)  # request → claim
    responses_minutes: list[float] = field(default_factory=list)  # request → counsellor's first message
    survey: dict[str, Counter[str]] = field(default_factory=dict)
    survey_answers: int = 0
    survey_comments: int = 0

    def wait_buckets(self) -> Counter[str]:
        out: Counter[str] = Counter({label: 0 for _, label in WAIT_BUCKETS})
        for minutes in self.waits_minutes:
            out[next(label for limit, label in WAIT_BUCKETS if limit is None or minutes < limit)] += 1
        return out


def _stats(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "median": None, "p90": None, "mean": None}
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"n": len(values), "median": round(statistics.median(ordered), 1), "p90": round(p90, 1),
            "mean": round(statistics.fmean(ordered), 1)}


def wait_stats(fig: Figures) -> dict[str, float | int | None]:
    return _stats(fig.waits_minutes)


def response_stats(fig: Figures) -> dict[str, float | int | None]:
    return _stats(fig.responses_minutes)


def first_resident_message():  # type: ignore[no-untyped-def]
    """conversation_id → when the resident first wrote (a text, a choice or media). A web chat
    session opened by a page view, or a LINE follow, has no such message and is not counted."""
    return (
        select(Message.conversation_id.label("cid"), func.min(Message.created_at).label("first_at"))
        .where(Message.direction == "in", Message.sender == "resident",
               or_(Message.text.is_not(None), Message.choice_id.is_not(None), Message.media_type.is_not(None)))
        .group_by(Message.conversation_id)
        .subquery()
    )


async def _consultations(s: AsyncSession, fig: Figures, profile_id: str, start: datetime, end: datetime) -> None:
    first = first_resident_message()
    rows = (await s.execute(
        select(Conversation.channel, Conversation.language, Conversation.consented_use, Conversation.urgent,
               Conversation.urgency_reasons, Conversation.look_reasons, first.c.first_at)
        .join(first, first.c.cid == Conversation.id)
        .where(Conversation.profile_id == profile_id, first.c.first_at >= start, first.c.first_at < end)
    )).all()
    for r in rows:
        fig.consultations += 1
        fig.by_channel[r.channel] += 1
        fig.by_language[r.language] += 1
        fig.by_hour[r.first_at.astimezone(JST).hour] += 1
        fig.declined_or_left += not r.consented_use
        urgent_kinds, look_kinds = set(r.urgency_reasons or []), set(r.look_reasons or [])
        fig.urgent += bool(r.urgent or urgent_kinds)
        fig.urgent_by_kind.update(urgent_kinds)
        fig.look += bool(look_kinds)
        fig.look_by_kind.update(look_kinds)


async def _cases(s: AsyncSession, fig: Figures, profile_id: str, start: datetime, end: datetime) -> None:
    # Only non-personal columns are selected: nothing is decrypted for a report.
    cols = [Case.id, Case.age_band, Case.district, Case.for_whom, Case.categories, Case.accepted_programmes]
    rows = (await s.execute(select(*cols).where(
        Case.profile_id == profile_id, Case.created_at >= start, Case.created_at < end))).all()
    fig.triage = Counter()
    # The triage outcome of a case is its latest 振り分け (issue 13); a case without one counts as unknown.
    latest = (select(CaseTriage.case_id, func.max(CaseTriage.id).label("tid"))
              .join(Case, Case.id == CaseTriage.case_id)
              .where(Case.profile_id == profile_id, Case.created_at >= start, Case.created_at < end)
              .group_by(CaseTriage.case_id).subquery())
    outcomes = dict((await s.execute(select(CaseTriage.case_id, CaseTriage.outcome)
                                     .join(latest, latest.c.tid == CaseTriage.id))).all())
    for r in rows:
        fig.cases += 1
        fig.by_age_band[r.age_band or "unknown"] += 1
        fig.by_district[r.district or "unknown"] += 1
        fig.by_for_whom[r.for_whom or "unknown"] += 1
        fig.by_category.update(set(r.categories or []))
        fig.programmes_used.update(set(r.accepted_programmes or []))
        fig.triage[outcomes.get(r.id, "unknown")] += 1


async def _referrals(s: AsyncSession, fig: Figures, profile_id: str, start: datetime, end: datetime) -> None:
    """Referrals made in the period, by agency (issue 13's casework_referral)."""
    rows = (await s.scalars(select(Referral.agency).join(Case, Case.id == Referral.case_id).where(
        Case.profile_id == profile_id, Referral.made_at >= start, Referral.made_at < end))).all()
    fig.referrals = Counter(str(a) for a in rows)


async def _audit(s: AsyncSession, fig: Figures, profile_id: str, start: datetime, end: datetime) -> None:
    # Block rows target the contact point: its profile says whose they are.
    contact_rows = (await s.execute(
        select(AuditEvent.action, AuditEvent.detail)
        .join(ContactPoint, and_(AuditEvent.target_type == "contact_point",
                                 cast(ContactPoint.id, String) == AuditEvent.target_id))
        .where(ContactPoint.profile_id == profile_id, AuditEvent.action.in_([BLOCKED, BLOCKED_ATTEMPT]),
               AuditEvent.at >= start, AuditEvent.at < end)
    )).all()
    removed: set[str] = set()
    for n, (action, detail) in enumerate(contact_rows):
        if action == BLOCKED:
            fig.blocks += 1
            fig.removals_by_reason[str((detail or {}).get("reason") or "other")] += 1
            removed.add(str((detail or {}).get("conversation_id") or f"block:{n}"))
        else:
            fig.blocked_attempts += 1
    # Removals by a lead (the step before a block, seed 002 §6(1)⑥) target the conversation.
    removal_rows = (await s.execute(
        select(AuditEvent.target_id, AuditEvent.detail)
        .join(Conversation, and_(AuditEvent.target_type == "conversation",
                                 cast(Conversation.id, String) == AuditEvent.target_id))
        .where(Conversation.profile_id == profile_id, AuditEvent.action == REMOVED,
               AuditEvent.at >= start, AuditEvent.at < end)
    )).all()
    for target_id, detail in removal_rows:
        if str(target_id) not in removed:
            fig.removals_by_reason[str((detail or {}).get("reason") or "other")] += 1
        removed.add(str(target_id))
    fig.removals = len(removed)
    if await s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action.in_(WARNED))):
        fig.warnings = await s.scalar(
            select(func.count()).select_from(AuditEvent)
            .join(Conversation, and_(AuditEvent.target_type == "conversation",
                                     cast(Conversation.id, String) == AuditEvent.target_id))
            .where(Conversation.profile_id == profile_id, AuditEvent.action.in_(WARNED),
                   AuditEvent.at >= start, AuditEvent.at < end)) or 0


async def _trouble(s: AsyncSession, fig: Figures, profile_id: str, start: datetime, end: datetime) -> None:
    rows = (await s.scalars(
        select(Message.channel).join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.profile_id == profile_id, Message.delivery_status == "failed",
               Message.created_at >= start, Message.created_at < end)
    )).all()
    fig.delivery_failures = len(rows)
    fig.delivery_failures_by_channel = Counter(rows)


async def _waits(s: AsyncSession, fig: Figures, profile_id: str, start: datetime, end: datetime) -> None:
    """Each hand-off request in the period → the next claim, and the counsellor's first message."""
    rows = (await s.execute(
        select(AuditEvent.action, AuditEvent.at, Conversation.id)
        .join(Conversation, and_(AuditEvent.target_type == "conversation", cast(Conversation.id, String) == AuditEvent.target_id))
        .where(Conversation.profile_id == profile_id, AuditEvent.action.in_([REQUESTED, CLAIMED]),
               AuditEvent.at >= start)
        .order_by(Conversation.id, AuditEvent.at, AuditEvent.id)
    )).all()
    replies = (await s.execute(
        select(Message.conversation_id, Message.created_at)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Conversation.profile_id == profile_id, Message.sender == "counsellor", Message.created_at >= start)
        .order_by(Message.conversation_id, Message.created_at)
    )).all()
    reply_times: dict[int, list[datetime]] = {}
    for cid, at in replies:
        reply_times.setdefault(cid, []).append(at)
    pending: dict[int, datetime] = {}
    for action, at, cid in rows:
        if action == REQUESTED:
            if cid in pending or not start <= at < end:
                continue  # a repeated request keeps the first time; a later one belongs to next month
            pending[cid] = at
            fig.handoffs += 1
            first_reply = next((t for t in reply_times.get(cid, []) if t >= at), None)
            if first_reply is not None:
                fig.responses_minutes.append((first_reply - at).total_seconds() / 60)
        elif cid in pending:
            fig.waits_minutes.append((at - pending.pop(cid)).total_seconds() / 60)
    fig.unclaimed = len(pending)


async def _survey(s: AsyncSession, fig: Figures, profile_id: str, months: list[str]) -> None:
    rows = (await s.execute(select(SurveyAnswer.helped, SurveyAnswer.easy, SurveyAnswer.again, SurveyAnswer.has_comment)
                            .where(SurveyAnswer.profile_id == profile_id, SurveyAnswer.month.in_(months)))).all()
    fig.survey = {q: Counter() for q in ("helped", "easy", "again")}
    for r in rows:
        fig.survey_answers += 1
        fig.survey_comments += bool(r.has_comment)
        for q in ("helped", "easy", "again"):
            fig.survey[q][getattr(r, q) or "no_answer"] += 1


async def compute(s: AsyncSession, profile_id: str, start: datetime, end: datetime, months: list[str]) -> Figures:
    """Every figure of one profile for [start, end); `months` (YYYY-MM) select the survey rows."""
    fig = Figures()
    await _consultations(s, fig, profile_id, start, end)
    await _cases(s, fig, profile_id, start, end)
    await _referrals(s, fig, profile_id, start, end)
    await _audit(s, fig, profile_id, start, end)
    await _trouble(s, fig, profile_id, start, end)
    await _waits(s, fig, profile_id, start, end)
    await _survey(s, fig, profile_id, months)
    return fig


async def monthly_volumes(s: AsyncSession, profile_id: str, bounds: list[tuple[str, datetime, datetime]]) -> dict[str, int]:
    """New consultations per month for the chart: one query over the whole span."""
    first = first_resident_message()
    lo, hi = bounds[0][1], bounds[-1][2]
    times = (await s.scalars(select(first.c.first_at).join(Conversation, Conversation.id == first.c.cid).where(
        Conversation.profile_id == profile_id, first.c.first_at >= lo, first.c.first_at < hi))).all()
    out = {label: 0 for label, _, _ in bounds}
    for t in times:
        for label, a, b in bounds:
            if a <= t < b:
                out[label] += 1
    return out


def as_dict(fig: Figures) -> dict[str, Any]:
    return {k: (dict(v) if isinstance(v, Counter) else v) for k, v in fig.__dict__.items()}
