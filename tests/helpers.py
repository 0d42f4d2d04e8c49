"""Test helpers: drive a whole intake through the web chat API, log a counsellor in."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from typing import Any

import httpx
import pyotp
from sqlalchemy import select

from casecore import staff
from casecore.db import transaction
from casecore.models import Counsellor
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


# -- staff logins (issue 11: MFA is mandatory) ----------------------------------------------
# Every account the helpers make has TOTP enrolled with a secret derived from its login, so
# any test can log in through `login`, `login_body` or `console_login`. The server refuses a
# code whose time step was used already (replay), so the helpers hand out each step once per
# account (the current and the next; the server also accepts the previous one), and fall back
# to one of the account's recovery codes when a test logs in more often within one step.
_last_step: dict[str, int] = {}
_recovery: dict[str, list[str]] = {}


def totp_secret(login: str) -> str:
    return base64.b32encode(hashlib.sha256(("madoguchi-test:" + login).encode()).digest()[:20]).decode()


def otp_for(login: str) -> str:
    """A fresh code for this account: never one the server has seen."""
    totp = pyotp.TOTP(totp_secret(login))
    now = int(time.time() // totp.interval)
    # not the previous step: a request crossing a step boundary would find it expired
    step = max(now, _last_step.get(login, now - 1) + 1)
    if step > now + 1:
        codes = _recovery.get(login) or []
        assert codes, f"{login}: more logins within 30 s than the helpers have codes for"
        return codes.pop()
    _last_step[login] = step
    return totp.generate_otp(step)


def login_body(login: str, password: str = COUNSELLOR_PASSWORD) -> dict[str, str]:
    return {"login": login, "password": password, "otp": otp_for(login)}


async def enrol(ctx: AppContext, login: str) -> None:
    """Give an existing account the helpers' TOTP secret (and recovery codes)."""
    async with transaction(ctx.sessions) as s:
        c = await s.scalar(select(Counsellor).where(Counsellor.login == login))
        assert c is not None
        c.totp_secret, c.totp_last_step, c.mfa_enrolled_at = totp_secret(login), None, staff.utcnow()
        _recovery[login] = await staff.new_recovery_codes(s, c)
    _last_step.pop(login, None)


async def make_counsellor(ctx: AppContext, login: str = "sato", role: str = "counsellor",
                          profiles: list[str] | None = None, team: str | None = None, mfa: bool = True) -> None:
    """An account of every municipality the app serves (unless `profiles` narrows it), with
    TOTP enrolled (`mfa=False`: not yet, as a new account at its first login)."""
    if profiles is None:
        profiles = [p.id for p in ctx.profiles.all()]
    async with transaction(ctx.sessions) as s:
        await staff.create_counsellor(s, login, COUNSELLOR_PASSWORD, role, display_name=login, profiles=profiles, team=team)
    if mfa:
        await enrol(ctx, login)


async def login(client: httpx.AsyncClient, login_name: str = "sato") -> None:
    r = await client.post("/api/auth/login", json=login_body(login_name))
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "full", f"{login_name} has no second factor: make it with make_counsellor"


def console_login(page: Any, live: Any, login: str) -> None:
    """Log in at /console as a browser would: login ID, password and the one-time code."""
    page.goto(live.url + "/console")
    page.wait_for_selector("#app[data-view=login]")
    page.get_by_label("ログインID").fill(login)
    page.get_by_label("パスワード").fill(COUNSELLOR_PASSWORD)
    page.fill("#otp", otp_for(login))
    page.locator("#otp").press("Enter")
    page.wait_for_selector("#app[data-view=main][data-live=open]")
