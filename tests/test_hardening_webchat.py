"""Issue 17, web chat sessions a resident can trust on a shared phone: the token never in a URL
(the socket authenticates with its first frame), tokens that stop working when the chat
closes or sits idle, no query strings or ids in the access log."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from casecore.db import transaction
from casecore.models import Conversation
from casecore.types import utcnow
from madoguchi.security.logs import AccessLogScrubber, Hasher
from tests.browser import LiveServer, serve_settings
from tests.conftest import make_settings
from tests.helpers import login, make_counsellor, new_session, send


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Any:
    settings = make_settings(tmp_path_factory.mktemp("ws-auth"), translation_enabled=False, webchat_ws_auth_seconds=1.0)
    with serve_settings(settings) as server:
        yield server


def _session(live: LiveServer) -> dict[str, Any]:
    import httpx

    r = httpx.post(f"{live.url}/api/webchat/sessions", json={"language": "ja"})
    assert r.status_code == 201, r.text
    return r.json()


def _ws(live: LiveServer, sid: int, query: str = "") -> Any:
    return connect(live.url.replace("http://", "ws://") + f"/api/webchat/sessions/{sid}/ws{query}", open_timeout=5)


def _closed_code(ws: Any) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=5)
    return closed.value.rcvd.code if closed.value.rcvd else None


def test_socket_authenticates_with_its_first_frame_never_the_url(live: LiveServer) -> None:
    s = _session(live)
    # A token in the URL is not accepted (URLs end up in access logs and history).
    with _ws(live, s["session_id"], f"?token={s['token']}") as ws:
        assert _closed_code(ws) == 4401  # no auth frame within webchat_ws_auth_seconds
    with _ws(live, s["session_id"]) as ws:
        ws.send(json.dumps({"type": "auth", "token": "not-the-token"}))
        assert _closed_code(ws) == 4401
    with _ws(live, s["session_id"]) as ws:
        ws.send("not json")
        assert _closed_code(ws) == 4401
    with _ws(live, s["session_id"]) as ws:
        ws.send(json.dumps({"type": "auth", "token": s["token"]}))
        assert json.loads(ws.recv(timeout=5)) == {"type": "ready"}


def test_socket_closes_when_the_chat_ends_and_the_token_stops_working(live: LiveServer) -> None:
    import httpx

    s = _session(live)
    with _ws(live, s["session_id"]) as ws:
        ws.send(json.dumps({"type": "auth", "token": s["token"]}))
        assert json.loads(ws.recv(timeout=5))["type"] == "ready"

        async def close_it() -> None:
            from handoff import relay

            async with transaction(live.ctx.sessions) as db:
                await db.execute(update(Conversation).where(Conversation.id == s["session_id"]).values(status="closed"))
            await relay.publish_status(live.ctx, s["session_id"], "closed")

        live.call(close_it())
        pushed = json.loads(ws.recv(timeout=5))
        assert pushed == {"type": "status", "conversation_status": "closed"}
        assert _closed_code(ws) == 4410
    r = httpx.get(f"{live.url}/api/webchat/sessions/{s['session_id']}/messages",
                  headers={"Authorization": f"Bearer {s['token']}"})
    assert r.status_code == 404 and r.json()["detail"]["code"] == "session_ended"
    with _ws(live, s["session_id"]) as ws:
        ws.send(json.dumps({"type": "auth", "token": s["token"]}))
        assert _closed_code(ws) == 4401


async def test_closed_chat_stops_reading_at_once_with_a_kind_message(running) -> None:
    client, ctx = running.client, running.ctx
    s = await new_session(client, "en")
    auth = {"Authorization": f"Bearer {s['token']}"}
    path = f"/api/webchat/sessions/{s['session_id']}/messages"
    assert (await client.get(path, headers=auth)).status_code == 200
    await make_counsellor(ctx, "lead1", "lead")
    await login(client, "lead1")
    r = await client.post(f"/api/conversations/{s['session_id']}/remove", json={"reason": "harassment"})
    assert r.status_code == 200, r.text
    r = await client.get(path, headers=auth)
    assert r.status_code == 404
    detail = r.json()["detail"]
    assert detail["code"] == "session_ended" and "start a new one" in detail["message"]  # in English
    r = await client.post(path, headers=auth, json={"text": "hello"})
    assert r.status_code == 409 and r.json()["detail"]["code"] == "closed"


async def test_idle_token_expires(tmp_path: Path) -> None:
    from tests.conftest import start_app

    async for running in start_app(make_settings(tmp_path, webchat_idle_hours=1.0)):
        client, ctx = running.client, running.ctx
        s = await new_session(client, "ja")
        auth = {"Authorization": f"Bearer {s['token']}"}
        path = f"/api/webchat/sessions/{s['session_id']}/messages"
        await send(client, s, "choice", "agree")  # activity keeps it alive
        assert (await client.get(path, headers=auth)).status_code == 200
        old = utcnow() - timedelta(hours=2)
        async with transaction(ctx.sessions) as db:
            await db.execute(update(Conversation).where(Conversation.id == s["session_id"]).values(
                created_at=old, updated_at=old, last_inbound_at=old))
        r = await client.get(path, headers=auth)
        assert r.status_code == 404 and "新しく相談" in r.json()["detail"]["message"]
        assert (await client.post(path, headers=auth, json={"text": "まだいますか"})).status_code == 404


async def test_missing_or_wrong_token_is_refused_in_the_one_error_shape(running_sqlite) -> None:
    client = running_sqlite.client
    s = await new_session(client, "ja")
    path = f"/api/webchat/sessions/{s['session_id']}/messages"
    r = await client.get(path)
    assert r.status_code == 401 and r.json()["detail"]["code"] == "unauthorized"
    r = await client.get(path, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 404 and r.json()["detail"]["code"] == "session_ended"


def test_access_log_keeps_no_query_string_ids_or_client_address() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', (
        "203.0.113.9:5123", "GET", "/api/webchat/sessions/123/ws?token=SECRET-TOKEN", "1.1", 101), None)
    assert AccessLogScrubber(Hasher("k", enabled=False)).filter(record)
    line = record.getMessage()
    assert "SECRET" not in line and "token" not in line and "123" not in line and "203.0.113.9" not in line
    assert "/api/webchat/sessions/{id}/ws" in line
    # asked for: hashed, stable, not the value
    record.args = ("203.0.113.9:5123", "GET", "/api/cases/77?x=1", "1.1", 200)
    AccessLogScrubber(Hasher("k", enabled=True)).filter(record)
    hashed = record.getMessage()
    assert "203.0.113.9" not in hashed and "/77" not in hashed and "h:" in hashed


async def test_app_installs_the_scrubber_and_structlog_drops_identities(running_sqlite) -> None:
    import structlog

    assert any(isinstance(f, AccessLogScrubber) for f in logging.getLogger("uvicorn.access").filters)
    processors = structlog.get_config()["processors"]
    identity = next(p for p in processors if getattr(p, "madoguchi_identity", False))
    event = identity(None, "info", {"event": "x", "ip": "203.0.113.9", "session_id": 5, "external_user_id": "Uabc", "n": 1})
    assert event == {"event": "x", "n": 1}
