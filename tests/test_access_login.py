"""Login defences (issue 11): per-account and per-IP lockout with an audit row for every failed
or locked attempt (written in its own transaction) and an alert; the idle timeout; no state
change from another origin; logout and disable closing the console socket at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from websockets.exceptions import ConnectionClosed

from casecore.db import transaction
from casecore.models import AuditEvent, Conversation, StaffSession
from casecore.types import utcnow
from handoff.ratelimit import RateLimiter
from tests.browser import LiveServer, serve_settings
from tests.conftest import Running, make_settings, start_app
from tests.handoff_helpers import counsellor_client, waiting_after_intake
from tests.helpers import login_body, make_counsellor
from tests.test_handoff_live import login_cookie, open_console, receive_until


def _from(running: Running, ip: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=running.app, client=(ip, 40000)), base_url="http://testserver")


async def _count(running: Running, action: str) -> int:
    async with transaction(running.ctx.sessions) as s:
        return int(await s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)) or 0)


async def test_twenty_wrong_passwords_lock_the_account_and_the_ip_for_a_while(running_sqlite: Running) -> None:
    running = running_sqlite
    now = [1_000_000.0]
    running.ctx.extras["ratelimit"] = RateLimiter("k", clock=lambda: now[0])  # a clock the test moves
    await make_counsellor(running.ctx, "yamada")
    await make_counsellor(running.ctx, "ito")
    async with _from(running, "203.0.113.9") as c:
        answers = [(await c.post("/api/auth/login", json={"login": "yamada", "password": f"guess-{i}-パス"})).status_code
                   for i in range(20)]
        assert answers == [401] * 10 + [429] * 10  # the account locks after 10 (MADOGUCHI_LIMIT_LOGINS_PER_ACCOUNT)
        r = await c.post("/api/auth/login", json=login_body("yamada"))
        assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 900  # even the right password waits
        # the IP is locked too (20 attempts): another account from it waits
        assert (await c.post("/api/auth/login", json=login_body("ito"))).status_code == 429
    assert await _count(running, "login_failed") + await _count(running, "login_locked") >= 20
    assert await _count(running, "login_failed") == 10
    async with transaction(running.ctx.sessions) as s:
        locked = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "login_locked"))).all()
        alerts = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "login_lockout"))).all()
    assert len(locked) == 12 and {e.detail["scope"] for e in locked} == {"account", "ip"}
    assert {e.detail["scope"] for e in alerts} >= {"account", "ip"}  # the admins' alert
    async with _from(running, "198.51.100.4") as other:  # someone else, elsewhere, is not affected
        assert (await other.post("/api/auth/login", json=login_body("ito"))).status_code == 200
    now[0] += 1800  # "for a while": after the window the account logs in again
    async with _from(running, "203.0.113.9") as c:
        assert (await c.post("/api/auth/login", json=login_body("yamada"))).status_code == 200


async def test_an_idle_session_ends(tmp_path: Any) -> None:
    async for running in start_app(make_settings(tmp_path, session_idle_minutes=5)):
        await make_counsellor(running.ctx, "sasaki")
        c = running.client
        assert (await c.post("/api/auth/login", json=login_body("sasaki"))).status_code == 200
        assert (await c.get("/api/auth/me")).status_code == 200
        async with transaction(running.ctx.sessions) as s:
            await s.execute(update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=4)))
        # the console's own refreshes (the queue on live updates) do not keep it alive
        assert (await c.get("/api/queue")).status_code == 200
        async with transaction(running.ctx.sessions) as s:
            seen = await s.scalar(select(StaffSession.last_seen_at))
            assert utcnow() - seen > timedelta(minutes=3)
        async with transaction(running.ctx.sessions) as s:
            await s.execute(update(StaffSession).values(last_seen_at=utcnow() - timedelta(minutes=6)))  # not moved by it
        r = await c.get("/api/auth/me")
        assert r.status_code == 401
        async with transaction(running.ctx.sessions) as s:
            assert await s.scalar(select(func.count()).select_from(StaffSession)) == 0  # gone for good


async def test_another_origin_cannot_change_state(running_sqlite: Running) -> None:
    running = running_sqlite
    async with counsellor_client(running, "sato") as sato:
        session = await waiting_after_intake(running.client)
        cid = session["session_id"]
        for headers in ({"Sec-Fetch-Site": "same-site", "Origin": "http://testserver:8081"},  # another port
                        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
                        {"Origin": "http://chat.testserver"},  # a subdomain, older browser
                        {"Sec-Fetch-Site": "same-site"}):
            r = await sato.post(f"/api/conversations/{cid}/claim", headers=headers)
            assert r.status_code == 403 and r.json()["detail"]["code"] == "cross_origin", headers
            r = await sato.post(f"/api/conversations/{cid}/close", headers=headers)
            assert r.status_code == 403
        async with transaction(running.ctx.sessions) as s:
            assert (await s.get(Conversation, cid)).status == "waiting"  # nothing changed
        # a form that logs the counsellor in from another origin (login CSRF) fails too
        r = await running.client.post("/api/auth/login", json=login_body("sato"), headers={"Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 403
        # the console's own page passes
        r = await sato.post(f"/api/conversations/{cid}/claim",
                            headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"})
        assert r.status_code == 200
    # the web chat is embedded on the municipality's site: cross-origin by design
    r = await running.client.post("/api/webchat/sessions", json={"language": "ja"},
                                  headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://www.city.example.lg.jp"})
    assert r.status_code == 201


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve_settings(make_settings(tmp_path_factory.mktemp("live-acc"), translation_enabled=False)) as server:
        yield server


def _closed_within(ws: Any, seconds: float) -> int | None:
    start = time.monotonic()
    try:
        while time.monotonic() - start < seconds:
            ws.recv(timeout=max(0.01, seconds - (time.monotonic() - start)))
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else None
    except TimeoutError:
        return None
    return None


def test_disable_and_logout_close_the_console_socket_at_once(live: LiveServer) -> None:
    live.call(make_counsellor(live.ctx, "admin1", "admin"))
    live.call(make_counsellor(live.ctx, "leaver"))
    live.call(make_counsellor(live.ctx, "stays"))
    admin = login_cookie(live, "admin1")
    leaver, stays = login_cookie(live, "leaver"), login_cookie(live, "stays")
    with open_console(live, leaver) as ws:
        accounts = httpx.get(live.url + "/api/accounts", cookies={"madoguchi_session": admin}).json()["accounts"]
        leaver_id = next(a["id"] for a in accounts if a["login"] == "leaver")
        r = httpx.post(f"{live.url}/api/accounts/{leaver_id}/disable", cookies={"madoguchi_session": admin})
        assert r.status_code == 200 and r.json()["account"]["active"] is False
        assert _closed_within(ws, 1.0) == 4401
    assert httpx.get(live.url + "/api/auth/me", cookies={"madoguchi_session": leaver}).status_code == 401
    assert httpx.post(live.url + "/api/auth/login", json=login_body("leaver")).status_code == 401
    other = login_cookie(live, "stays")  # a second session of the same person stays open
    with open_console(live, stays) as ws, open_console(live, other) as ws2:
        assert httpx.post(live.url + "/api/auth/logout", cookies={"madoguchi_session": stays}).status_code == 200
        assert _closed_within(ws, 1.0) == 4401
        ws2.send('{"action": "ping"}')
        assert "pong" in ws2.recv(timeout=2)
    # a lockout reaches the admins' consoles
    with open_console(live, admin) as ws:
        for _ in range(10):
            httpx.post(live.url + "/api/auth/login", json={"login": "stays", "password": "not the password"})
        assert receive_until(ws, "alert") == {"type": "alert", "kind": "login_lockout", "scope": "account"}
