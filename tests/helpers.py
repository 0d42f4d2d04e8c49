"""Test helpers: drive a whole intake through the web chat API, log a counsellor in."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from casecore import staff
from casecore.db import transaction
from madoguchi.context import AppContext

COUNSELLOR_PASSWORD = "correct horse battery staple"

# A complete Japanese intake: each step is (kind, value) sent to POST …/messages.
JAPANESE_INTAKE: list[tuple[str, str]] = [
    ("choice", "agree"),
    ("choice", "none"),
    ("choice", "self"),
    ("choice", "debt"), ("choice", "job"), ("choice", "done"),
    ("text", "派遣の契約が切れて、家賃とカードの支払いができません。山田花子です。"),
    ("choice", "40s"),
    ("choice", "麻布"),
    ("choice", "alone"),
    ("choice", "no"),
    ("choice", "lives_here"),
    ("text", "山田花子"),
    ("choice", "phone"),
    ("text", "090-1234-5678"),
    ("choice", "afternoon"),
    ("choice", "yes"),
    ("choice", "confirm"),
]
PERSONAL_VALUES = ["派遣の契約が切れて", "山田花子", "09012345678", "090-1234-5678"]


async def new_session(client: httpx.AsyncClient, language: str | None = "ja", profile: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if language:
        body["language"] = language
    if profile:
        body["profile"] = profile
    r = await client.post("/api/webchat/sessions", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def send(client: httpx.AsyncClient, session: dict[str, Any], kind: str, value: str, client_id: str | None = None) -> dict[str, Any]:
    r = await client.post(
        f"/api/webchat/sessions/{session['session_id']}/messages",
        json={kind: value, "client_message_id": client_id or uuid.uuid4().hex},
        headers={"Authorization": f"Bearer {session['token']}"},
    )
    assert r.status_code == 200, r.text
    return r.json()


async def run_intake(client: httpx.AsyncClient, steps: list[tuple[str, str]] = JAPANESE_INTAKE, language: str = "ja") -> tuple[dict[str, Any], dict[str, Any]]:
    session = await new_session(client, language)
    reply: dict[str, Any] = session
    for kind, value in steps:
        reply = await send(client, session, kind, value)
    return session, reply


async def make_counsellor(ctx: AppContext, login: str = "sato", role: str = "counsellor") -> None:
    async with transaction(ctx.sessions) as s:
        await staff.create_counsellor(s, login, COUNSELLOR_PASSWORD, role, display_name=login)


async def login(client: httpx.AsyncClient, login_name: str = "sato") -> None:
    r = await client.post("/api/auth/login", json={"login": login_name, "password": COUNSELLOR_PASSWORD})
    assert r.status_code == 200, r.text
