"""The busy-centre console's own changes (issue 14): presence and alert settings, read markers,
private timeline notes, canned replies written by leads, and the lead's escalation when an
urgent resident waits past the urgent target. Each is one transaction with its audit row;
consoles learn of it on the queue topic after the commit (never the resident's page)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from casecore import audit
from casecore.desk import DeskCannedReply, DeskEscalation, DeskNote, DeskPresence, DeskReadMarker
from casecore.models import Conversation, Counsellor, Message
from casecore.types import utcnow
from handoff.actions.base import ActionError, atomic
from handoff.context import HandoffContext
from handoff.hub import QUEUE_TOPIC

PRESENCE = ("available", "away")
SETTING_KEYS = {"sound": bool, "notify": bool, "urgent_only": bool, "volume": (int, float)}


def _desk_event(kind: str, **data: Any) -> dict[str, Any]:
    return {"type": "desk", "kind": kind, **data}


async def set_presence(ctx: HandoffContext, actor: Counsellor, status: str,
                       languages: list[str] | None = None) -> DeskPresence:
    """Available (takes residents, and is assigned some when auto-assignment is on) or away."""
    if status not in PRESENCE:
        raise ActionError(422, "presence is 'available' or 'away'")
    async with atomic(ctx) as (s, after):
        row = await s.get(DeskPresence, actor.id) or DeskPresence(counsellor_id=actor.id, languages=[], settings={})
        row.status, row.updated_at = status, utcnow()
        if languages is not None:
            row.languages = sorted(set(languages))
        s.add(row)
        await audit.record(s, action="presence_set", target_type="counsellor", target_id=actor.id,
                           actor_type="counsellor", actor_id=actor.id, detail={"status": status})
        after.publish(QUEUE_TOPIC, _desk_event("presence", counsellor_id=actor.id, status=status))
    return row


async def save_settings(ctx: HandoffContext, actor: Counsellor, settings: dict[str, Any]) -> dict[str, Any]:
    """The counsellor's alert settings (sound, browser notifications, urgent only, volume)."""
    clean = {k: v for k, v in settings.items() if k in SETTING_KEYS and isinstance(v, SETTING_KEYS[k])}
    async with atomic(ctx) as (s, _):
        row = await s.get(DeskPresence, actor.id) or DeskPresence(counsellor_id=actor.id, status="away", languages=[])
        row.settings = {**(row.settings or {}), **clean}
        s.add(row)
        await audit.record(s, action="console_settings_saved", target_type="counsellor", target_id=actor.id,
                           actor_type="counsellor", actor_id=actor.id, detail={"keys": sorted(clean)})
        return dict(row.settings)


async def mark_read(ctx: HandoffContext, actor: Counsellor, conversation_id: int, last_message_id: int | None) -> int:
    """Seen up to this message (default: the latest); a marker never moves back."""
    async with atomic(ctx) as (s, _):
        latest = await s.scalar(select(Message.id).where(Message.conversation_id == conversation_id)
                                .order_by(Message.id.desc()).limit(1)) or 0
        upto = min(last_message_id, latest) if last_message_id is not None else latest
        row = await s.get(DeskReadMarker, (actor.id, conversation_id))
        if row is None:
            row = DeskReadMarker(counsellor_id=actor.id, conversation_id=conversation_id, last_message_id=0)
            s.add(row)
        row.last_message_id = max(row.last_message_id or 0, upto)
        row.updated_at = utcnow()
        return row.last_message_id


async def add_note(ctx: HandoffContext, actor: Counsellor, conversation_id: int, text: str) -> DeskNote:
    """A private note in the conversation's timeline (encrypted, never sent), kept with the
    case too when there is one."""
    async with atomic(ctx) as (s, after):
        conv = await s.get(Conversation, conversation_id)
        if conv is None:
            raise ActionError(404, "no such conversation")
        note = DeskNote(conversation_id=conv.id, case_id=conv.case_id, counsellor_id=actor.id, text=text,
                        created_at=utcnow())
        s.add(note)
        await s.flush()
        await audit.record(s, action="timeline_note_added", target_type="conversation", target_id=conv.id,
                           actor_type="counsellor", actor_id=actor.id, detail={"note_id": note.id})
        after.publish(QUEUE_TOPIC, _desk_event("note", conversation_id=conv.id, profile_id=conv.profile_id))
    return note


async def save_canned(ctx: HandoffContext, actor: Counsellor, key: str, language: str, label: str, text: str) -> None:
    """A lead writes (or rewrites) one language's version of a canned reply."""
    async with atomic(ctx) as (s, after):
        row = await s.scalar(select(DeskCannedReply).where(DeskCannedReply.key == key,
                                                           DeskCannedReply.language == language))
        if row is None:
            row = DeskCannedReply(key=key, language=language)
            s.add(row)
        row.label, row.text, row.updated_by, row.updated_at = label, text, actor.id, utcnow()
        await audit.record(s, action="canned_reply_saved", target_type="canned_reply", target_id=key,
                           actor_type="counsellor", actor_id=actor.id, detail={"language": language})
        after.publish(QUEUE_TOPIC, _desk_event("canned"))


async def delete_canned(ctx: HandoffContext, actor: Counsellor, key: str, language: str) -> bool:
    """Back to the catalog's text for that language (or, for a lead's own key, gone)."""
    async with atomic(ctx) as (s, after):
        row = await s.scalar(select(DeskCannedReply).where(DeskCannedReply.key == key,
                                                           DeskCannedReply.language == language))
        if row is None:
            return False
        await s.delete(row)
        await audit.record(s, action="canned_reply_deleted", target_type="canned_reply", target_id=key,
                           actor_type="counsellor", actor_id=actor.id, detail={"language": language})
        after.publish(QUEUE_TOPIC, _desk_event("canned"))
    return True


async def escalate(ctx: HandoffContext, conversation_id: int, profile_id: str, since: datetime,
                   waited_seconds: int) -> bool:
    """An urgent resident waited past the urgent target: the leads' consoles are told, once per
    wait (the unique key decides across processes)."""
    try:
        async with atomic(ctx) as (s, after):
            s.add(DeskEscalation(conversation_id=conversation_id, waiting_since=since, created_at=utcnow()))
            await s.flush()
            await audit.record(s, action="urgent_wait_escalated", target_type="conversation",
                               target_id=conversation_id, detail={"waited_seconds": waited_seconds})
            after.publish(QUEUE_TOPIC, _desk_event("escalated", conversation_id=conversation_id,
                                                   profile_id=profile_id, waited_seconds=waited_seconds))
    except IntegrityError:
        return False
    return True
