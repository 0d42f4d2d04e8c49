"""Mandatory MFA (issue 11): enrolment at the first login (QR code, a first code, recovery
codes shown once), nothing reachable before it, no replayed code, one answer for every
refused login."""

from __future__ import annotations

import time

import httpx
import pyotp
from sqlalchemy import select

from casecore.db import transaction
from casecore.models import AuditEvent, Counsellor, MfaRecoveryCode
from tests.conftest import Running
from tests.helpers import COUNSELLOR_PASSWORD, login_body, make_counsellor, totp_secret


def _code(secret: str, offset: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(int(time.time() // totp.interval) + offset)


async def test_first_login_enrols_totp_and_reaches_nothing_before(running_sqlite: Running) -> None:
    running, c = running_sqlite, running_sqlite.client
    await make_counsellor(running.ctx, "shinnin", mfa=False)
    r = await c.post("/api/auth/login", json={"login": "shinnin", "password": COUNSELLOR_PASSWORD, "otp": "123456"})
    assert r.status_code == 200 and r.json()["stage"] == "mfa" and r.json()["mfa_enrolment_required"] is True
    # an enrolment-only session: no queue, no case, no change
    for method, path in (("GET", "/api/queue"), ("GET", "/api/cases"), ("GET", "/api/cases/1"),
                         ("GET", "/api/conversations/1"), ("POST", "/api/conversations/1/claim"), ("GET", "/api/auth/me")):
        r = await c.request(method, path)
        assert r.status_code == 401 and r.json()["detail"]["code"] == "mfa_enrolment_required", (method, path)

    setup = (await c.get("/api/auth/mfa/setup")).json()
    assert setup["qr_svg"].startswith("data:image/svg+xml") and setup["otpauth_uri"].startswith("otpauth://totp/")
    assert "issuer=madoguchi" in setup["otpauth_uri"]
    assert (await c.get("/api/auth/mfa/setup")).json()["secret"] == setup["secret"]  # stable until confirmed
    assert (await c.post("/api/auth/mfa/enrol", json={"otp": "000000" if _code(setup["secret"]) != "000000" else "111111"})).status_code == 422
    first = _code(setup["secret"])
    r = await c.post("/api/auth/mfa/enrol", json={"otp": first})
    assert r.status_code == 200
    codes = r.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert (await c.get("/api/queue")).status_code == 200  # the session is a full login now
    assert (await c.get("/api/auth/mfa/setup")).status_code == 409  # no re-enrolment by oneself
    async with transaction(running.ctx.sessions) as s:
        stored = (await s.scalars(select(MfaRecoveryCode.code_hash))).all()
        assert len(stored) == 10 and not set(codes) & set(stored)  # only keyed hashes are kept
        actions = set((await s.scalars(select(AuditEvent.action))).all())
    assert {"login_mfa_enrolment", "mfa_enrolled", "mfa_enrol_failed"} <= actions

    # the enrolment code is spent: it cannot log in again
    await c.post("/api/auth/logout")
    refused = await c.post("/api/auth/login", json={"login": "shinnin", "password": COUNSELLOR_PASSWORD, "otp": first})
    assert refused.status_code == 401
    # a recovery code works once
    r = await c.post("/api/auth/login", json={"login": "shinnin", "password": COUNSELLOR_PASSWORD, "otp": codes[3]})
    assert r.status_code == 200 and r.json()["stage"] == "full"
    await c.post("/api/auth/logout")
    again = await c.post("/api/auth/login", json={"login": "shinnin", "password": COUNSELLOR_PASSWORD, "otp": codes[3]})
    assert again.status_code == 401


async def test_a_code_is_never_accepted_twice(running_sqlite: Running) -> None:
    running = running_sqlite
    await make_counsellor(running.ctx, "watanabe")
    step = int(time.time() // 30)
    code = _code(totp_secret("watanabe"))
    body = {"login": "watanabe", "password": COUNSELLOR_PASSWORD, "otp": code}
    transport = httpx.ASGITransport(app=running.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as a, \
            httpx.AsyncClient(transport=transport, base_url="http://t") as b:
        assert (await a.post("/api/auth/login", json=body)).status_code == 200
        assert (await b.post("/api/auth/login", json=body)).status_code == 401  # replayed (another browser)
        older = _code(totp_secret("watanabe"), -1)
        if older != code:
            assert (await b.post("/api/auth/login", json={**body, "otp": older})).status_code == 401  # an older step too
        assert (await b.post("/api/auth/login", json={**body, "otp": _code(totp_secret("watanabe"), 1)})).status_code == 200
    async with transaction(running.ctx.sessions) as s:
        c = await s.scalar(select(Counsellor).where(Counsellor.login == "watanabe"))
        assert c is not None and c.totp_last_step is not None and c.totp_last_step >= step + 1  # remembered


async def test_every_refusal_gets_the_same_answer(running_sqlite: Running) -> None:
    running, c = running_sqlite, running_sqlite.client
    await make_counsellor(running.ctx, "kobayashi")
    await make_counsellor(running.ctx, "mada", mfa=False)
    good = login_body("kobayashi")
    answers = []
    for body in ({**good, "password": "wrong password"},  # right code, wrong password
                 {**good, "otp": "000000" if good["otp"] != "000000" else "111111"},  # right password, wrong code
                 {"login": "kobayashi", "password": COUNSELLOR_PASSWORD},  # right password, no code
                 {"login": "nobody-here", "password": "whatever1234", "otp": "123456"},  # unknown login
                 {"login": "mada", "password": "wrong password", "otp": "123456"}):  # not enrolled, wrong password
        r = await c.post("/api/auth/login", json=body)
        answers.append((r.status_code, r.text))
    assert len(set(answers)) == 1 and answers[0][0] == 401
    assert "kobayashi" not in answers[0][1]
    async with transaction(running.ctx.sessions) as s:
        failed = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed").order_by(AuditEvent.id))).all()
    assert [e.detail["cause"] for e in failed] == ["password", "otp", "otp", "unknown", "password"]
