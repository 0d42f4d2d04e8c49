"""The busy-centre console's API (issue 14), beside the counsellor API of conversations.py:

- GET  /api/console/overview: every list (waiting, mine, my team, others', resting, closed)
  with unread counts, my presence and alert settings, open escalations (leads).
- PUT  /api/console/presence, PUT /api/console/settings: available / away; alert settings.
- POST /api/conversations/{id}/read: seen up to a message (the unread count resets).
- POST /api/conversations/{id}/reopen: take a closed conversation up again.
- POST /api/conversations/{id}/preview: what the resident would read (translation,
  back-translation, confidence), before sending; a clear state without a model.
- GET/POST /api/conversations/{id}/timeline-notes: private notes, with or without a case.
- GET  /api/conversations/{id}/face: what the face sheet adds (safety answers, intake time,
  urgency and assignment history).
- GET  /api/console/canned, GET/PUT/DELETE /api/console/canned/table…: canned replies in
  the resident's language; leads edit every catalog language.

Handlers parse, check access (handoff.api.deps), call an action, render; reads are audited.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select

from casecore import audit
from casecore.db import transaction
from casecore.desk import DeskEscalation, DeskNote, DeskPresence
from casecore.models import AuditEvent, Counsellor
from casecore.types import utcnow
from handoff import canned, relay, waiting_list
from handoff.actions import conversation as conversation_actions
from handoff.actions import desk
from handoff.api.conversations import risk_screen_status
from handoff.api.deps import Ctx, InScope, Lead, Me, visible_conversation
from handoff.api.views import View
from handoff.context import HandoffContext as AppContext

router = APIRouter(prefix="/api", tags=["console"])
KEY = r"^[a-z0-9_]{1,64}$"
ASSIGNMENT_ACTIONS = ("conversation_claimed", "conversation_transferred", "conversation_released",
                      "conversation_requeued", "conversation_reopened", "conversation_closed")
DEFAULT_SETTINGS = {"sound": True, "notify": True, "urgent_only": False, "volume": 0.6}


def _text(v: str) -> str:
    v = v.replace("\x00", "").strip()
    if not v:
        raise ValueError("empty")
    return v


class PresenceBody(BaseModel):
    status: str = Field(pattern=r"^(available|away)$")
    languages: list[str] | None = Field(default=None, max_length=20)


class SettingsBody(BaseModel):
    sound: bool | None = None
    notify: bool | None = None
    urgent_only: bool | None = None
    volume: float | None = Field(default=None, ge=0, le=1)


class ReadBody(BaseModel):
    last_message_id: int | None = Field(default=None, ge=0, le=2**62)


class PreviewBody(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=10_000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        return _text(v)


class CannedBody(BaseModel):
    label: str = Field(min_length=1, max_length=128)
    text: str = Field(min_length=1, max_length=4_000)

    @field_validator("label", "text")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        return _text(v)


class Overview(View):
    waiting: list[dict[str, Any]]
    mine: list[dict[str, Any]]
    team: list[dict[str, Any]]
    held: list[dict[str, Any]]
    resting: list[dict[str, Any]]
    closed: list[dict[str, Any]]
    unread: dict[str, int]
    presence: dict[str, Any]
    now: str


def _presence(row: DeskPresence | None) -> dict[str, Any]:
    return {"status": row.status if row else "away", "languages": list(row.languages or []) if row else [],
            "settings": {**DEFAULT_SETTINGS, **((row.settings or {}) if row else {})}}


def _team(me: Counsellor, held: list[dict[str, Any]], teams: dict[int, Any]) -> list[dict[str, Any]]:
    """Held by a colleague of my team. The team comes with the need-to-know access work; until
    counsellors carry a `team`, this list stays empty (read defensively)."""
    mine = getattr(me, "team", None)
    if not mine:
        return []
    return [i for i in held if i["owner_counsellor_id"] != me.id and teams.get(i["owner_counsellor_id"]) == mine]


@router.get("/console/overview", response_model=Overview)
async def overview(ctx: Ctx, me: Me) -> dict[str, Any]:
    """Every conversation the counsellor may see is in one of these lists: nothing is lost."""
    now = utcnow()
    async with transaction(ctx.sessions) as s:
        waiting = await waiting_list.waiting(s, ctx.profiles, now, me)
        held = await waiting_list.held(s, ctx.profiles, now, me)
        resting = await waiting_list.recent(s, ctx.profiles, now, me, "bot")
        closed = await waiting_list.recent(s, ctx.profiles, now, me, "closed")
        owners = {i["owner_counsellor_id"] for i in held if i["owner_counsellor_id"]}
        teams = {c.id: getattr(c, "team", None) for c in (await s.scalars(
            select(Counsellor).where(Counsellor.id.in_(owners)))).all()} if owners else {}
        mine = [i for i in held if i["owner_counsellor_id"] == me.id]
        unread = await waiting_list.unread(s, me, [i["id"] for i in [*waiting, *mine]])
        presence = _presence(await s.get(DeskPresence, me.id))
        escalations: list[int] = []
        if me.role in ("lead", "admin") and waiting:
            ids = [i["id"] for i in waiting if i["urgent"]]
            escalations = sorted({e for e in (await s.scalars(
                select(DeskEscalation.conversation_id).where(DeskEscalation.conversation_id.in_(ids)))).all()})
    team = _team(me, held, teams)
    shown = {i["id"] for i in [*mine, *team]}
    return {"waiting": waiting, "mine": mine, "team": team, "held": [i for i in held if i["id"] not in shown],
            "resting": resting, "closed": closed, "unread": {str(k): v for k, v in unread.items()},
            "presence": presence, "escalations": escalations, "now": now.isoformat(),
            "risk_screen": risk_screen_status(),
            "me": {"id": me.id, "login": me.login, "role": me.role, "team": getattr(me, "team", None)}}


@router.put("/console/presence")
async def set_presence(body: PresenceBody, ctx: Ctx, me: Me) -> dict[str, Any]:
    row = await desk.set_presence(ctx, me, body.status, body.languages)
    return _presence(row)


@router.put("/console/settings")
async def save_settings(body: SettingsBody, ctx: Ctx, me: Me) -> dict[str, Any]:
    saved = await desk.save_settings(ctx, me, body.model_dump(exclude_none=True))
    return {"settings": {**DEFAULT_SETTINGS, **saved}}


@router.post("/conversations/{conversation_id}/read")
async def mark_read(conv: InScope, ctx: Ctx, me: Me, body: ReadBody | None = None) -> dict[str, Any]:
    upto = await desk.mark_read(ctx, me, conv.id, (body or ReadBody()).last_message_id)
    return {"conversation_id": conv.id, "last_message_id": upto}


@router.post("/conversations/{conversation_id}/reopen")
async def reopen(conv: InScope, ctx: Ctx, me: Me) -> dict[str, Any]:
    done = await conversation_actions.reopen(ctx, conv.id, me)
    return {"conversation_id": conv.id, "status": done.status,
            "owner": {"id": me.id, "login": me.login, "display_name": me.display_name}}


async def preview_text(ctx: AppContext, language: str, text: str) -> dict[str, Any]:
    """What the resident would read. Japanese residents: as written. No model for the pair:
    it goes in Japanese (and the resident is told, once, that an interpreter can be arranged)."""
    if not relay.needs_translation(language):
        return {"state": "japanese", "language": language, "translation": text}
    t = ctx.router.translator
    supports = getattr(t, "supports", None)
    if t is None or (supports is not None and not supports("ja", language)):
        return {"state": "unavailable", "language": language, "translation": None}
    res = await t.translate(text, "ja", language)
    if res.status != "translated":
        return {"state": "unavailable", "language": language, "translation": None, "reason": res.status}
    back = await t.translate(res.text, language, "ja")
    return {"state": "translated", "language": language, "translation": res.text,
            "back_translation": back.text if back.status == "translated" else None,
            "confidence": res.confidence, "low_confidence": bool(getattr(res, "low_confidence", False))}


@router.post("/conversations/{conversation_id}/preview")
async def preview(conv: InScope, body: PreviewBody, ctx: Ctx, me: Me) -> dict[str, Any]:
    """Nothing is stored or sent; the counsellor's draft is never logged."""
    return {"conversation_id": conv.id, **await preview_text(ctx, conv.language, body.text)}


