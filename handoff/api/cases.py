"""Counsellor case API: list and read cases. Every read of personal data is audited."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import func, select

from casecore import access, audit
from casecore.db import transaction
from casecore.models import (
    Case,
    CaseNote,
    CaseStatusChange,
    ConsentRecord,
    Conversation,
    Message,
)
from handoff.api.deps import Ctx, Me
from handoff.api.views import CaseList, CaseRead


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
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> dict[str, Any]:
    async with transaction(ctx.sessions) as s:
        q = access.scope(select(Case), me, Case.profile_id)
        if status:
            q = q.where(Case.status == status)
        total = await s.scalar(select(func.count()).select_from(q.subquery()))
        rows = (await s.scalars(q.order_by(Case.urgent.desc(), Case.id.desc()).limit(limit).offset(offset))).all()
        await audit.record(s, action="list_cases", target_type="case", target_id="*",
                           actor_type="counsellor", actor_id=me.id, detail={"count": len(rows)})
        return {"cases": [case_summary(c) for c in rows], "total": total}


def consent_view(k: ConsentRecord) -> dict[str, Any]:
    return {"kind": k.kind, "decision": k.decision, "wording_version": k.wording_version,
            "wording_hash": k.wording_hash, "language": k.language, "channel": k.channel,
            "at": k.at.isoformat(), "recorded_by": k.recorded_by}


@router.get("/{case_id}", response_model=CaseRead)
async def read_case(case_id: int, ctx: Ctx, me: Me) -> dict[str, Any]:
    async with transaction(ctx.sessions) as s:
        c = await s.get(Case, case_id)
        if c is None or not access.can_see(me, c.profile_id):
            raise HTTPException(404, "no such case")  # out of scope looks the same: no leak
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
                           actor_type="counsellor", actor_id=me.id)
        await audit.record(s, action="read_transcript", target_type="case", target_id=c.id,
                           actor_type="counsellor", actor_id=me.id, detail={"messages": len(transcript)})
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
        }
