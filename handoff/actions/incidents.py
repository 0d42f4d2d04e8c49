"""Incidents (issue 12; 000 別紙11 第8条): a lead records a suspected breach, the
municipality's contact is notified after the commit, and every step joins its timeline."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from casecore import audit
from casecore.models import Counsellor, IncidentRecord
from casecore.types import utcnow
from handoff.actions.base import ActionError, atomic
from handoff.context import HandoffContext

STATUSES = ("open", "contained", "closed")
Notify = Callable[[dict[str, Any]], Awaitable[bool]]


def view(r: IncidentRecord) -> dict[str, Any]:
    at = lambda v: v.isoformat() if v else None  # noqa: E731
    return {"id": r.id, "profile_id": r.profile_id, "summary": r.summary, "data_kinds": r.data_kinds,
            "resident_count": r.resident_count, "case_numbers": r.case_numbers, "measures": r.measures,
            "status": r.status, "occurred_at": at(r.occurred_at), "found_at": at(r.found_at),
            "notified_at": at(r.notified_at), "recorded_by": r.recorded_by, "timeline": r.timeline}


def _entry(actor: Counsellor | None, text: str) -> dict[str, Any]:
    return {"at": utcnow().isoformat(), "by": actor.login if actor else "system", "entry": text}


async def record(ctx: HandoffContext, actor: Counsellor, *, profile_id: str, summary: str, data_kinds: list[str],
                 case_numbers: list[str], measures: str | None, occurred_at: datetime | None,
                 found_at: datetime | None, notify: Notify | None) -> int:
    async with atomic(ctx) as (s, after):
        rec = IncidentRecord(profile_id=profile_id, summary=summary, data_kinds=list(data_kinds),
                             resident_count=len(set(case_numbers)), case_numbers=list(case_numbers),
                             measures=measures, status="open", occurred_at=occurred_at,
                             found_at=found_at or utcnow(), recorded_by=actor.id,
                             timeline=[_entry(actor, "recorded")])
        s.add(rec)
        await s.flush()
        await audit.record(s, action="incident_recorded", target_type="incident", target_id=rec.id,
                           actor_type="counsellor", actor_id=actor.id,
                           detail={"profile_id": profile_id, "residents": rec.resident_count, "data_kinds": data_kinds})
        if notify is not None:
            after.call(_notify_then_mark, ctx, rec.id, notify, view(rec))
        return rec.id


async def _notify_then_mark(ctx: HandoffContext, incident_id: int, notify: Notify, data: dict[str, Any]) -> None:
    sent = await notify(data)
    async with atomic(ctx) as (s, _):
        rec = await s.get(IncidentRecord, incident_id)
        if rec is None:
            return
        if sent:
            rec.notified_at = utcnow()
        rec.timeline = [*rec.timeline, _entry(None, "municipality notified" if sent else "notification failed")]
        await audit.record(s, action="incident_notified" if sent else "incident_notify_failed",
                           target_type="incident", target_id=incident_id)


async def add_to_timeline(ctx: HandoffContext, incident_id: int, actor: Counsellor, entry: str,
                          status: str | None = None) -> None:
    if status is not None and status not in STATUSES:
        raise ActionError(422, f"status must be one of {', '.join(STATUSES)}")
    async with atomic(ctx) as (s, _):
        rec = await s.get(IncidentRecord, incident_id)
        if rec is None:
            raise ActionError(404, "no such incident", plain=True)
        rec.timeline = [*rec.timeline, _entry(actor, entry + (f" [status: {status}]" if status else ""))]
        if status:
            rec.status = status
        await audit.record(s, action="incident_updated", target_type="incident", target_id=incident_id,
                           actor_type="counsellor", actor_id=actor.id, detail={"status": rec.status})
