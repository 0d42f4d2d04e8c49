"""What every counsellor API handler shares, as FastAPI dependencies: the app context (read
from `request.app.state.ctx`, set by the app's lifespan — so the routers are plain module
objects), the logged-in counsellor, and the scope checks (404 when out of scope: it looks the
same as missing, so nothing leaks). An `ActionError` raised by an action becomes its HTTP
answer through `action_error_handler`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import Cookie, Depends, HTTPException, Request, WebSocket
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from casecore import access, audit, staff
from casecore.db import transaction
from casecore.models import Case, Conversation, Counsellor, StaffSession
from handoff.actions.base import ActionError
from handoff.context import HandoffContext

COOKIE = "madoguchi_session"


def get_ctx(request: Request) -> HandoffContext:
    return request.app.state.ctx


def ws_ctx(ws: WebSocket) -> HandoffContext:
    return ws.app.state.ctx


Ctx = Annotated[HandoffContext, Depends(get_ctx)]


def idle(ctx: HandoffContext) -> timedelta:
    return timedelta(minutes=ctx.settings.session_idle_minutes)


# What the console fetches by itself on live updates: it does not keep an unattended console
# logged in (the idle timeout counts what the counsellor does).
BACKGROUND_READS = frozenset({"/api/queue", "/api/cases", "/api/auth/me", "/api/console/strings"})


async def current_session(request: Request, ctx: Ctx, madoguchi_session: str | None = Cookie(default=None)) -> StaffSession:
    """The session behind the cookie, at any stage (the MFA enrolment routes take this)."""
    if not madoguchi_session:
        raise HTTPException(401, "login required")
    touch = not (request.method == "GET" and request.url.path in BACKGROUND_READS)
    async with transaction(ctx.sessions) as s:
        row = await staff.find_session(s, madoguchi_session, idle(ctx), touch=touch)
    if row is None:
        raise HTTPException(401, "session expired; please log in again")
    return row


AnySession = Annotated[StaffSession, Depends(current_session)]


async def current_counsellor(row: AnySession) -> Counsellor:
    """A fully logged-in counsellor: no route but MFA enrolment serves a session without it."""
    if row.stage != "full":
        raise HTTPException(401, detail={"error": "enrol a second factor first", "code": "mfa_enrolment_required"})
    return row.counsellor


Me = Annotated[Counsellor, Depends(current_counsellor)]


async def admin_only(me: Me) -> Counsellor:
    if me.role != "admin":
        raise HTTPException(403, "only an admin manages accounts")
    return me


async def lead_only(me: Me) -> Counsellor:
    if me.role != "lead":
        raise HTTPException(403, "only a lead (主任相談支援員) assigns cases")
    return me


async def inspector(me: Me) -> Counsellor:
    """The audit trail is for leads (their municipalities) and admins."""
    if me.role not in ("lead", "admin"):
        raise HTTPException(403, "the audit trail is for leads and admins")
    return me


Admin = Annotated[Counsellor, Depends(admin_only)]
LeadOnly = Annotated[Counsellor, Depends(lead_only)]
Inspector = Annotated[Counsellor, Depends(inspector)]


async def lead_or_admin(me: Me) -> Counsellor:
    """Removing a resident is for a lead (主任相談支援員) or an admin."""
    if me.role not in ("lead", "admin"):
        raise HTTPException(403, "only a lead (主任相談支援員) or an admin can remove a resident")
    return me


Lead = Annotated[Counsellor, Depends(lead_or_admin)]


async def websocket_counsellor(ctx: HandoffContext, ws: WebSocket) -> Counsellor | None:
    token = ws.cookies.get(COOKIE)
    if not token:
        return None
    async with transaction(ctx.sessions) as s:
        return await staff.session_counsellor(s, token, idle(ctx))


class Refused(Exception):
    """A read or change outside the counsellor's access: answered 404 (it looks the same as
    missing, so nothing leaks) and audited in a transaction of its own (`refused_handler`),
    after the request's own transaction has rolled back."""

    def __init__(self, me: Counsellor, target_type: str, target_id: int, wanted: str) -> None:
        super().__init__(f"no such {target_type}")
        self.me, self.target_type, self.target_id, self.wanted = me, target_type, target_id, wanted


async def refused_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    await audit.record_now(
        request.app.state.ctx.sessions, action="access_refused", target_type=exc.target_type,
        target_id=exc.target_id, actor_type="counsellor", actor_id=exc.me.id, detail={"wanted": exc.wanted})
    return JSONResponse({"detail": str(exc)}, status_code=404)


async def visible_conversation(s: Any, conversation_id: int, me: Counsellor, wanted: str = "act") -> Conversation:
    """The conversation, if this counsellor may act in its municipality (the actions check
    who holds it); admins act on no conversation."""
    conv = await s.get(Conversation, conversation_id)
    if conv is None or me.role == "admin" or not access.can_see(me, conv.profile_id):
        raise Refused(me, "conversation", conversation_id, wanted)
    return conv


async def conversation_in_scope(conversation_id: int, ctx: Ctx, me: Me) -> Conversation:
    """Dependency: the access check before an action on a conversation."""
    async with transaction(ctx.sessions) as s:
        return await visible_conversation(s, conversation_id, me)


async def case_in_scope(case_id: int, ctx: Ctx, me: Me) -> Case:
    """Dependency before a change to a case (note, status, programmes): need-to-know, and a
    break-glass read never writes."""
    async with transaction(ctx.sessions) as s:
        case = await s.get(Case, case_id)
        basis = await access.case_basis(s, me, case) if case is not None else None
    if case is None or basis not in access.WRITE_BASES:
        raise Refused(me, "case", case_id, "change")
    return case


InScope = Annotated[Conversation, Depends(conversation_in_scope)]
CaseInScope = Annotated[Case, Depends(case_in_scope)]


def refusal(exc: ActionError) -> HTTPException:
    """An action's refusal as the API answers it: `{"detail": {"error": …, "holder"?: …}}`."""
    if exc.plain:
        return HTTPException(exc.status, detail=str(exc))
    return HTTPException(exc.status, detail={"error": str(exc), **exc.extra})


async def action_error_handler(request: Request, exc: Exception) -> Response:
    """Answer an ActionError through whatever handles HTTPException in this app."""
    assert isinstance(exc, ActionError)
    handler = request.app.exception_handlers.get(StarletteHTTPException, http_exception_handler)
    return await handler(request, refusal(exc))