def _note(n: DeskNote, names: dict[int, str]) -> dict[str, Any]:
    return {"id": n.id, "conversation_id": n.conversation_id, "case_id": n.case_id, "text": n.text,
            "author": names.get(n.counsellor_id), "created_at": n.created_at.isoformat()}


@router.get("/conversations/{conversation_id}/timeline-notes")
async def timeline_notes(conversation_id: int, ctx: Ctx, me: Me) -> dict[str, Any]:
    async with transaction(ctx.sessions) as s:
        conv = await visible_conversation(s, conversation_id, me)
        notes = (await s.scalars(select(DeskNote).where(DeskNote.conversation_id == conv.id).order_by(DeskNote.id))).all()
        names = await _names(s, {n.counsellor_id for n in notes})
        await audit.record(s, action="read_timeline_notes", target_type="conversation", target_id=conv.id,
                           actor_type="counsellor", actor_id=me.id, detail={"notes": len(notes)})
    return {"conversation_id": conversation_id, "notes": [_note(n, names) for n in notes]}


@router.post("/conversations/{conversation_id}/timeline-notes", status_code=201)
async def add_timeline_note(conv: InScope, body: NoteBody, ctx: Ctx, me: Me) -> dict[str, Any]:
    note = await desk.add_note(ctx, me, conv.id, body.text)
    return {"note": _note(note, {me.id: me.display_name or me.login})}


