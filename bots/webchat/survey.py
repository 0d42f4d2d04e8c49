"""The post-session survey's web parts: the web chat's JSON API (GET the questions, POST the
answers once, after the conversation is closed) and the form a mailed invitation links to
(`/survey/<signed token>`, one use, expires). The answers are stored without any link to the
resident or the conversation (profile, Japanese month, channel and language only); the only
trace on the conversation is an audit row saying that it answered, so a second answer is
refused. On web chat, LINE and Telegram the resident can also answer in the conversation
itself (handoff.actions.survey)."""

from __future__ import annotations

import secrets
from html import escape
from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, Header, HTTPException
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from bots.webchat.api import _hash
from casecore.db import transaction
from casecore.models import AuditEvent, Conversation
from dialogs.survey import ANSWERS, survey_questions, survey_text
from handoff import survey_links
from handoff.actions import survey as survey_actions
from handoff.context import HandoffContext as AppContext
from i18n import risk
from i18n.catalog import catalog

Answer = Literal["yes", "partly", "no"]
ANSWERED = survey_actions.ANSWERED


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

    r.add_api_route("/survey/{token}", _form_page(ctx), methods=["GET"], include_in_schema=False)
    r.add_api_route("/survey/{token}", _form_post(ctx), methods=["POST"], include_in_schema=False)
    return r


# ── the mailed invitation's form ──────────────────────────────────────────────────────────
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
}


async def _linked(ctx: AppContext, token: str) -> tuple[Conversation | None, bool]:
    """The conversation a link names and whether it can still answer (None: forged/expired)."""
    try:
        conversation_id = survey_links.verify(ctx.settings.resolved_secret_key(), token)
    except survey_links.LinkError:
        return None, False
    async with transaction(ctx.sessions) as s:
        conv = await s.get(Conversation, conversation_id)
        if conv is None or conv.channel != "email":
            return None, False
        return conv, conv.status == "closed" and not await survey_actions.answered(s, conv.id)


def _page(language: str, body: str, status: int = 200) -> HTMLResponse:
    lang = "ja" if language.startswith("ja") else language
    title = escape(survey_text(language, "page_title"))
    return HTMLResponse(
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">'
        f'<title>{title}</title><link rel="stylesheet" href="/chat/static/survey.css"></head>'
        f'<body><main><h1>{title}</h1>{body}</main></body></html>', status_code=status, headers=PAGE_HEADERS)


def _form_html(language: str, token: str) -> str:
    cat = catalog(language, "survey")
    parts = [f'<p class="intro">{escape(cat.text("optional"))}</p>',
             f'<form method="post" action="/survey/{escape(token)}">']
    for q in survey_questions(language):
        radios = "".join(f'<label><input type="radio" name="{q.id}" value="{c.id}"><span>{escape(c.label)}</span></label>'
                         for c in q.choices)
        parts.append(f'<fieldset><legend>{escape(q.text)}</legend><div class="answers">{radios}</div></fieldset>')
    parts.append(f'<fieldset><legend><label for="comment">{escape(cat.text("comment"))}</label></legend>'
                 f'<textarea id="comment" name="comment" maxlength="2000"></textarea></fieldset>')
    parts.append(f'<button type="submit">{escape(cat.label("submit"))}</button></form>')
    return "".join(parts)


def _form_page(ctx: AppContext) -> Any:
    async def page(token: str) -> HTMLResponse:
        conv, open_ = await _linked(ctx, token)
        if conv is None:
            return _page("ja", f"<p>{escape(survey_text('ja', 'link_used'))}</p>", 404)
        if not open_:
            return _page(conv.language, f"<p>{escape(survey_text(conv.language, 'link_used'))}</p>", 410)
        return _page(conv.language, _form_html(conv.language, token))
    return page


def _answer(value: str | None) -> str | None:
    return value if value in ANSWERS else None


def _form_post(ctx: AppContext) -> Any:
    async def post(token: str, helped: str | None = Form(None), easy: str | None = Form(None),
                   again: str | None = Form(None), comment: str | None = Form(None, max_length=2000)) -> HTMLResponse:
        conv, open_ = await _linked(ctx, token)
        if conv is None:
            return _page("ja", f"<p>{escape(survey_text('ja', 'link_used'))}</p>", 404)
        if not open_:
            return _page(conv.language, f"<p>{escape(survey_text(conv.language, 'link_used'))}</p>", 410)
        text = (comment or "").strip() or None
        finding = risk.screen(text, language=conv.language) if text else None
        await survey_actions.record_answer(ctx, conv, helped=_answer(helped), easy=_answer(easy),
                                           again=_answer(again), comment=text)
        if not finding:
            return _page(conv.language, f"<p>{escape(survey_text(conv.language, 'thanks'))}</p>")
        # A worrying comment is answered with the lines that can talk now (survey answers
        # reach no counsellor, and the resident is told so).
        profile = ctx.profiles.get(conv.profile_id)
        lines = "".join(f'<li>{escape(c.label_for(conv.language))}: <a href="{escape(c.tel_uri or "")}">{escape(c.phone)}</a></li>'
                        for c in profile.contacts_for(list(finding.kinds)) if c.phone)
        return _page(conv.language, f'<p>{escape(survey_text(conv.language, "worried"))}</p><ul class="lines">{lines}</ul>')
    return post
