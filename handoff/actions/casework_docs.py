"""Assessment sheets and support plans (issue 13): each save is a new encrypted version
checked against its template (dialogs/casework/*.yaml); the 支援調整会議 approval is recorded
on the plan version it approved and schedules the plan reviews at 3, 6 and 12 months."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from casecore.casework.models import DOCUMENT_KINDS, CaseDocument
from casecore.models import Counsellor
from casecore.types import utcnow
from dialogs.casework_templates import TemplateError, template
from handoff.actions.base import ActionError, atomic
from handoff.actions.casework import _log, case_row, schedule_reviews
from handoff.context import HandoffContext

APPROVER_ROLES = ("lead", "admin")  # the 主任相談支援員 holds the 支援調整会議


async def save_document(ctx: HandoffContext, case_id: int, actor: Counsellor, kind: str,
                        content: dict[str, Any], base_version: int | None) -> CaseDocument:
    """A new version. `base_version` is the version the counsellor edited (None for the first):
    if someone saved meanwhile, 409, so nobody's edit is silently overwritten."""
    if kind not in DOCUMENT_KINDS:
        raise ActionError(404, "no such document", plain=True)
    tpl = template(kind)
    try:
        cleaned = tpl.clean(content)
    except TemplateError as exc:
        raise ActionError(422, str(exc)) from None
    async with atomic(ctx) as (s, _):
        await case_row(s, case_id)
        latest = await s.scalar(select(func.max(CaseDocument.version)).where(
            CaseDocument.case_id == case_id, CaseDocument.kind == kind)) or 0
        if (base_version or 0) != latest:
            raise ActionError(409, "a newer version was saved meanwhile; reload it first", latest=latest)
        doc = CaseDocument(case_id=case_id, kind=kind, version=latest + 1, template_id=tpl.id,
                           template_version=tpl.version, content=cleaned, counsellor_id=actor.id,
                           created_at=utcnow())
        s.add(doc)
        await s.flush()
        await _log(s, f"{kind}_saved", case_id, actor, version=doc.version, items=len(cleaned))
    return doc


async def approve_plan(ctx: HandoffContext, case_id: int, version: int, actor: Counsellor, *,
                       meeting_on: date, note: str | None) -> CaseDocument:
    """Record that the 支援調整会議 approved this plan version; the reviews follow from its date."""
    if actor.role not in APPROVER_ROLES:
        raise ActionError(403, "the 支援調整会議 approval is recorded by a lead (主任相談支援員)")
    async with atomic(ctx) as (s, _):
        doc = await s.scalar(select(CaseDocument).where(
            CaseDocument.case_id == case_id, CaseDocument.kind == "plan", CaseDocument.version == version))
        if doc is None:
            raise ActionError(404, "no such plan version", plain=True)
        if doc.approved_on is not None:
            raise ActionError(409, "this plan version is already approved")
        doc.approved_on, doc.approved_by, doc.approval_note = meeting_on, actor.id, note
        await schedule_reviews(s, case_id, "plan_review", meeting_on)
        await _log(s, "plan_approved", case_id, actor, version=version, meeting_on=meeting_on.isoformat())
    return doc
