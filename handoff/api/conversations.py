"""Counsellor API for the live handoff: the queue, a conversation's transcript, claim, send,
transfer, release, close; canned replies; case notes, status and programmes.

Everything needs a logged-in counsellor (401 otherwise). Each handler parses, checks access
(handoff.api.deps), calls one action (handoff.actions) and renders a view (handoff.api.views).
Every read of a transcript or case and every change is an audit event. Refusals say why: 409 with who holds the conversation,
403 when it is someone else's, 422 for bad input (never echoing the text back).
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import select

from casecore import access, audit
from casecore.db import transaction
from casecore.lifecycle import CASE
from casecore.models import Case, CaseNote, CaseStatusChange, ConsentRecord, Counsellor, Message
from casecore.types import utcnow
from handoff import canned, ownership, relay, waiting_list
from handoff.actions import access as access_actions
from handoff.actions import case as case_actions
from handoff.actions import conversation as conversation_actions
from handoff.actions import media as media_actions
from handoff.actions import messages as message_actions
from handoff.api.cases import (
    BreakGlassBody,
    BreakGlassOpened,
    case_summary,
    consent_view,
    face_sheet,
    message_view,
    read_basis,
)
from handoff.api.deps import CaseInScope, Ctx, InScope, Lead, Me, visible_conversation
from handoff.api.views import (
    Blocked,
    CannedList,
    CaseOpened,
    ConversationRead,
    NoteAdded,
    OwnedBy,
    Ownership,
    ProgrammesSet,
    QueueView,
    Sent,
    StatusChanged,
    Typing,
)
from handoff.casework_views import routing_view
from handoff.context import HandoffContext as AppContext
from i18n import risk
from i18n.catalog import catalog

log = structlog.get_logger(__name__)
CODED_FIELDS = ("for_whom", "age_band", "household", "public_assistance", "residence", "contact_method", "contact_time")
MAX_NOTE_CHARS = 10_000
MAX_REASON_CHARS = 2_000


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.replace("\x00", "").strip()
    return text or None


class SendBody(BaseModel):
    text: str | None = Field(default=None, max_length=10_000)
    canned: str | None = Field(default=None, max_length=64, pattern=r"^[a-z0-9_]+$")

    @model_validator(mode="after")
    def _one_of(self) -> SendBody:
        self.text = _clean(self.text)
        if (self.text is None) == (self.canned is None):
            raise ValueError("send either a non-empty text or a canned reply key")
        return self


class TransferBody(BaseModel):
    to_login: str = Field(min_length=1, max_length=64)


class CloseBody(BaseModel):
    message: str | None = Field(default=None, max_length=10_000)
    canned: str | None = Field(default=None, max_length=64, pattern=r"^[a-z0-9_]+$")


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        v = _clean(v) or ""
        if not v:
            raise ValueError("a note needs some text")
        return v


class StatusBody(BaseModel):
    action: str = Field(min_length=1, max_length=32)
    reason: str | None = Field(default=None, max_length=MAX_REASON_CHARS)


class ProgrammesBody(BaseModel):
    accepted: list[str] = Field(max_length=30)


def translation_available(ctx: AppContext, language: str) -> bool:
    t = ctx.router.translator
    if t is None:
        return False
    supports = getattr(t, "supports", None)
    return bool(supports("ja", language)) if supports else True


def risk_screen_status() -> dict[str, Any]:
    """Whether the risk screen's learned layer runs (`i18n.risk.status()` once the detector has
    one). Without it the screen is the lexicon alone: the console says so, never silently."""
    status = getattr(risk, "status", None)
    if status is None:
        return {"learned": False, "degraded": True, "reason": "this build has no learned layer"}
    raw = status()
    data = dict(raw) if isinstance(raw, dict) else {
        k: getattr(raw, k) for k in ("learned", "enabled", "ok", "reason", "model") if hasattr(raw, k)
    }
    learned = bool(next((data[k] for k in ("learned", "enabled", "ok") if k in data), False))
    return {**{k: v for k, v in data.items() if isinstance(v, (str, bool, int, float)) or v is None},
            "learned": learned, "degraded": not learned}


def _me(c: Counsellor) -> dict[str, Any]:
    return {"id": c.id, "login": c.login, "display_name": c.display_name, "role": c.role}


def log_screen_status() -> None:
    """Said once at start: a console without the learned layer says so, never silently."""
    status = risk_screen_status()
    if status["degraded"]:
        log.warning("risk_screen_lexicon_only", reason=status.get("reason"))


def check_length(ctx: AppContext, text: str | None) -> None:
    if text is not None and len(text) > ctx.settings.max_message_chars:
        raise HTTPException(422, detail={"error": f"the message is longer than {ctx.settings.max_message_chars} characters"})


router = APIRouter(prefix="/api", tags=["handoff"])


@router.get("/queue", response_model=QueueView)
async def queue(ctx: Ctx, me: Me) -> dict[str, Any]:
    """Waiting conversations (most urgent, then longest waiting first) and who holds which."""
    now = utcnow()
    async with transaction(ctx.sessions) as s:
        waiting = await waiting_list.waiting(s, ctx.profiles, now, me)
        held = await waiting_list.held(s, ctx.profiles, now, me)
        # Coded triage fields only (no name, no free text): audited as one queue view.
        await audit.record(s, action="read_queue", target_type="queue", target_id="*", actor_type="counsellor",
                           actor_id=me.id, detail={"waiting": len(waiting), "held": len(held)})
    return {
        "waiting": waiting,
        "mine": [i for i in held if i["owner_counsellor_id"] == me.id],
        "held": held,
        "now": now.isoformat(),
        "risk_screen": risk_screen_status(),
    }


@router.get("/canned", response_model=CannedList)
async def canned_replies(ctx: Ctx, me: Me, language: str = Query(default="ja", max_length=16)) -> dict[str, Any]:
    async with transaction(ctx.sessions) as s:  # with the leads' edits (issue 14)
        edited = await canned.edits(s)
    return {"language": language, "replies": [_canned(c) for c in canned.replies(language, edited)]}


@router.get("/conversations/{conversation_id}", response_model=ConversationRead)
async def read_conversation(conversation_id: int, ctx: Ctx, me: Me) -> dict[str, Any]:
    """The transcript (originals and translations), the case face sheet, consents with their
    wording versions, notes and the routing recommendation. An audited read."""
    now = utcnow()
    async with transaction(ctx.sessions) as s:
        conv = await visible_conversation(s, conversation_id, me, "read")
        if conv.status == "waiting" and (await access.readable(s, me, conv=conv))[0] is None:
            return await _triage_view(s, ctx, conv, me, now)  # until claimed: what triage needs
        why = await read_basis(s, me, conv=conv)
        rows = (await s.scalars(
            select(Message).where(Message.conversation_id == conv.id).order_by(Message.id)
        )).all()
        which = ConsentRecord.conversation_id == conv.id
        if conv.case_id:  # consents of the case given in earlier conversations too
            which = which | (ConsentRecord.case_id == conv.case_id)
        consents = (await s.scalars(select(ConsentRecord).where(which).order_by(ConsentRecord.id))).all()
        await audit.record(s, action="read_transcript", target_type="conversation", target_id=conv.id,
                           actor_type="counsellor", actor_id=me.id, detail={"messages": len(rows), **why})
        case = await s.get(Case, conv.case_id) if conv.case_id else None
        case_view = await _case_view(s, ctx, case, me, why) if case else None
        owner = await ownership.holder_of(s, conv)
        profile = ctx.profiles.get(conv.profile_id)
        item = (await waiting_list.items(s, [conv], ctx.profiles, now, sort=False))[0]
        edited = await canned.edits(s)
        attached = await media_actions.by_message(s, conv.id)
    return {
        "conversation": {**item, "owner": owner, "created_at": conv.created_at.isoformat(),
                         "mine": conv.status == "counsellor" and conv.owner_counsellor_id == me.id},
        "transcript": [{**message_view(m), "media": media_actions.views(attached.get(m.id, []))}
                       for m in rows if m.text is not None or m.media_type],
        "consents": [consent_view(k) for k in consents],
        "case": case_view,
        "canned": [_canned(c) for c in canned.replies(conv.language, edited)],
        "translation_available": translation_available(ctx, conv.language),
        "needs_translation": relay.needs_translation(conv.language),
        "office": {"open": profile.office_hours.is_open(now),
                   "next_open": profile.office_hours.next_opening(now).isoformat()},
        "me": _me(me),
        "access": why,
    }


async def _triage_view(s: Any, ctx: AppContext, conv: Any, me: Counsellor, now: Any) -> dict[str, Any]:
    """A waiting conversation before anyone claims it: the queue's coded fields, no
    transcript, no face sheet."""
    item = (await waiting_list.items(s, [conv], ctx.profiles, now, sort=False))[0]
    await audit.record(s, action="read_triage", target_type="conversation", target_id=conv.id,
                       actor_type="counsellor", actor_id=me.id)
    profile = ctx.profiles.get(conv.profile_id)
    return {
        "conversation": {**item, "owner": None, "created_at": conv.created_at.isoformat(), "mine": False},
        "transcript": [], "consents": [], "case": None, "canned": [_canned(c) for c in canned.replies(conv.language)],
        "translation_available": translation_available(ctx, conv.language),
        "needs_translation": relay.needs_translation(conv.language),
        "office": {"open": profile.office_hours.is_open(now), "next_open": profile.office_hours.next_opening(now).isoformat()},
        "me": _me(me), "access": {"basis": "triage"}, "redacted": True,
    }


@router.post("/conversations/{conversation_id}/break-glass", status_code=201, response_model=BreakGlassOpened)
async def break_glass(conversation_id: int, body: BreakGlassBody, ctx: Ctx, me: Me) -> dict[str, Any]:
    """Read a conversation (and its case) outside need-to-know, for a reason (audited)."""
    glass = await access_actions.break_glass(ctx, me, body.reason, conversation_id=conversation_id)
    return {"break_glass_id": glass.id, "until": glass.until.isoformat()}


@router.post("/conversations/{conversation_id}/claim", response_model=OwnedBy)
async def claim(conv: InScope, ctx: Ctx, me: Me) -> dict[str, Any]:
    """Take a waiting conversation. Atomic: of two counsellors claiming at once exactly one
    wins; the other gets 409 with who holds it."""
    done = await conversation_actions.claim(ctx, conv.id, me)
    return {"conversation_id": conv.id, "status": done.status, "owner": _me(me)}


@router.post("/conversations/{conversation_id}/messages", status_code=201, response_model=Sent)
async def send(conv: InScope, body: SendBody, ctx: Ctx, me: Me) -> dict[str, Any]:
    """Send to the resident over their channel: the Japanese original is kept, the resident
    reads the translation (or the canned reply's version in their language)."""
    check_length(ctx, body.text)
    mid = await message_actions.counsellor_message(ctx, conv.id, me, text=body.text, canned_key=body.canned)
    async with transaction(ctx.sessions) as s:
        m = await s.get(Message, mid)
        assert m is not None
        return {"message": message_view(m)}


@router.post("/conversations/{conversation_id}/typing", status_code=202, response_model=Typing)
async def typing(conv: InScope, ctx: Ctx, me: Me) -> dict[str, Any]:
    """The counsellor is writing: shown to the resident where the channel offers it."""
    shown = await relay.show_typing(ctx, conv.id, me)
    return {"conversation_id": conv.id, "channel_indicator": shown}


@router.post("/conversations/{conversation_id}/transfer", response_model=OwnedBy)
async def transfer(conv: InScope, body: TransferBody, ctx: Ctx, me: Me) -> dict[str, Any]:
    done = await conversation_actions.transfer(ctx, conv.id, me, body.to_login, conv.profile_id)
    assert done.owner is not None
    return {"conversation_id": conv.id, "status": done.status, "owner": _me(done.owner)}


class ReleaseBody(BaseModel):
    to: str = Field(default="queue", pattern=r"^(queue|bot)$")


@router.post("/conversations/{conversation_id}/release", response_model=Ownership)
async def release(conv: InScope, ctx: Ctx, me: Me, body: ReleaseBody | None = None) -> dict[str, Any]:
    """Let go without losing it: back to the queue (default), or `{"to": "bot"}` while the
    intake is unfinished (409 once it is done); the resident is told which."""
    done = await conversation_actions.release(ctx, conv.id, me, (body or ReleaseBody()).to)
    return {"conversation_id": conv.id, "status": done.status}


@router.post("/conversations/{conversation_id}/close", response_model=Ownership)
async def close(conv: InScope, ctx: Ctx, me: Me, body: CloseBody | None = None) -> dict[str, Any]:
    """End the conversation with a closing message (the given one, translated; a canned one;
    or the service's standard closing text)."""
    body = body or CloseBody()
    text = _clean(body.message)
    check_length(ctx, text)
    done = await conversation_actions.close(ctx, conv.id, me, message=text, canned_key=body.canned)
    return {"conversation_id": conv.id, "status": done.status}


@router.post("/conversations/{conversation_id}/block", response_model=Blocked)
async def block(me: Lead, conv: InScope, body: BlockBody, ctx: Ctx) -> dict[str, Any]:
    """Remove a resident who broke the rules after a warning, and keep them from returning
    on this channel (002 §6(1)⑥). Leads and admins only; the reason is recorded for the
    report to the municipality. `{"blocked": false}` lifts it."""
    blocked = await conversation_actions.block(ctx, conv.id, me, blocked=body.blocked, reason=body.reason)
    return {"conversation_id": conv.id, "blocked": blocked}


@router.post("/conversations/{conversation_id}/case", status_code=201, response_model=CaseOpened)
async def open_case(conv: InScope, ctx: Ctx, me: Me) -> dict[str, Any]:
    """Open a case from the conversation the counsellor holds, before the intake ends (a
    crisis often comes before consent). The case takes what is known; consent stays exactly
    as recorded (none is assumed). Audited; 403 for a counsellor who does not hold it."""
    opened = await case_actions.open_from_conversation(ctx, conv.id, me)
    return vars(opened)


# ── the case behind the conversation ──────────────────────────────────────────
@router.post("/cases/{case_id}/notes", status_code=201, response_model=NoteAdded)
async def add_note(case: CaseInScope, body: NoteBody, ctx: Ctx, me: Me) -> dict[str, Any]:
    """A private note: stored encrypted, never shown to the resident."""
    note = await case_actions.add_note(ctx, case.id, me, body.text)
    return {"note": _note(note, me)}


@router.post("/cases/{case_id}/status", response_model=StatusChanged)
async def change_status(case: CaseInScope, body: StatusBody, ctx: Ctx, me: Me) -> dict[str, Any]:
    """Move the case through its lifecycle (casecore.lifecycle) with the reason recorded."""
    new = await case_actions.set_status(ctx, case.id, me, body.action, _clean(body.reason))
    return {"case_id": case.id, "status": new, "allowed_actions": CASE.allowed(new)}


@router.post("/cases/{case_id}/programmes", response_model=ProgrammesSet)
async def accept_programmes(case: CaseInScope, body: ProgrammesBody, ctx: Ctx, me: Me) -> dict[str, Any]:
    """Accept the routing recommendation, or change it: the programmes the case goes to."""
    accepted = await case_actions.set_programmes(ctx, case.id, me, body.accepted)
    return {"case_id": case.id, "accepted_programmes": accepted}


class BlockBody(BaseModel):
    blocked: bool = True
    # a code, not free text: it goes to the report and the audit trail in clear
    reason: str = Field(default="rules", pattern=r"^(rules|harassment|spam|threats|other)$")


def _canned(c: canned.Canned) -> dict[str, Any]:
    return {"key": c.key, "label": c.label, "ja": c.ja, "text": c.text, "language": c.language}


def _note(n: CaseNote, author: Counsellor | None) -> dict[str, Any]:
    return {"id": n.id, "counsellor_id": n.counsellor_id,
            "author": author.display_name if author else None, "text": n.text, "created_at": n.created_at.isoformat()}


async def _case_view(s: Any, ctx: AppContext, case: Case, me: Counsellor, why: dict[str, Any]) -> dict[str, Any]:
    await audit.record(s, action="read_case", target_type="case", target_id=case.id,
                       actor_type="counsellor", actor_id=me.id, detail=why)
    assignee = await s.get(Counsellor, case.assigned_counsellor_id) if case.assigned_counsellor_id else None
    notes = (await s.scalars(select(CaseNote).where(CaseNote.case_id == case.id).order_by(CaseNote.id))).all()
    authors = {c.id: c for c in (await s.scalars(
        select(Counsellor).where(Counsellor.id.in_({n.counsellor_id for n in notes}))
    )).all()} if notes else {}
    history = (await s.scalars(
        select(CaseStatusChange).where(CaseStatusChange.case_id == case.id).order_by(CaseStatusChange.id)
    )).all()
    profile = ctx.profiles.get(case.profile_id)
    return {
        **case_summary(case),
        "face_sheet": face_sheet(case),
        # Japanese labels of the coded answers (self → 自分, 40s → 40代), for the console
        "face_sheet_labels": {
            k: catalog("ja").label(v) for k in CODED_FIELDS if (v := getattr(case, k)) is not None
        },
        "recommended_programmes": list(case.recommended_programmes),
        "routing": routing_view(profile, case),  # each recommendation with its reasons (issue 13)
        "accepted_programmes": case.accepted_programmes,
        "programmes": [{"id": p.id, "name": profile.programme_name(p.id)} for p in profile.programmes],
        "allowed_actions": CASE.allowed(case.status),
        "status_history": [{"from": h.from_status, "to": h.to_status, "reason": h.reason,
                            "counsellor_id": h.counsellor_id, "at": h.at.isoformat()} for h in history],
        "notes": [_note(n, authors.get(n.counsellor_id)) for n in notes],
        "assigned": {"id": assignee.id, "login": assignee.login, "display_name": assignee.display_name} if assignee else None,
    }
