"""Everything held about one resident, as one document (開示請求, a resident's request to see
their data): the contact point, each conversation with its messages, each case with its face
sheet, status history and notes, and the consent ledger. Read-only; the caller audits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore.models import (
    Case,
    CaseNote,
    CaseStatusChange,
    ConsentRecord,
    ContactPoint,
    Conversation,
    Message,
)

FACE_FIELDS = ("for_whom", "categories", "problem_text", "problem_text_ja", "age_band", "district", "household",
               "public_assistance", "residence", "contact_method", "contact_time", "contact_detail", "name",
               "share_consent", "urgent", "urgency_reasons", "recommended_programmes", "accepted_programmes")


def _at(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _case(c: Case, history: list[CaseStatusChange], notes: list[CaseNote]) -> dict[str, Any]:
    return {
        "number": c.number, "status": c.status, "language": c.language, "channel": c.channel,
        "created_at": _at(c.created_at), "updated_at": _at(c.updated_at), "legal_hold": c.legal_hold,
        "face_sheet": {f: getattr(c, f) for f in FACE_FIELDS},
        "status_history": [{"from": h.from_status, "to": h.to_status, "reason": h.reason, "at": _at(h.at)} for h in history],
        "notes": [{"text": n.text, "at": _at(n.created_at)} for n in notes],
    }


def _message(m: Message) -> dict[str, Any]:
    return {"at": _at(m.created_at), "direction": m.direction, "sender": m.sender, "kind": m.kind, "text": m.text,
            "language": m.language, "translation": m.translation, "translation_language": m.translation_language}


async def _media(s: AsyncSession, conversation_id: int) -> list[dict[str, Any]]:
    """The pictures and documents of a conversation, listed (the files themselves are the
    counsellor's to hand over from the console; each is named by its id)."""
    from sqlalchemy.orm import defer

    from casecore.media import ChannelMedia

    rows = (await s.scalars(select(ChannelMedia).where(ChannelMedia.conversation_id == conversation_id)
                            .options(defer(ChannelMedia.data), defer(ChannelMedia.thumbnail))
                            .order_by(ChannelMedia.id))).all()
    return [{"id": r.id, "at": _at(r.created_at), "direction": r.direction, "kind": r.kind, "status": r.status,
             "content_type": r.content_type, "size": r.size, "filename": r.filename} for r in rows]


async def resident_record(s: AsyncSession, contact_point_id: int) -> dict[str, Any]:
    cp = await s.get(ContactPoint, contact_point_id)
    if cp is None:
        raise LookupError("no such resident")
    convs = (await s.scalars(select(Conversation).where(Conversation.contact_point_id == cp.id).order_by(Conversation.id))).all()
    cases = (await s.scalars(select(Case).where(Case.contact_point_id == cp.id).order_by(Case.id))).all()
    out_cases = []
    for c in cases:
        history = (await s.scalars(select(CaseStatusChange).where(CaseStatusChange.case_id == c.id).order_by(CaseStatusChange.id))).all()
        notes = (await s.scalars(select(CaseNote).where(CaseNote.case_id == c.id).order_by(CaseNote.id))).all()
        out_cases.append(_case(c, list(history), list(notes)))
    out_convs = []
    for v in convs:
        msgs = (await s.scalars(select(Message).where(Message.conversation_id == v.id).order_by(Message.id))).all()
        out_convs.append({"status": v.status, "channel": v.channel, "language": v.language,
                          "created_at": _at(v.created_at), "messages": [_message(m) for m in msgs],
                          "media": await _media(s, v.id)})
    ledger = (await s.scalars(select(ConsentRecord).where(ConsentRecord.contact_point_id == cp.id).order_by(ConsentRecord.id))).all()
    return {
        "resident": {"profile_id": cp.profile_id, "channel": cp.channel, "address": cp.external_id,
                     "language": cp.language, "created_at": _at(cp.created_at)},
        "cases": out_cases,
        "conversations": out_convs,
        "consents": [{"kind": k.kind, "decision": k.decision, "wording_version": k.wording_version,
                      "wording_hash": k.wording_hash, "language": k.language, "channel": k.channel,
                      "at": _at(k.at)} for k in ledger],
    }
