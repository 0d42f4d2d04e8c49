"""Issue 17: bad input gets a clear 4xx in one JSON shape (`{"detail": …}`), never a 5xx:
body size limits per route, ids beyond int64, NUL and control characters; no traceback or SQL
parameters in the logs; operational endpoints behind a setting."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import select
from structlog.testing import capture_logs

from casecore.models import Counsellor, Message
from tests.conftest import Running, make_settings, start_app
from tests.helpers import login, make_counsellor, new_session

BIG = 2**63  # one past int64


def detail(r: httpx.Response) -> object:
    body = r.json()
    assert set(body) == {"detail"}, body
    return body["detail"]


async def test_body_limits_per_route_answer_413_in_json(running_sqlite: Running) -> None:
    c = running_sqlite.client
    r = await c.post("/api/webchat/sessions", content=b'{"language": "' + b"x" * (64 * 1024) + b'"}',
                     headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and detail(r)["code"] == "body_too_large"  # type: ignore[index]
    r = await c.post("/api/auth/login", json={"login": "a", "password": "p" * 5000})
    assert r.status_code == 413  # login: 4 KiB, before any password hashing
    r = await c.post("/webhooks/line", content=b"{" + b" " * (1024 * 1024 + 1) + b"}",
                     headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    # a body without Content-Length (chunked) is counted while it is read
    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(70):
            yield b" " * 1024

    r = await c.post("/api/webchat/sessions", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "content-length" not in {k.lower() for k in r.request.headers}
    # under the limit is fine
    assert (await c.post("/api/webchat/sessions", json={"language": "ja"})).status_code == 201


async def test_ids_beyond_int64_are_404_or_422_not_5xx(running: Running) -> None:
    c = running.client
    s = await new_session(c, "ja")
    auth = {"Authorization": f"Bearer {s['token']}"}
    for path in (f"/api/webchat/sessions/{BIG}/messages", f"/api/webchat/sessions/{10**30}/messages",
                 f"/api/webchat/sessions/-{BIG}/messages"):
        r = await c.get(path, headers=auth)
        assert r.status_code == 404, (path, r.text)
        detail(r)
    r = await c.get(f"/api/webchat/sessions/{s['session_id']}/messages?after={BIG}", headers=auth)
    assert r.status_code == 422 and detail(r)
    await make_counsellor(running.ctx, "sato")
    await login(c, "sato")
    for method, path in (("GET", f"/api/cases/{BIG}"), ("GET", f"/api/conversations/{BIG}"),
                         ("POST", f"/api/conversations/{BIG}/claim"), ("GET", f"/api/cases?offset={BIG}")):
        r = await c.request(method, path)
        assert r.status_code in (404, 422), (path, r.status_code, r.text)
        detail(r)
    r = await c.get(f"/api/cases/{BIG - 1}")  # the largest id that fits is simply not there
    assert r.status_code == 404


async def test_nul_and_control_characters_never_reach_the_database(running: Running) -> None:
    c = running.client  # PostgreSQL refuses NUL in text (CharacterNotInRepertoireError)
    s = await new_session(c, "ja\u0000")
    auth = {"Authorization": f"Bearer {s['token']}"}
    path = f"/api/webchat/sessions/{s['session_id']}/messages"
    r = await c.post(path, headers=auth, json={"text": "こんに\u0000ちは\u0007", "client_message_id": "nul"})
    assert r.status_code == 200, r.text
    async with running.ctx.sessions() as db:
        texts = (await db.scalars(select(Message.text).where(Message.channel_event_id == f"{s['session_id']}:nul"))).all()
    assert texts == ["こんにちは"]
    # unauthenticated, on the login: a NUL in the login name is a failed login, not a 500
    r = await c.post("/api/auth/login", json={"login": "sa\u0000to", "password": "x"})
    assert r.status_code == 401
    # an escaped backslash before "u0000" is text, and stays
    r = await c.post("/api/auth/login", json={"login": "a\\u0000b", "password": "x"})
    assert r.status_code == 401
    async with running.ctx.sessions() as db:
        assert await db.scalar(select(Counsellor.id).where(Counsellor.login == "a\\u0000b")) is None
    # control characters in the address are refused
    r = await c.get(f"{path}?after=%00", headers=auth)
    assert r.status_code == 422 and detail(r)["code"] == "control_character"  # type: ignore[index]
    r = await c.get("/api/cases?status=new%00", headers=auth)
    assert r.status_code == 422


async def test_every_refusal_has_the_same_shape(running_sqlite: Running) -> None:
    c = running_sqlite.client
    for r, status in (
        (await c.get("/no/such/route"), 404),
        (await c.get("/api/cases"), 401),
        (await c.post("/api/webchat/sessions/1/messages", json={}), 401),
        (await c.post("/api/webchat/sessions", json={"profile": "nowhere"}), 422),
        (await c.post("/api/auth/login", json={"login": 5}), 422),
        (await c.post("/api/webchat/sessions", content=b"{not json", headers={"Content-Type": "application/json"}), 422),
        (await c.put("/api/webchat/sessions"), 405),
    ):
        assert r.status_code == status, (r.request.url, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/json")
        detail(r)


@pytest.fixture
async def exploding(tmp_path: Path) -> AsyncIterator[Running]:
    async for running in start_app(make_settings(tmp_path)):
        boom = APIRouter()

        @boom.get("/api/boom/{n}")
        async def explode(n: int) -> None:
            raise RuntimeError("INSERT … parameters ('山田花子', '090-1234-5678')")

        running.app.include_router(boom)
        yield running


async def test_an_unhandled_error_is_a_500_in_json_logged_as_type_and_route_only(
        exploding: Running, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert exploding.ctx.engine.sync_engine.hide_parameters is True
    with capture_logs() as logs:
        r = await exploding.client.get("/api/boom/7")
    assert r.status_code == 500 and detail(r)["code"] == "internal_error"  # type: ignore[index]
    assert "山田" not in r.text
    assert {"event": "unhandled_error", "error": "RuntimeError", "method": "GET", "route": "/api/boom/{n}",
            "log_level": "error"} in logs
    everything = caplog.text + repr(logs)
    assert "山田花子" not in everything and "090-1234-5678" not in everything and "Traceback" not in everything


@pytest.mark.parametrize("path", ["/metrics", "/docs", "/redoc", "/openapi.json"])
async def test_ops_endpoints_are_loopback_only_by_default(running_sqlite: Running, path: str) -> None:
    assert (await running_sqlite.client.get(path)).status_code == 200  # the test client is 127.0.0.1
    remote = httpx.AsyncClient(transport=httpx.ASGITransport(app=running_sqlite.app, client=("203.0.113.5", 1)),
                               base_url="http://testserver")
    async with remote:
        r = await remote.get(path)
        assert r.status_code == 404 and detail(r)


async def test_ops_endpoints_off_or_behind_a_token(tmp_path: Path) -> None:
    async for running in start_app(make_settings(tmp_path / "off", ops_access="off")):
        assert (await running.client.get("/metrics")).status_code == 404
        assert (await running.client.get("/openapi.json")).status_code == 404
        assert (await running.client.get("/healthz")).status_code == 200  # health stays for probes
    async for running in start_app(make_settings(tmp_path / "tok", ops_access="token", ops_token="s3cret-ops")):
        remote = httpx.AsyncClient(transport=httpx.ASGITransport(app=running.app, client=("203.0.113.5", 1)),
                                   base_url="http://testserver")
        async with remote:
            r = await remote.get("/metrics")
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
            assert (await remote.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
            r = await remote.get("/metrics", headers={"Authorization": "Bearer s3cret-ops"})
            assert r.status_code == 200 and "madoguchi_" in r.text
