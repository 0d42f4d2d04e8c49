"""The web chat's post-session survey: GET the questions, POST the answers once, after the
conversation is closed. The answers are stored without any link to the resident or the
conversation (profile, Japanese month, channel and language only); the only trace on the
conversation is an audit row saying that it answered, so a second answer is refused."""

from __future__ import annotations

import secrets
from typing import Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select

from bots.webchat.api import _hash
from casecore.db import transaction
from casecore.models import AuditEvent, Conversation
from dialogs.survey import survey_questions, survey_text
from handoff.actions import survey as survey_actions
from handoff.context import HandoffContext as AppContext
from i18n import risk

Answer = Literal["yes", "partly", "no"]
ANSWERED = "survey_answered"


class SurveyBody(BaseModel):
    helped: Answer | None = None
    easy: Answer | None = None
    again: Answer | None = None
    comment: str | None = Field(default=None, max_length=2000)


def survey_router(ctx: AppContext) -> APIRouter:
    r = APIRouter(tags=["webchat"])

    async def bearer(authorization: str | None = Header(default=None)) -> str:
        if not authorization or not authorization.lower().startswith("bearer "):
            raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        return authorization[7:].strip()

    async def session(session_id: int, token: str) -> tuple[Conversation, bool]:
        async with transaction(ctx.sessions) as s:
            conv = await s.get(Conversation, session_id)
            if conv is None or conv.channel != "webchat" or not conv.access_token_hash or \
                    not secrets.compare_digest(conv.access_token_hash, _hash(token)):
                raise HTTPException(404, "no such chat session (or the token does not match)")
            answered = await s.scalar(select(AuditEvent.id).where(
                AuditEvent.action == ANSWERED, AuditEvent.target_type == "conversation",
                AuditEvent.target_id == str(session_id))) is not None
            return conv, answered

    @r.get("/api/webchat/sessions/{session_id}/survey")
    async def questions(session_id: int, token: str = Depends(bearer)) -> dict[str, Any]:
        """The survey's questions in the session's language; `open` once the chat has ended."""
        conv, answered = await session(session_id, token)
        return {
            "language": conv.language, "open": conv.status == "closed" and not answered, "answered": answered,
            "questions": [{"id": q.id, "text": q.text, "choices": [{"id": c.id, "label": c.label} for c in q.choices]}
                          for q in survey_questions(conv.language)],
            "comment": survey_text(conv.language, "comment"),
        }

    @r.post("/api/webchat/sessions/{session_id}/survey", status_code=201)
    async def answer(session_id: int, body: SurveyBody, token: str = Depends(bearer)) -> dict[str, Any]:
        """Store the answers anonymously (every field optional). Answers once, after the chat ended."""
        conv, answered = await session(session_id, token)
        if conv.status != "closed":
            raise HTTPException(409, "the survey opens when the conversation has ended")
        if answered:
            raise HTTPException(409, "this session has already answered the survey")
        comment = (body.comment or "").strip() or None
        # A comment is a resident's text like any other: screened, never silently filed away.
        finding = risk.screen(comment, language=conv.language) if comment else None
        await survey_actions.record_answer(ctx, conv, helped=body.helped, easy=body.easy, again=body.again,
                                           comment=comment, audit_action=ANSWERED)
        reply: dict[str, Any] = {"stored": True, "text": survey_text(conv.language, "thanks"), "contacts": []}
        if finding:
            profile = ctx.profiles.get(conv.profile_id) if conv.profile_id in ctx.profiles else ctx.profiles.default
            reply["text"] = survey_text(conv.language, "worried")
            reply["contacts"] = [{"label": c.label_for(conv.language), "number": c.phone, "uri": c.tel_uri}
                                 for c in profile.contacts_for(list(finding.kinds))]
        return reply

    return r
