"""Case work API (issue 13): the case list with search and filters, a case's work (routing
with reasons, triage, referrals, assessment and plan, reviews), its changes and the printable
相談受付票. Every case route takes the case through deps.CaseInScope (the access rules) and
every read of personal data is audited; changes go through handoff.actions.casework*."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import exists, func, select

from casecore import access, audit
from casecore.casework import search
from casecore.casework.models import CaseDocument, CaseReview, CaseTriage, Referral
from casecore.casework.schedule import local_today
from casecore.db import transaction
from casecore.lifecycle import CASE
from casecore.models import Case, Conversation, Counsellor
from casecore.types import utcnow
from dialogs.casework_templates import template
from handoff import casework_views as V
from handoff.actions import case as case_actions
from handoff.actions import casework as work
from handoff.actions import casework_docs as docs
from handoff.api.cases import case_summary, face_sheet
from handoff.api.deps import CaseInScope, Ctx, Lead, Me
from handoff.casework_pdf import intake_sheet_pdf
from i18n.catalog import catalog

router = APIRouter(prefix="/api/casework", tags=["casework"])
MAX_LIST = 2_000  # cases read per search before the in-memory filters (a centre's few years)
Text = Field(default=None, max_length=4_000)
CODED = ("for_whom", "age_band", "household", "public_assistance", "residence")


def _audit_read(s: Any, me: Counsellor, action: str, case_id: int | str, **detail: Any) -> Any:
    return audit.record(s, action=action, target_type="case", target_id=case_id, actor_type="counsellor",
                        actor_id=me.id, detail=detail)


def _handled_by(counsellor_id: int) -> Any:
    """Cases a counsellor works on: holds one of its conversations or recorded its triage."""
    return (exists().where(Conversation.case_id == Case.id, Conversation.owner_counsellor_id == counsellor_id)
            | exists().where(CaseTriage.case_id == Case.id, CaseTriage.counsellor_id == counsellor_id))


def _overdue(today: date) -> Any:
    return exists().where(CaseReview.case_id == Case.id, CaseReview.done_at.is_(None), CaseReview.due_on < today)


@router.get("/cases")
async def list_cases(
    ctx: Ctx, me: Me,
    q: str | None = Query(default=None, max_length=100, description="case number, name or phone"),
    status: str | None = Query(default=None, max_length=16),
    counsellor: int | None = Query(default=None),
    programme: str | None = Query(default=None, max_length=64),
    urgent: bool | None = Query(default=None),
    overdue: bool = Query(default=False),
    limit: int = Query(default=100, ge=1, le=500),
) -> dict[str, Any]:
    """The case list: by case number (prefix), by name or phone through the blind index (no
    plaintext column is searched), filtered by status, counsellor, programme, urgency and
    overdue review. The query text is never logged or audited, only which filters were used."""
    today = local_today(utcnow())
    async with transaction(ctx.sessions) as s:
        sel = access.scope(select(Case), me, Case.profile_id)
        if q and q.strip():
            text = q.strip()
            ids = await search.matching_case_ids(s, text)
            sel = sel.where(Case.number.startswith(text, autoescape=True) | Case.id.in_(ids))
        if status:
            sel = sel.where(Case.status == status)
        if counsellor is not None:
            sel = sel.where(_handled_by(counsellor))
        if urgent is not None:
            sel = sel.where(Case.urgent.is_(urgent))
        if overdue:
            sel = sel.where(_overdue(today))
        rows = (await s.scalars(sel.order_by(Case.urgent.desc(), Case.id.desc()).limit(MAX_LIST))).all()
        if programme:  # programmes are JSON lists: filtered here, portably
            rows = [c for c in rows if programme in (c.accepted_programmes or c.recommended_programmes or [])]
        late = set((await s.scalars(select(CaseReview.case_id).where(
            CaseReview.case_id.in_([c.id for c in rows[:limit]]), CaseReview.done_at.is_(None),
            CaseReview.due_on < today))).all()) if rows else set()
        shown = rows[:limit]
        # The list shows names: a read of personal data, audited with the cases it showed.
        await _audit_read(s, me, "search_cases", "*", count=len(shown), ids=[c.id for c in shown][:100],
                          filters=sorted(k for k, v in {"q": q, "status": status, "counsellor": counsellor,
                                                        "programme": programme, "urgent": urgent,
                                                        "overdue": overdue or None}.items() if v is not None))
        names = {p.id: prof.programme_name(p.id) for prof in ctx.profiles.all() if access.can_see(me, prof.id)
                 for p in prof.programmes}
        return {"total": len(rows), "programme_names": names, "cases": [
            {**case_summary(c), "name": c.name, "overdue_review": c.id in late,
             "programmes": c.accepted_programmes or c.recommended_programmes} for c in shown]}


async def _documents(s: Any, case_id: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("assessment", "plan"):
        versions = (await s.scalars(select(CaseDocument).where(
            CaseDocument.case_id == case_id, CaseDocument.kind == kind).order_by(CaseDocument.version.desc()))).all()
        out[kind] = {"latest": V.document_view(versions[0] if versions else None),
                     "versions": [{"version": d.version, "created_at": d.created_at.isoformat(),
                                   "counsellor_id": d.counsellor_id,
                                   "approved_on": d.approved_on.isoformat() if d.approved_on else None}
                                  for d in versions]}
    return out


@router.get("/cases/{case_id}")
async def read_work(case: CaseInScope, ctx: Ctx, me: Me) -> dict[str, Any]:
    """Everything the case work screen shows. An audited read."""
    today = local_today(utcnow())
    profile = ctx.profiles.get(case.profile_id)
    async with transaction(ctx.sessions) as s:
        c = await s.get(Case, case.id)
        assert c is not None
        triage = (await s.scalars(select(CaseTriage).where(CaseTriage.case_id == c.id).order_by(CaseTriage.id))).all()
        refs = (await s.scalars(select(Referral).where(Referral.case_id == c.id).order_by(Referral.id))).all()
        reviews = (await s.scalars(select(CaseReview).where(CaseReview.case_id == c.id)
                                   .order_by(CaseReview.due_on, CaseReview.id))).all()
        documents = await _documents(s, c.id)
        consent = await work.sharing_consent(s, c)
        await _audit_read(s, me, "read_casework", c.id)
        return {
            **case_summary(c), "face_sheet": face_sheet(c), "routing": V.routing_view(profile, c),
            "face_sheet_labels": {k: catalog("ja").label(v) for k in CODED if (v := getattr(c, k)) is not None},
            "accepted_programmes": c.accepted_programmes, "allowed_actions": CASE.allowed(c.status),
            "triage": [V.triage_view(t) for t in triage],
            "referrals": [V.referral_view(r, profile) for r in refs],
            "sharing_consent": consent.decision if consent else None,
            "agencies": [{"id": a.id, "name": a.name} for a in profile.agencies],
            "documents": documents,
            "reviews": [V.review_view(r, today, c.number) for r in reviews],
        }


@router.get("/cases/{case_id}/documents/{kind}/{version}")
async def read_version(case: CaseInScope, kind: Literal["assessment", "plan"], version: int, ctx: Ctx,
                       me: Me) -> dict[str, Any]:
    async with transaction(ctx.sessions) as s:
        d = await s.scalar(select(CaseDocument).where(CaseDocument.case_id == case.id, CaseDocument.kind == kind,
                                                      CaseDocument.version == version))
        if d is None:
            raise HTTPException(404, "no such version")
        await _audit_read(s, me, f"read_{kind}", case.id, version=version)
        return {"document": V.document_view(d)}


@router.get("/templates/{kind}")
async def read_template(kind: Literal["assessment", "plan"], me: Me) -> dict[str, Any]:
    return template(kind).model_dump()


class TriageBody(BaseModel):
    outcome: Literal["centre_support", "information", "referral", "welfare_office"]
    reason: str | None = Text


@router.post("/cases/{case_id}/triage", status_code=201)
async def triage(case: CaseInScope, body: TriageBody, ctx: Ctx, me: Me) -> dict[str, Any]:
    row = await work.record_triage(ctx, case.id, me, body.outcome, _clean(body.reason))
    return {"triage": V.triage_view(row)}


ShareItem = Literal["face_sheet", "assessment", "plan", "contact", "history"]


class ReferralBody(BaseModel):
    agency: str = Field(max_length=64)
    items: list[ShareItem] = Field(min_length=1, max_length=5)
    note: str | None = Text


@router.post("/cases/{case_id}/referrals", status_code=201)
async def refer(case: CaseInScope, body: ReferralBody, ctx: Ctx, me: Me) -> dict[str, Any]:
    """Refused (403) unless the resident's latest decision on sharing with agencies is a grant."""
    ref = await work.refer(ctx, case.id, me, agency=body.agency, items=list(dict.fromkeys(body.items)),
                           note=_clean(body.note))
    return {"referral": V.referral_view(ref, ctx.profiles.get(case.profile_id))}


