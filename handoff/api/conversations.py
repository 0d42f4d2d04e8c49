"""Counsellor API for the live handoff: the queue, a conversation's transcript, claim, send,
transfer, release, close; canned replies; case notes, status and programmes.

Everything needs a logged-in counsellor (401 otherwise). Every read of a transcript or case
and every change is an audit event. Refusals say why: 409 with who holds the conversation,
403 when it is someone else's, 422 for bad input (never echoing the text back).
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy import select, update

from casecore import access, audit, store
from casecore.db import transaction
from casecore.lifecycle import InvalidTransition, allowed_triggers, next_status
from casecore.models import (
    Case,
    CaseNote,
    CaseStatusChange,
    ConsentRecord,
    ContactPoint,
    Conversation,
    Counsellor,
    Message,
)
from casecore.types import utcnow
from handoff import blocks, canned, ownership, relay, waiting_list
from handoff.api.auth import current_counsellor_dep
from handoff.api.cases import case_summary, face_sheet, message_view
from handoff.context import HandoffContext as AppContext
from handoff.hub import QUEUE_TOPIC
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


def _refuse(exc: ownership.OwnershipError | relay.RelayError) -> HTTPException:
    detail: dict[str, Any] = {"error": str(exc)}
    if isinstance(exc, ownership.OwnershipError) and exc.holder:
        detail["holder"] = exc.holder
    return HTTPException(exc.status, detail=detail)


async def visible_conversation(s: Any, conversation_id: int, me: Counsellor) -> Conversation:
    """The conversation, if this counsellor may see its municipality (404 otherwise: out of
    scope looks the same as missing, so nothing leaks)."""
    conv = await s.get(Conversation, conversation_id)
    if conv is None or not access.can_see(me, conv.profile_id):
        raise HTTPException(404, "no such conversation")
    return conv


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


def conversations_router(ctx: AppContext) -> APIRouter:
    r = APIRouter(prefix="/api", tags=["handoff"])
    current = current_counsellor_dep(ctx)
    screen_status = risk_screen_status()
    if screen_status["degraded"]:
        log.warning("risk_screen_lexicon_only", reason=screen_status.get("reason"))

    async def queue_changed(conversation_id: int) -> None:
        await ctx.hub.publish(QUEUE_TOPIC, {"type": "queue_changed", "conversation_id": conversation_id})

    def check_length(text: str | None) -> None:
        if text is not None and len(text) > ctx.settings.max_message_chars:
            raise HTTPException(422, detail={"error": f"the message is longer than {ctx.settings.max_message_chars} characters"})

    @r.get("/queue")
    async def queue(me: Counsellor = Depends(current)) -> dict[str, Any]:
        """Waiting conversations (most urgent, then longest waiting first) and who holds which."""
        now = utcnow()
        async with transaction(ctx.sessions) as s:
            waiting = await waiting_list.waiting(s, ctx.profiles, now, me)
            held = await waiting_list.held(s, ctx.profiles, now, me)
        return {
            "waiting": waiting,
            "mine": [i for i in held if i["owner_counsellor_id"] == me.id],
            "held": held,
            "now": now.isoformat(),
            "risk_screen": risk_screen_status(),
        }

    @r.get("/canned")
    async def canned_replies(language: str = Query(default="ja", max_length=16), me: Counsellor = Depends(current)) -> dict[str, Any]:
        return {"language": language, "replies": [_canned(c) for c in canned.replies(language)]}

    @r.get("/conversations/{conversation_id}")
    async def read_conversation(conversation_id: int, me: Counsellor = Depends(current)) -> dict[str, Any]:
        """The transcript (originals and translations), the case face sheet, consents with their
        wording versions, notes and the routing recommendation. An audited read."""
        now = utcnow()
        async with transaction(ctx.sessions) as s:
            conv = await visible_conversation(s, conversation_id, me)
            rows = (await s.scalars(
                select(Message).where(Message.conversation_id == conv.id).order_by(Message.id)
            )).all()
            which = ConsentRecord.conversation_id == conv.id
            if conv.case_id:  # consents of the case given in earlier conversations too
                which = which | (ConsentRecord.case_id == conv.case_id)
            consents = (await s.scalars(select(ConsentRecord).where(which).order_by(ConsentRecord.id))).all()
            await audit.record(s, action="read_transcript", target_type="conversation", target_id=conv.id,
                               actor_type="counsellor", actor_id=me.id, detail={"messages": len(rows)})
            case = await s.get(Case, conv.case_id) if conv.case_id else None
            case_view = await _case_view(s, ctx, case, me) if case else None
            owner = await ownership.holder_of(s, conv)
            profile = ctx.profiles.get(conv.profile_id)
            item = (await waiting_list.items(s, [conv], ctx.profiles, now, sort=False))[0]
        return {
            "conversation": {**item, "owner": owner, "created_at": conv.created_at.isoformat(),
                             "mine": conv.status == "counsellor" and conv.owner_counsellor_id == me.id},
            "transcript": [message_view(m) for m in rows if m.text is not None or m.media_type],
            "consents": [_consent(k) for k in consents],
            "case": case_view,
            "canned": [_canned(c) for c in canned.replies(conv.language)],
            "translation_available": translation_available(ctx, conv.language),
            "needs_translation": relay.needs_translation(conv.language),
            "office": {"open": profile.office_hours.is_open(now),
                       "next_open": profile.office_hours.next_opening(now).isoformat()},
            "me": _me(me),
        }

    @r.post("/conversations/{conversation_id}/claim")
    async def claim(conversation_id: int, me: Counsellor = Depends(current)) -> dict[str, Any]:
        """Take a waiting conversation. Atomic: of two counsellors claiming at once exactly one
        wins; the other gets 409 with who holds it."""
        try:
            async with transaction(ctx.sessions) as s:
                await visible_conversation(s, conversation_id, me)
                await ownership.claim(s, conversation_id, me)
        except ownership.OwnershipError as exc:
            raise _refuse(exc) from None
        await relay.publish_status(ctx, conversation_id, "counsellor")
        await queue_changed(conversation_id)
        await relay.send_notice(ctx, conversation_id, "counsellor_joined", relay.canned_notice("counsellor_joined"))
        return {"conversation_id": conversation_id, "status": "counsellor", "owner": _me(me)}

    @r.post("/conversations/{conversation_id}/messages", status_code=201)
    async def send(conversation_id: int, body: SendBody, me: Counsellor = Depends(current)) -> dict[str, Any]:
        """Send to the resident over their channel: the Japanese original is kept, the resident
        reads the translation (or the canned reply's version in their language)."""
        check_length(body.text)
        async with transaction(ctx.sessions) as s:
            await visible_conversation(s, conversation_id, me)
        try:
            mid = await relay.send_counsellor_message(ctx, conversation_id, me, text=body.text, canned_key=body.canned)
        except (ownership.OwnershipError, relay.RelayError) as exc:
            raise _refuse(exc) from None
        async with transaction(ctx.sessions) as s:
            m = await s.get(Message, mid)
            assert m is not None
            return {"message": message_view(m)}

    @r.post("/conversations/{conversation_id}/typing", status_code=202)
    async def typing(conversation_id: int, me: Counsellor = Depends(current)) -> dict[str, Any]:
        """The counsellor is writing: shown to the resident where the channel offers it."""
        async with transaction(ctx.sessions) as s:
            await visible_conversation(s, conversation_id, me)
        try:
            shown = await relay.show_typing(ctx, conversation_id, me)
        except ownership.OwnershipError as exc:
            raise _refuse(exc) from None
        return {"conversation_id": conversation_id, "channel_indicator": shown}

    @r.post("/conversations/{conversation_id}/transfer")
    async def transfer(conversation_id: int, body: TransferBody, me: Counsellor = Depends(current)) -> dict[str, Any]:
        try:
            async with transaction(ctx.sessions) as s:
                conv = await visible_conversation(s, conversation_id, me)
                target = await ownership.transfer(s, conversation_id, me, body.to_login, conv.profile_id)
        except ownership.OwnershipError as exc:
            raise _refuse(exc) from None
        await relay.publish_status(ctx, conversation_id, "counsellor")
        await queue_changed(conversation_id)
        return {"conversation_id": conversation_id, "status": "counsellor", "owner": _me(target)}

    @r.post("/conversations/{conversation_id}/release")
    async def release(conversation_id: int, me: Counsellor = Depends(current)) -> dict[str, Any]:
        """Hand the conversation back to the bot (the intake continues where it was)."""
        try:
            async with transaction(ctx.sessions) as s:
                await visible_conversation(s, conversation_id, me)
                await ownership.release(s, conversation_id, me)
        except ownership.OwnershipError as exc:
            raise _refuse(exc) from None
        await relay.publish_status(ctx, conversation_id, "bot")
        await queue_changed(conversation_id)
        return {"conversation_id": conversation_id, "status": "bot"}

    @r.post("/conversations/{conversation_id}/close")
    async def close(conversation_id: int, body: CloseBody | None = None, me: Counsellor = Depends(current)) -> dict[str, Any]:
        """End the conversation with a closing message (the given one, translated; a canned one;
        or the service's standard closing text)."""
        body = body or CloseBody()
        text = _clean(body.message)
        check_length(text)
        try:
            async with transaction(ctx.sessions) as s:
                await visible_conversation(s, conversation_id, me)
                await ownership.require_owner_or_supervisor(s, conversation_id, me)
            if text or body.canned:
                await relay.send_counsellor_message(ctx, conversation_id, me, text=text, canned_key=body.canned,
                                                    supervisor_ok=True)
            else:
                await relay.send_notice(ctx, conversation_id, "closed", relay.catalog_notice("closed.body"))
            async with transaction(ctx.sessions) as s:
                await ownership.close(s, conversation_id, me)
        except (ownership.OwnershipError, relay.RelayError) as exc:
            raise _refuse(exc) from None
        await relay.publish_status(ctx, conversation_id, "closed")
        await queue_changed(conversation_id)
        return {"conversation_id": conversation_id, "status": "closed"}

    @r.post("/conversations/{conversation_id}/block")
    async def block(conversation_id: int, body: BlockBody, me: Counsellor = Depends(current)) -> dict[str, Any]:
        """Remove a resident who broke the rules after a warning, and keep them from returning
        on this channel (002 §6(1)⑥). Leads and admins only; the reason is recorded for the
        report to the municipality. `{"blocked": false}` lifts it."""
        if me.role not in ("lead", "admin"):
            raise HTTPException(403, "only a lead (主任相談支援員) or an admin can remove a resident")
        async with transaction(ctx.sessions) as s:
            conv = await visible_conversation(s, conversation_id, me)
            contact = await s.get(ContactPoint, conv.contact_point_id)
            assert contact is not None
            contact.blocked = body.blocked
            if body.blocked:
                conv.status, conv.owner_counsellor_id = "closed", None
            # issue 17: a web chat block also covers this browser and network (handoff/blocks.py)
            await blocks.apply(s, ctx.settings, conversation_id, me.id, body.reason, body.blocked)
            await audit.record(s, action="contact_blocked" if body.blocked else "contact_unblocked",
                               target_type="contact_point", target_id=contact.id, actor_type="counsellor",
                               actor_id=me.id, detail={"conversation_id": conversation_id, "reason": body.reason})
        if body.blocked:
            await relay.publish_status(ctx, conversation_id, "closed")
            await queue_changed(conversation_id)
        return {"conversation_id": conversation_id, "blocked": body.blocked}

    @r.post("/conversations/{conversation_id}/case", status_code=201)
    async def open_case(conversation_id: int, me: Counsellor = Depends(current)) -> dict[str, Any]:
        """Open a case from the conversation the counsellor holds, before the intake ends (a
        crisis often comes before consent). The case takes what is known; consent stays exactly
        as recorded (none is assumed). Audited; 403 for a counsellor who does not hold it."""
        try:
            async with transaction(ctx.sessions) as s:
                await visible_conversation(s, conversation_id, me)
                await ownership.require_owner(s, conversation_id, me)
        except ownership.OwnershipError as exc:
            async with transaction(ctx.sessions) as s:  # the refusal is audited in its own transaction
                await audit.record(s, action="case_open_refused", target_type="conversation", target_id=conversation_id,
                                   actor_type="counsellor", actor_id=me.id, detail={"status": exc.status})
            raise _refuse(exc) from None
        async with transaction(ctx.sessions) as s:
            conv = await ownership.require_owner(s, conversation_id, me)  # held still, in this transaction
            if conv.case_id is not None:
                raise HTTPException(409, detail={"error": "this conversation already has a case", "case_id": conv.case_id})
            state = conv.dialog_state or {}
            answers = dict(state.get("answers") or {})
            reasons = sorted({*(conv.urgency_reasons or []), *(state.get("urgent_reasons") or [])})
            profile = ctx.profiles.get(conv.profile_id)
            case = await store.create_case(
                s, conv, answers=answers, language=conv.language, urgent_reasons=reasons,
                recommended=profile.recommend(answers), now=utcnow(),
            )
            await audit.record(s, action="case_opened_from_conversation", target_type="case", target_id=case.id,
                               actor_type="counsellor", actor_id=me.id,
                               detail={"conversation_id": conv.id, "consented_use": conv.consented_use,
                                       "urgent": case.urgent})
            result = {"case_id": case.id, "case_number": case.number, "conversation_id": conv.id,
                      "urgent": case.urgent, "urgency_reasons": list(case.urgency_reasons),
                      "consented_use": conv.consented_use}
        await queue_changed(conversation_id)
        return result

    # ── the case behind the conversation ──────────────────────────────────────
    async def _case_or_404(s: Any, case_id: int, me: Counsellor) -> Case:
        case = await s.get(Case, case_id)
        if case is None or not access.can_see(me, case.profile_id):
            raise HTTPException(404, "no such case")
        return case

    @r.post("/cases/{case_id}/notes", status_code=201)
    async def add_note(case_id: int, body: NoteBody, me: Counsellor = Depends(current)) -> dict[str, Any]:
        """A private note: stored encrypted, never shown to the resident."""
        async with transaction(ctx.sessions) as s:
            await _case_or_404(s, case_id, me)
            note = CaseNote(case_id=case_id, counsellor_id=me.id, text=body.text, created_at=utcnow())
            s.add(note)
            await s.flush()
            await audit.record(s, action="case_note_added", target_type="case", target_id=case_id,
                               actor_type="counsellor", actor_id=me.id, detail={"note_id": note.id})
            return {"note": _note(note, me)}

    @r.post("/cases/{case_id}/status")
    async def change_status(case_id: int, body: StatusBody, me: Counsellor = Depends(current)) -> dict[str, Any]:
        """Move the case through its lifecycle (casecore.lifecycle) with the reason recorded."""
        reason = _clean(body.reason)
        async with transaction(ctx.sessions) as s:
            case = await _case_or_404(s, case_id, me)
            current_status = case.status
            try:
                new = next_status(current_status, body.action)
            except InvalidTransition as exc:
                raise HTTPException(409, detail={"error": str(exc), "allowed": allowed_triggers(current_status)}) from None
            res = await s.execute(
                update(Case).where(Case.id == case_id, Case.status == current_status)
                .values(status=new, updated_at=utcnow()).execution_options(synchronize_session=False)
            )
            if res.rowcount != 1:
                raise HTTPException(409, detail={"error": "the case changed meanwhile; reload and try again"})
            s.add(CaseStatusChange(case_id=case_id, from_status=current_status, to_status=new, reason=reason,
                                   counsellor_id=me.id, at=utcnow()))
            await audit.record(s, action="case_status_changed", target_type="case", target_id=case_id,
                               actor_type="counsellor", actor_id=me.id,
                               detail={"from": current_status, "to": new, "action": body.action})
        return {"case_id": case_id, "status": new, "allowed_actions": allowed_triggers(new)}

    @r.post("/cases/{case_id}/programmes")
    async def accept_programmes(case_id: int, body: ProgrammesBody, me: Counsellor = Depends(current)) -> dict[str, Any]:
        """Accept the routing recommendation, or change it: the programmes the case goes to."""
        async with transaction(ctx.sessions) as s:
            case = await _case_or_404(s, case_id, me)
            known = {p.id for p in ctx.profiles.get(case.profile_id).programmes}
            unknown = [p for p in body.accepted if p not in known]
            if unknown:
                raise HTTPException(422, detail={"error": f"unknown programmes: {', '.join(unknown)}"})
            accepted = list(dict.fromkeys(body.accepted))
            case.accepted_programmes = accepted
            case.updated_at = utcnow()
            await audit.record(s, action="case_programmes_set", target_type="case", target_id=case_id,
                               actor_type="counsellor", actor_id=me.id,
                               detail={"accepted": accepted, "as_recommended": accepted == list(case.recommended_programmes)})
        return {"case_id": case_id, "accepted_programmes": accepted}

    return r


class BlockBody(BaseModel):
    blocked: bool = True
    # a code, not free text: it goes to the report and the audit trail in clear
    reason: str = Field(default="rules", pattern=r"^(rules|harassment|spam|threats|other)$")


def _canned(c: canned.Canned) -> dict[str, Any]:
    return {"key": c.key, "label": c.label, "ja": c.ja, "text": c.text, "language": c.language}


def _consent(k: ConsentRecord) -> dict[str, Any]:
    return {"kind": k.kind, "decision": k.decision, "wording_version": k.wording_version,
            "wording_hash": k.wording_hash, "language": k.language, "channel": k.channel,
            "at": k.at.isoformat(), "recorded_by": k.recorded_by}


def _note(n: CaseNote, author: Counsellor | None) -> dict[str, Any]:
    return {"id": n.id, "counsellor_id": n.counsellor_id,
            "author": author.display_name if author else None, "text": n.text, "created_at": n.created_at.isoformat()}


async def _case_view(s: Any, ctx: AppContext, case: Case, me: Counsellor) -> dict[str, Any]:
    await audit.record(s, action="read_case", target_type="case", target_id=case.id,
                       actor_type="counsellor", actor_id=me.id)
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
        "accepted_programmes": case.accepted_programmes,
        "programmes": [{"id": p.id, "name": profile.programme_name(p.id)} for p in profile.programmes],
        "allowed_actions": allowed_triggers(case.status),
        "status_history": [{"from": h.from_status, "to": h.to_status, "reason": h.reason,
                            "counsellor_id": h.counsellor_id, "at": h.at.isoformat()} for h in history],
        "notes": [_note(n, authors.get(n.counsellor_id)) for n in notes],
    }