async def _names(s: Any, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {c.id: c.display_name or c.login for c in (await s.scalars(select(Counsellor).where(Counsellor.id.in_(ids)))).all()}


@router.get("/conversations/{conversation_id}/face")
async def face(conversation_id: int, ctx: Ctx, me: Me) -> dict[str, Any]:
    """The face sheet's conversation side: codes and times only (no resident text)."""
    async with transaction(ctx.sessions) as s:
        conv = await visible_conversation(s, conversation_id, me)
        events = (await s.scalars(select(AuditEvent).where(
            AuditEvent.target_type == "conversation", AuditEvent.target_id == str(conv.id),
            AuditEvent.action.in_(("conversation_marked_urgent", "conversation_flagged_look", *ASSIGNMENT_ACTIONS)),
        ).order_by(AuditEvent.id))).all()
        names = await _names(s, {e.actor_id for e in events if e.actor_id and e.actor_type == "counsellor"}
                             | {int(e.detail["to"]) for e in events if isinstance(e.detail.get("to"), int)})
        await audit.record(s, action="read_face_sheet", target_type="conversation", target_id=conv.id,
                           actor_type="counsellor", actor_id=me.id)
        answers = (conv.dialog_state or {}).get("answers") or {}
        safety = answers.get("safety")
        out = {
            "conversation_id": conv.id, "channel": conv.channel, "language": conv.language,
            "intake_at": conv.created_at.isoformat(), "for_whom": answers.get("for_whom"),
            "safety": [safety] if isinstance(safety, str) else list(safety) if isinstance(safety, list) else None,
            "urgency_history": [{"at": e.at.isoformat(), "kind": "look" if e.action == "conversation_flagged_look" else "urgent",
                                 "reasons": list(e.detail.get("reasons") or [])}
                                for e in events if e.action in ("conversation_marked_urgent", "conversation_flagged_look")],
            "assignment": [{"at": e.at.isoformat(), "action": e.action.removeprefix("conversation_"),
                            "by": names.get(e.actor_id) if e.actor_id else None,
                            "to": names.get(e.detail["to"]) if isinstance(e.detail.get("to"), int) else None}
                           for e in events if e.action in ASSIGNMENT_ACTIONS],
            "intake_finished": waiting_list.intake_finished(conv, ctx.profiles),
        }
    return out


@router.get("/console/canned")
async def canned_for(ctx: Ctx, me: Me, language: str = Query(default="ja", max_length=16)) -> dict[str, Any]:
    """The replies as the resident of this language would read them (leads' edits first)."""
    async with transaction(ctx.sessions) as s:
        ed = await canned.edits(s)
    return {"language": language, "replies": [vars(c) for c in canned.replies(language, ed)]}


@router.get("/console/canned/table")
async def canned_table(ctx: Ctx, me: Lead) -> dict[str, Any]:
    async with transaction(ctx.sessions) as s:
        ed = await canned.edits(s)
    return {"languages": canned.languages(), "replies": canned.table(ed)}


def _check_canned(key: str, language: str, known: list[str]) -> None:
    if language != canned.BASE and key not in known:
        raise HTTPException(422, detail={"error": "write the Japanese version of a new reply first"})


@router.put("/console/canned/{key}/{language}")
async def save_canned(key: str, language: str, body: CannedBody, ctx: Ctx, me: Lead) -> dict[str, Any]:
    _valid(key, language)
    async with transaction(ctx.sessions) as s:
        ed = await canned.edits(s)
    _check_canned(key, language, canned.keys(ed))
    await desk.save_canned(ctx, me, key, language, body.label, body.text)
    async with transaction(ctx.sessions) as s:
        ed = await canned.edits(s)
    return {"key": key, "language": language, "reply": vars(canned.reply(key, language, ed))}


@router.delete("/console/canned/{key}/{language}")
async def delete_canned(ctx: Ctx, me: Lead, key: str, language: str) -> dict[str, Any]:
    _valid(key, language)
    removed = await desk.delete_canned(ctx, me, key, language)
    return {"key": key, "language": language, "removed": removed}


def _valid(key: str, language: str) -> None:
    if not re.fullmatch(KEY, key) or language not in canned.languages():
        raise HTTPException(422, detail={"error": "key: a-z, 0-9 and _ (64 at most); language: a catalog language"})