class ReferralUpdate(BaseModel):
    acceptance: Literal["pending", "accepted", "declined"] | None = None
    outcome: str | None = Text


@router.patch("/cases/{case_id}/referrals/{referral_id}")
async def update_referral(case: CaseInScope, referral_id: int, body: ReferralUpdate, ctx: Ctx, me: Me) -> dict[str, Any]:
    ref = await work.update_referral(ctx, case.id, referral_id, me, acceptance=body.acceptance,
                                     outcome=_clean(body.outcome))
    return {"referral": V.referral_view(ref, ctx.profiles.get(case.profile_id))}


class DocumentBody(BaseModel):
    content: dict[str, Any]
    base_version: int | None = None


@router.put("/cases/{case_id}/documents/{kind}")
async def save_document(case: CaseInScope, kind: Literal["assessment", "plan"], body: DocumentBody, ctx: Ctx,
                        me: Me) -> dict[str, Any]:
    """Save a new version (409 when someone saved since `base_version`)."""
    doc = await docs.save_document(ctx, case.id, me, kind, body.content, body.base_version)
    return {"document": V.document_view(doc)}


class ApprovalBody(BaseModel):
    meeting_on: date
    note: str | None = Text


@router.post("/cases/{case_id}/documents/plan/{version}/approve")
async def approve_plan(case: CaseInScope, version: int, body: ApprovalBody, ctx: Ctx, me: Me) -> dict[str, Any]:
    """The 支援調整会議 approved this plan version (a lead records it); reviews follow."""
    doc = await docs.approve_plan(ctx, case.id, version, me, meeting_on=body.meeting_on, note=_clean(body.note))
    return {"document": V.document_view(doc)}


