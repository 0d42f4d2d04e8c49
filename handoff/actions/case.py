"""The case: created at the end of the intake or opened from a held conversation; its status
(casecore.lifecycle.CASE), private notes and accepted programmes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import audit, store
from casecore.lifecycle import CASE, InvalidTransition
from casecore.models import Case, CaseNote, CaseStatusChange, Conversation, Counsellor
from casecore.types import utcnow
from dialogs.types import CreateCase
from handoff.actions.base import ActionError, atomic
from handoff.context import HandoffContext
from handoff.ownership import require_owner

log = structlog.get_logger(__name__)
ToJapanese = Callable[[str, str], Awaitable[str | None]]


async def create_from_intake_in(s: AsyncSession, conv: Conversation, eff: CreateCase, now: datetime,
                                to_japanese: ToJapanese) -> Case | None:
    """In the inbound step's transaction: the case the finished intake hands over. Never
    without consent to use (defence in depth); never a second one."""
    if not conv.consented_use:
        log.error("case_without_consent_refused", conversation_id=conv.id)
        return None
    if conv.case_id is not None:
        return None
    case = await store.create_case(
        s, conv, answers=eff.answers, language=eff.language, urgent_reasons=eff.urgent_reasons,
        recommended=eff.recommended, now=now,
    )
    problem = eff.answers.get("problem_text")
    if problem and conv.language != "ja":
        case.problem_text_ja = await to_japanese(problem, conv.language)
    return case


@dataclass(frozen=True)
class Opened:
    case_id: int
    case_number: str
    conversation_id: int
    urgent: bool
    urgency_reasons: list[str]
    consented_use: bool


async def open_from_conversation(ctx: HandoffContext, conversation_id: int, actor: Counsellor) -> Opened:
    """A case from the conversation the counsellor holds, before the intake ends (a crisis
    often comes before consent): it takes what is known; consent stays as recorded. A refusal
    is audited in its own transaction."""
    try:
        async with atomic(ctx) as (s, after):
            conv = await require_owner(s, conversation_id, actor)
            if conv.case_id is not None:
                raise ActionError(409, "this conversation already has a case", case_id=conv.case_id)
            state = conv.dialog_state or {}
            answers = dict(state.get("answers") or {})
            reasons = sorted({*(conv.urgency_reasons or []), *(state.get("urgent_reasons") or [])})
            profile = ctx.profiles.get(conv.profile_id)
            case = await store.create_case(
                s, conv, answers=answers, language=conv.language, urgent_reasons=reasons,
                recommended=profile.recommend(answers), now=utcnow(),
            )
            await audit.record(s, action="case_opened_from_conversation", target_type="case", target_id=case.id,
                               actor_type="counsellor", actor_id=actor.id,
                               detail={"conversation_id": conv.id, "consented_use": conv.consented_use,
                                       "urgent": case.urgent})
            after.queue_changed(conversation_id)
            return Opened(case.id, case.number, conv.id, case.urgent, list(case.urgency_reasons),
                          conv.consented_use)
    except ActionError as exc:
        if "case_id" not in exc.extra:
            async with atomic(ctx) as (s, _):
                await audit.record(s, action="case_open_refused", target_type="conversation",
                                   target_id=conversation_id, actor_type="counsellor", actor_id=actor.id,
                                   detail={"status": exc.status})
        raise


async def _case(s: AsyncSession, case_id: int) -> Case:
    case = await s.get(Case, case_id)
    if case is None:
        raise ActionError(404, "no such case", plain=True)
    return case


async def set_status(ctx: HandoffContext, case_id: int, actor: Counsellor, trigger: str,
                     reason: str | None = None) -> str:
    """Move the case through its lifecycle with the reason recorded; returns the new status."""
    async with atomic(ctx) as (s, _):
        current = (await _case(s, case_id)).status
        try:
            new = CASE.next(current, trigger)
        except InvalidTransition as exc:
            raise ActionError(409, str(exc), allowed=CASE.allowed(current)) from None
        res = await s.execute(
            update(Case).where(Case.id == case_id, Case.status == current)
            .values(status=new, updated_at=utcnow()).execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:
            raise ActionError(409, "the case changed meanwhile; reload and try again")
        s.add(CaseStatusChange(case_id=case_id, from_status=current, to_status=new, reason=reason,
                               counsellor_id=actor.id, at=utcnow()))
        await audit.record(s, action="case_status_changed", target_type="case", target_id=case_id,
                           actor_type="counsellor", actor_id=actor.id,
                           detail={"from": current, "to": new, "action": trigger})
    return new


async def add_note(ctx: HandoffContext, case_id: int, actor: Counsellor, text: str) -> CaseNote:
    """A private note: stored encrypted, never shown to the resident."""
    async with atomic(ctx) as (s, _):
        await _case(s, case_id)
        note = CaseNote(case_id=case_id, counsellor_id=actor.id, text=text, created_at=utcnow())
        s.add(note)
        await s.flush()
        await audit.record(s, action="case_note_added", target_type="case", target_id=case_id,
                           actor_type="counsellor", actor_id=actor.id, detail={"note_id": note.id})
    return note


async def set_programmes(ctx: HandoffContext, case_id: int, actor: Counsellor, accepted: list[str]) -> list[str]:
    """Accept the routing recommendation, or change it: the programmes the case goes to."""
    async with atomic(ctx) as (s, _):
        case = await _case(s, case_id)
        known = {p.id for p in ctx.profiles.get(case.profile_id).programmes}
        unknown = [p for p in accepted if p not in known]
        if unknown:
            raise ActionError(422, f"unknown programmes: {', '.join(unknown)}")
        accepted = list(dict.fromkeys(accepted))
        case.accepted_programmes = accepted
        case.updated_at = utcnow()
        await audit.record(s, action="case_programmes_set", target_type="case", target_id=case_id,
                           actor_type="counsellor", actor_id=actor.id,
                           detail={"accepted": accepted, "as_recommended": accepted == list(case.recommended_programmes)})
    return accepted
