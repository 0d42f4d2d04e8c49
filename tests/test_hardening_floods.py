"""Issue 17: flood limits answered 429 with Retry-After and a kind message in the resident's
language (never a silent drop; a crisis always gets through), and blocks that hold across new
sessions from the same browser and network, after the warn → remove → block sequence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, update

from casecore.db import transaction
from casecore.models import Message, ResidentBlock
from casecore.types import utcnow
from handoff.ratelimit import RateLimiter, Rule
from madoguchi.report import monthly_report
from tests.conftest import Running, make_settings, start_app
from tests.helpers import login_body, make_counsellor

RESIDENT_IP = ("203.0.113.7", 40000)


def client_from(running: Running, client: tuple[str, int] = RESIDENT_IP) -> httpx.AsyncClient:
    """A client seen from a public address (the default test client is loopback, which the
    per-IP rules leave alone)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=running.app, client=client), base_url="http://testserver")


@pytest.fixture
async def limited(stack, tmp_path: Path) -> AsyncIterator[Running]:
    settings = stack.model_copy(update={
        "limit_messages_per_session": "3/60", "limit_sessions_per_ip": "3/60", "limit_sessions_per_device": "5/60",
        "limit_logins_per_account": "3/900", "limit_logins_per_ip": "6/900",
    })
    async for r in start_app(settings):
        yield r


async def test_messages_beyond_the_limit_get_429_in_the_residents_language_but_a_crisis_passes(limited: Running) -> None:
    async with client_from(limited) as c:
        s = (await c.post("/api/webchat/sessions", json={"language": "en"})).json()
        path, auth = f"/api/webchat/sessions/{s['session_id']}/messages", {"Authorization": f"Bearer {s['token']}"}
        for i in range(3):
            assert (await c.post(path, headers=auth, json={"text": f"hello {i}", "client_message_id": f"m{i}"})).status_code == 200
        r = await c.post(path, headers=auth, json={"text": "hello again", "client_message_id": "m3"})
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) >= 1
        assert r.json()["detail"]["code"] == "rate_limited"
        assert "Nothing you wrote has been lost" in r.json()["detail"]["message"]
        # the refused message was not stored: the page sends it again (same client_message_id)
        async with limited.ctx.sessions() as db:
            stored = await db.scalar(select(func.count()).select_from(Message).where(
                Message.channel_event_id == f"{s['session_id']}:m3"))
        assert stored == 0
        # a crisis is screened first and passes the limit
        r = await c.post(path, headers=auth, json={"text": "I want to die", "client_message_id": "m4"})
        assert r.status_code == 200, r.text
        assert r.json()["conversation_status"] == "waiting"


async def test_session_floods_per_ip_get_429(limited: Running) -> None:
    async with client_from(limited) as c:
        for _ in range(3):
            c.cookies.clear()  # a flood does not keep cookies: the network limit still holds
            assert (await c.post("/api/webchat/sessions", json={"language": "ja"})).status_code == 201
        c.cookies.clear()
        r = await c.post("/api/webchat/sessions", json={"language": "ja"})
        assert r.status_code == 429 and "少しお待ちください" in r.json()["detail"]["message"]
    async with client_from(limited, ("198.51.100.2", 1)) as other:  # someone else is not affected
        assert (await other.post("/api/webchat/sessions", json={"language": "ja"})).status_code == 201


async def test_login_floods_get_429_per_account_and_per_ip(limited: Running) -> None:
    await make_counsellor(limited.ctx, "sato")
    async with client_from(limited) as c:
        for _ in range(3):
            assert (await c.post("/api/auth/login", json={"login": "sato", "password": "wrong"})).status_code == 401
        r = await c.post("/api/auth/login", json=login_body("sato"))
        assert r.status_code == 429 and "Retry-After" in r.headers  # even the right password waits
        for _ in range(2):
            assert (await c.post("/api/auth/login", json={"login": "other", "password": "x"})).status_code == 401
        assert (await c.post("/api/auth/login", json={"login": "third", "password": "x"})).status_code == 429  # per IP


async def test_a_shift_logging_in_behind_one_address_is_not_locked_out(limited: Running) -> None:
    """The address limit counts refused attempts only: eight staff behind the centre's one NAT
    address (limit 6 per window here) all get in, and failures still lock the address."""
    for i in range(8):
        await make_counsellor(limited.ctx, f"shift{i}")
    async with client_from(limited, ("203.0.113.7", 1)) as c:
        for i in range(8):
            c.cookies.clear()
            assert (await c.post("/api/auth/login", json=login_body(f"shift{i}"))).status_code == 200
        for i in range(6):
            assert (await c.post("/api/auth/login", json={"login": f"nobody{i}", "password": "x"})).status_code == 401
        r = await c.post("/api/auth/login", json=login_body("shift0"))
        assert r.status_code == 429  # six failures from the address: now it waits, right password or not


