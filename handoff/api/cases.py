"""Counsellor case API: list and read cases. Every read of personal data is audited."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import func, select

from casecore import access, audit
from casecore.db import transaction
from casecore.models import (
    BreakGlass,
    Case,
    CaseNote,
    CaseStatusChange,
    ConsentRecord,
    Conversation,
    Counsellor,
    Message,
)
from handoff.actions import access as access_actions
from handoff.api.deps import Ctx, LeadOnly, Me, Refused
from handoff.api.views import CaseList, CaseRead, View


def face_sheet(c: Case) -> dict[str, Any]:
    """The resident's answers as the counsellor reads them (personal fields decrypted)."""
    return {
        "for_whom": c.for_whom, "problem_text": c.problem_text, "problem_text_ja": c.problem_text_ja,
        "age_band": c.age_band, "district": c.district, "household": c.household,
        "public_assistance": c.public_assistance, "residence": c.residence,
        "contact_method": c.contact_method, "contact_time": c.contact_time,
        "contact_detail": c.contact_detail, "name": c.name,
    }


def case_summary(c: Case) -> dict[str, Any]:
    """The list view: no personal free text, so listing needs no per-case audit row."""
    return {
        "id": c.id, "number": c.number, "status": c.status, "urgent": c.urgent,
        "urgency_reasons": c.urgency_reasons, "categories": c.categories, "language": c.language,
        "channel": c.channel, "profile_id": c.profile_id, "share_consent": c.share_consent,
        "created_at": c.created_at.isoformat(), "updated_at": c.updated_at.isoformat(),
        "assigned_counsellor_id": c.assigned_counsellor_id, "team": c.team,
    }


def message_view(m: Message) -> dict[str, Any]:
    return {
        "id": m.id, "direction": m.direction, "sender": m.sender, "counsellor_id": m.counsellor_id,
        "kind": m.kind, "text": m.text, "language": m.language, "translation": m.translation,
        "translation_language": m.translation_language, "translation_status": m.translation_status,
        "translation_confidence": m.translation_confidence, "choice_id": m.choice_id,
        "media_type": m.media_type, "delivery_status": m.delivery_status,
        "created_at": m.created_at.isoformat(),
    }


router = APIRouter(prefix="/api/cases", tags=["cases"])


