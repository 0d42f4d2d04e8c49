"""What every counsellor API handler shares, as FastAPI dependencies: the app context (read
from `request.app.state.ctx`, set by the app's lifespan — so the routers are plain module
objects), the logged-in counsellor, and the scope checks (404 when out of scope: it looks the
same as missing, so nothing leaks). An `ActionError` raised by an action becomes its HTTP
answer through `action_error_handler`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Cookie, Depends, HTTPException, Request, WebSocket
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from casecore import access, staff
from casecore.db import transaction
from casecore.models import Case, Conversation, Counsellor
from handoff.actions.base import ActionError
from handoff.context import HandoffContext

COOKIE = "madoguchi_session"


def get_ctx(request: Request) -> HandoffContext:
    return request.app.state.ctx


def ws_ctx(ws: WebSocket) -> HandoffContext:
    return ws.app.state.ctx


Ctx = Annotated[HandoffContext, Depends(get_ctx)]


async def current_counsellor(ctx: Ctx, madoguchi_session: str | None = Cookie(default=None)) -> Counsellor:
    if not madoguchi_session:
        raise HTTPException(401, "login required")
    async with transaction(ctx.sessions) as s:
        c = await staff.session_counsellor(s, madoguchi_session)
    if c is None:
        raise HTTPException(401, "session expired; please log in again")
    return c


Me = Annotated[Counsellor, Depends(current_counsellor)]


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
        return await staff.session_counsellor(s, token)


async def visible_conversation(s: Any, conversation_id: int, me: Counsellor) -> Conversation:
    """The conversation, if this counsellor may see its municipality."""
    conv = await s.get(Conversation, conversation_id)
    if conv is None or not access.can_see(me, conv.profile_id):
        raise HTTPException(404, "no such conversation")
    return conv


async def conversation_in_scope(conversation_id: int, ctx: Ctx, me: Me) -> Conversation:
    """Dependency: the access check before an action on a conversation."""
    async with transaction(ctx.sessions) as s:
        return await visible_conversation(s, conversation_id, me)


async def case_in_scope(case_id: int, ctx: Ctx, me: Me) -> Case:
    async with transaction(ctx.sessions) as s:
        case = await s.get(Case, case_id)
    if case is None or not access.can_see(me, case.profile_id):
        raise HTTPException(404, "no such case")
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
