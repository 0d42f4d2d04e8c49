"""Helpers for the handoff tests: a second counsellor client, a resident waiting in the queue."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
from sqlalchemy import select

from casecore.db import transaction
from casecore.models import AuditEvent
from casecore.types import utcnow
from madoguchi.context import AppContext
from tests.conftest import Running
from tests.helpers import login, make_counsellor, new_session, run_intake, send


@contextlib.asynccontextmanager
async def counsellor_client(
    running: Running, login_name: str, role: str = "counsellor", profiles: list[str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """A separate cookie jar on the same app: one counsellor's browser. `profiles`: the
    municipalities they are assigned to (all when empty)."""
    await make_counsellor(running.ctx, login_name, role, profiles=profiles or None)
    transport = httpx.ASGITransport(app=running.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        await login(client, login_name)
        yield client


async def waiting_after_intake(client: httpx.AsyncClient) -> dict[str, Any]:
    """A Japanese resident who completed the intake (a case exists, the conversation waits)."""
    session, reply = await run_intake(client)
    assert reply["conversation_status"] == "waiting", reply
    return session


async def waiting_in_english(client: httpx.AsyncClient) -> dict[str, Any]:
    """An English-speaking resident who asked for a person before consenting to anything."""
    session = await new_session(client, "en")
    reply = await send(client, session, "choice", "human")
    assert reply["conversation_status"] == "waiting", reply
    return session


def resident_headers(session: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {session['token']}"}


async def resident_messages(client: httpx.AsyncClient, session: dict[str, Any]) -> dict[str, Any]:
    r = await client.get(f"/api/webchat/sessions/{session['session_id']}/messages", headers=resident_headers(session))
    assert r.status_code == 200, r.text
    return r.json()


async def closed_resident_view(running: Running, session: dict[str, Any]) -> dict[str, Any]:
    """After a chat closed, its token reads nothing any more (issue 17: a shared phone must
    not show it again); what the resident was pushed is checked in the store instead, as the
    resident's page rendered it."""
    from bots.webchat.api import _resident_view
    from casecore.models import Conversation, Message

    r = await running.client.get(f"/api/webchat/sessions/{session['session_id']}/messages", headers=resident_headers(session))
    assert r.status_code == 404 and r.json()["detail"]["code"] == "session_ended", r.text
    async with transaction(running.ctx.sessions) as s:
        conv = await s.get(Conversation, session["session_id"])
        rows = (await s.scalars(select(Message).where(Message.conversation_id == conv.id).order_by(Message.id))).all()
        return {"conversation_status": conv.status,
                "messages": [_resident_view(m) for m in rows if m.text is not None or m.media_type or m.choice_id]}


async def audit_actions(ctx: AppContext, target_type: str, target_id: int) -> list[tuple[str, int | None]]:
    async with transaction(ctx.sessions) as s:
        rows = (await s.scalars(
            select(AuditEvent).where(AuditEvent.target_type == target_type, AuditEvent.target_id == str(target_id))
            .order_by(AuditEvent.id)
        )).all()
        return [(r.action, r.actor_id) for r in rows]


def first_suicide_line(ctx: AppContext) -> str:
    """The line that leads a suicide answer now: いのちの電話 while the centre is open, the first
    24-hour line (よりそいホットライン) at night, at weekends and on holidays. CI runs at any hour."""
    return "tel:0570783556" if ctx.profiles.get(None).office_hours.is_open(utcnow()) else "tel:0120279338"