@router.get("", response_model=CaseList)
async def list_cases(
    ctx: Ctx,
    me: Me,
    status: str | None = Query(default=None, max_length=16),
    view: str = Query(default="all", pattern=r"^(all|assigned|team|mine)$",
                      description="all I may read; `assigned` to me; my `team`'s; `mine`: held or assigned"),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> dict[str, Any]:
    """The cases this counsellor may read (need-to-know; a lead: every case of their
    municipalities), as coded summaries: listing needs no per-case audit row."""
    async with transaction(ctx.sessions) as s:
        q = access.visible_cases(select(Case), s, me)
        if view == "assigned":
            q = q.where(Case.assigned_counsellor_id == me.id)
        elif view == "team":
            q = q.where(Case.team == me.team) if me.team else q.where(Case.id.is_(None))
        elif view == "mine":
            q = q.where(access.held_or_assigned(me))
        if status:
            q = q.where(Case.status == status)
        total = await s.scalar(select(func.count()).select_from(q.subquery()))
        rows = (await s.scalars(q.order_by(Case.urgent.desc(), Case.id.desc()).limit(limit).offset(offset))).all()
        await audit.record(s, action="list_cases", target_type="case", target_id="*",
                           actor_type="counsellor", actor_id=me.id, detail={"count": len(rows), "view": view})
        return {"cases": [case_summary(c) for c in rows], "total": total}


class BreakGlassBody(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)

    @field_validator("reason")
    @classmethod
    def _real_reason(cls, v: str) -> str:
        v = v.replace("\x00", "").strip()
        if len(v) < 5:
            raise ValueError("say why this case must be read (a few words at least)")
        return v


class BreakGlassOpened(View):
    break_glass_id: int
    until: str


class AssignBody(BaseModel):
    to_login: str | None = Field(default=None, max_length=64)
    team: str | None = Field(default=None, max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")


@router.post("/{case_id}/break-glass", status_code=201, response_model=BreakGlassOpened)
async def break_glass(case_id: int, body: BreakGlassBody, ctx: Ctx, me: Me) -> dict[str, Any]:
    """Read a case outside need-to-know, for a reason: audited with it, and the lead sees it."""
    glass = await access_actions.break_glass(ctx, me, body.reason, case_id=case_id)
    return {"break_glass_id": glass.id, "until": glass.until.isoformat()}


@router.post("/{case_id}/assign", response_model=View)
async def assign(case_id: int, body: AssignBody, ctx: Ctx, lead: LeadOnly) -> dict[str, Any]:
    """A lead assigns or reassigns the case (its counsellor, and its team)."""
    case = await access_actions.assign(ctx, case_id, lead, body.to_login, body.team)
    return {"case_id": case.id, "assigned_counsellor_id": case.assigned_counsellor_id, "team": case.team}


@router.get("/break-glass/recent", response_model=View)
async def recent_break_glass(ctx: Ctx, lead: LeadOnly, limit: int = Query(default=100, ge=1, le=1000)) -> dict[str, Any]:
    """Break-glass reads in the lead's municipalities, newest first, with their reasons."""
    async with transaction(ctx.sessions) as s:
        rows = (await s.scalars(access.scope(select(BreakGlass), lead, BreakGlass.profile_id)
                                .order_by(BreakGlass.id.desc()).limit(limit))).all()
        who = {c.id: c for c in (await s.scalars(select(Counsellor).where(
            Counsellor.id.in_({g.counsellor_id for g in rows})))).all()} if rows else {}
        await audit.record(s, action="read_break_glass", target_type="break_glass", target_id="*",
                           actor_type="counsellor", actor_id=lead.id, detail={"count": len(rows)})
        return {"break_glass": [{
            "id": g.id, "counsellor": who[g.counsellor_id].display_name if g.counsellor_id in who else None,
            "counsellor_id": g.counsellor_id, "case_id": g.case_id, "conversation_id": g.conversation_id,
            "profile_id": g.profile_id, "reason": g.reason, "at": g.at.isoformat(), "until": g.until.isoformat(),
        } for g in rows]}


async def read_basis(s: Any, me: Counsellor, *, case: Case | None = None, conv: Conversation | None = None) -> dict[str, Any]:
    """The audit detail of an allowed read (why it was allowed), or Refused (404, audited)."""
    basis, glass = await access.readable(s, me, case=case, conv=conv)
    if basis is None:
        target = case if case is not None else conv
        assert target is not None
        raise Refused(me, "case" if case is not None else "conversation", target.id, "read")
    return {"basis": basis, **({"break_glass_id": glass.id} if glass else {})}


def consent_view(k: ConsentRecord) -> dict[str, Any]:
    return {"kind": k.kind, "decision": k.decision, "wording_version": k.wording_version,
            "wording_hash": k.wording_hash, "language": k.language, "channel": k.channel,
            "at": k.at.isoformat(), "recorded_by": k.recorded_by}


@router.get("/{case_id}", response_model=CaseRead)
async def read_case(case_id: int, ctx: Ctx, me: Me) -> dict[str, Any]:
    async with transaction(ctx.sessions) as s:
        c = await s.get(Case, case_id)
        if c is None:
            raise Refused(me, "case", case_id, "read")  # out of scope looks the same: no leak
        why = await read_basis(s, me, case=c)
        consents = (await s.scalars(
            select(ConsentRecord).where(ConsentRecord.case_id == c.id).order_by(ConsentRecord.id)
        )).all()
        convs = (await s.scalars(select(Conversation).where(Conversation.case_id == c.id))).all()
        transcript = (await s.scalars(
            select(Message).where(Message.conversation_id.in_([v.id for v in convs])).order_by(Message.id)
        )).all() if convs else []
        history = (await s.scalars(
            select(CaseStatusChange).where(CaseStatusChange.case_id == c.id).order_by(CaseStatusChange.id)
        )).all()
        notes = (await s.scalars(select(CaseNote).where(CaseNote.case_id == c.id).order_by(CaseNote.id))).all()
        await audit.record(s, action="read_case", target_type="case", target_id=c.id,
                           actor_type="counsellor", actor_id=me.id, detail=why)
        await audit.record(s, action="read_transcript", target_type="case", target_id=c.id,
                           actor_type="counsellor", actor_id=me.id, detail={"messages": len(transcript), **why})
        profile = ctx.profiles.get(c.profile_id)
        return {
            **case_summary(c),
            "face_sheet": face_sheet(c),
            "recommended_programmes": [{"id": p, "name": profile.programme_name(p)} for p in c.recommended_programmes],
            "accepted_programmes": c.accepted_programmes,
            "consents": [consent_view(k) for k in consents],
            "conversations": [{"id": v.id, "status": v.status, "channel": v.channel, "owner_counsellor_id": v.owner_counsellor_id} for v in convs],
            "transcript": [message_view(m) for m in transcript],
            "status_history": [{"from": h.from_status, "to": h.to_status, "reason": h.reason, "counsellor_id": h.counsellor_id, "at": h.at.isoformat()} for h in history],
            "notes": [{"id": n.id, "counsellor_id": n.counsellor_id, "text": n.text, "created_at": n.created_at.isoformat()} for n in notes],
            "access": why,
        }