async def test_sliding_window_forgets_old_events() -> None:
    now = [1000.0]
    rl = RateLimiter("secret", clock=lambda: now[0])
    rule = Rule.parse("t", "2/10")
    assert (await rl.hit(rule, "a")).allowed and (await rl.hit(rule, "a")).allowed
    refused = await rl.hit(rule, "a")
    assert not refused.allowed and 1 <= refused.retry_after <= 10
    assert (await rl.hit(rule, "b")).allowed  # per identity
    now[0] += 20
    assert (await rl.hit(rule, "a")).allowed
    assert (await rl.hit(Rule.parse("off", "off"), "a")).allowed


async def test_warn_remove_block_hold_across_new_sessions_and_are_counted(running: Running) -> None:
    ctx, staff_client = running.ctx, running.client
    await make_counsellor(ctx, "lead", "lead")
    await make_counsellor(ctx, "worker", "counsellor")
    async with client_from(running) as resident:
        s = (await resident.post("/api/webchat/sessions", json={"language": "vi"})).json()
        cookie = resident.cookies.get("madoguchi_device")
        assert cookie
        r = await staff_client.post("/api/auth/login", json=login_body("worker"))
        assert r.status_code == 200
        assert (await staff_client.post(f"/api/conversations/{s['session_id']}/warn", json={})).status_code == 403
        assert (await staff_client.post("/api/auth/login", json=login_body("lead"))).status_code == 200
        r = await staff_client.post(f"/api/conversations/{s['session_id']}/warn", json={"reason": "harassment"})
        assert r.status_code == 200
        transcript = (await resident.get(f"/api/webchat/sessions/{s['session_id']}/messages",
                                          headers={"Authorization": f"Bearer {s['token']}"})).json()
        assert any("Xin vui lòng tuân thủ" in (m["text"] or "") for m in transcript["messages"])  # in Vietnamese
        r = await staff_client.post(f"/api/conversations/{s['session_id']}/remove", json={"reason": "harassment"})
        assert r.status_code == 200 and r.json()["status"] == "closed"
        async with ctx.sessions() as db:
            told = (await db.scalars(select(Message.text).where(Message.conversation_id == s["session_id"]))).all()
        assert any("không được tuân thủ" in (t or "") for t in told)  # told why, in Vietnamese
        r = await staff_client.post(f"/api/conversations/{s['session_id']}/block", json={"reason": "harassment"})
        assert r.status_code == 200 and r.json()["blocked"] is True

        # the same browser, a new session: refused, kindly, with the emergency numbers
        r = await resident.post("/api/webchat/sessions", json={"language": "vi"})
        assert r.status_code == 403 and "110" in r.json()["detail"]["message"]
    # the same browser from another network (its cookie travels along)
    async with client_from(running, ("198.51.100.20", 1)) as moved:
        r = await moved.post("/api/webchat/sessions", json={}, headers={"Cookie": f"madoguchi_device={cookie}"})
        assert r.status_code == 403
    # the same network without the cookie (cleared it, private window)
    async with client_from(running) as fresh:
        assert (await fresh.post("/api/webchat/sessions", json={})).status_code == 403
    # a forged cookie from elsewhere is just ignored (a new one is issued)
    async with client_from(running, ("198.51.100.30", 1)) as other:
        r = await other.post("/api/webchat/sessions", json={}, headers={"Cookie": "madoguchi_device=forged.0000"})
        assert r.status_code == 201
    # the network block is shorter (shared addresses); after it, the network is free again
    async with transaction(ctx.sessions) as db:
        await db.execute(update(ResidentBlock).where(ResidentBlock.kind == "network").values(until=utcnow() - timedelta(seconds=1)))
    async with client_from(running) as fresh:
        assert (await fresh.post("/api/webchat/sessions", json={})).status_code == 201
    async with client_from(running, ("198.51.100.21", 1)) as moved:
        r = await moved.post("/api/webchat/sessions", json={}, headers={"Cookie": f"madoguchi_device={cookie}"})
        assert r.status_code == 403  # the device block still holds
    async with ctx.sessions() as db:
        spans = {b.kind: b.until - b.created_at for b in (await db.scalars(select(ResidentBlock))).all()}
    assert spans["device"] > timedelta(days=29)

    data = await monthly_report(running.settings, datetime.now(UTC).strftime("%Y-%m"), "minato-tokyo")
    assert data["warnings"] == 1 and data["removals"] == 1 and data["blocks"] == 1
    # lifting the block lifts the browser and network too
    r = await staff_client.post(f"/api/conversations/{s['session_id']}/block", json={"blocked": False})
    assert r.status_code == 200
    async with client_from(running, ("198.51.100.22", 1)) as moved:
        r = await moved.post("/api/webchat/sessions", json={}, headers={"Cookie": f"madoguchi_device={cookie}"})
        assert r.status_code == 201


async def test_device_cookie_is_httponly_and_signed(tmp_path: Path) -> None:
    async for running in start_app(make_settings(tmp_path)):
        r = await running.client.post("/api/webchat/sessions", json={})
        header = r.headers["set-cookie"].lower()
        assert "httponly" in header and "samesite=strict" in header and "path=/api/webchat" in header
        value = r.cookies["madoguchi_device"]
        device, _, mac = value.rpartition(".")
        assert device and len(mac) == 32