class PlacementBody(BaseModel):
    placed_on: date


@router.post("/cases/{case_id}/placement", status_code=201)
async def placement(case: CaseInScope, body: PlacementBody, ctx: Ctx, me: Me) -> dict[str, Any]:
    rows = await work.record_placement(ctx, case.id, me, body.placed_on)
    today = local_today(utcnow())
    return {"reviews": [V.review_view(r, today, case.number) for r in rows]}


class ReviewDone(BaseModel):
    note: str | None = Text


@router.post("/cases/{case_id}/reviews/{review_id}/done")
async def review_done(case: CaseInScope, review_id: int, body: ReviewDone, ctx: Ctx, me: Me) -> dict[str, Any]:
    row = await work.complete_review(ctx, case.id, review_id, me, _clean(body.note))
    return {"review": V.review_view(row, local_today(utcnow()), case.number)}


class ReopenBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2_000)


@router.post("/cases/{case_id}/reopen")
async def reopen(case: CaseInScope, body: ReopenBody, ctx: Ctx, me: Me) -> dict[str, Any]:
    """A closed (or withdrawn) case opens again, back to assessment (casecore.lifecycle)."""
    new = await case_actions.set_status(ctx, case.id, me, "reopen", _clean(body.reason))
    return {"case_id": case.id, "status": new, "allowed_actions": CASE.allowed(new)}


async def _reviews(ctx: Any, me: Counsellor, when: Any, action: str, *, mine: bool) -> dict[str, Any]:
    """Reviews not recorded yet, of the cases `me` reads without break-glass (need-to-know);
    `mine`: only the cases `me` is assigned to or holds or held."""
    today = local_today(utcnow())
    async with transaction(ctx.sessions) as s:
        sel = access.visible_cases(select(CaseReview, Case.number).join(Case, Case.id == CaseReview.case_id), s,
                                   me).where(CaseReview.done_at.is_(None), when(today))
        if mine:
            sel = sel.where(access.held_or_assigned(me))
        rows = (await s.execute(sel.order_by(CaseReview.due_on, CaseReview.id).limit(500))).all()
        await _audit_read(s, me, action, "*", count=len(rows))
        return {"date": today.isoformat(), "reviews": [V.review_view(r, today, n) for r, n in rows]}


@router.get("/reviews/today")
async def reviews_today(ctx: Ctx, me: Me, scope: Literal["mine", "all"] = "mine") -> dict[str, Any]:
    """The console's reminders: reviews and follow-ups due today (Japanese date) of the
    counsellor's own cases; `scope=all`: of every case they may read (a lead: the centre's)."""
    return await _reviews(ctx, me, lambda d: CaseReview.due_on == d, "list_reviews_today", mine=scope == "mine")


@router.get("/reviews/overdue")
async def reviews_overdue(ctx: Ctx, me: Lead) -> dict[str, Any]:
    """For the lead: every review past its day and not recorded."""
    return await _reviews(ctx, me, lambda d: CaseReview.due_on < d, "list_reviews_overdue", mine=False)


@router.get("/cases/{case_id}/intake-sheet.pdf")
async def intake_sheet(case: CaseInScope, ctx: Ctx, me: Me) -> Response:
    """The printable 相談受付票 of the face sheet. An audited read (an export, too)."""
    profile = ctx.profiles.get(case.profile_id)
    async with transaction(ctx.sessions) as s:
        c = await s.get(Case, case.id)
        assert c is not None
        last = await s.scalar(select(CaseTriage).where(CaseTriage.case_id == c.id).order_by(CaseTriage.id.desc()).limit(1))
        count = await s.scalar(select(func.count()).select_from(Referral).where(Referral.case_id == c.id))
        await _audit_read(s, me, "export_intake_sheet", c.id)
        triage = V.triage_view(last) if last else None
    # Laying out the page (and reading the font) takes a moment: off the event loop.
    pdf = await asyncio.to_thread(intake_sheet_pdf, c, profile, V.routing_view(profile, c), triage, count or 0)
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="intake-{c.number}.pdf"', "Cache-Control": "no-store"})


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.replace("\x00", "").strip()
    return text or None
