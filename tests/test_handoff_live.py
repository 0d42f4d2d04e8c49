"""The console's WebSocket against real uvicorn servers: refused without login (4401), and a
resident's message reaching a console connected to ANOTHER app process through Redis."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.browser import LiveServer, serve_settings
from tests.conftest import make_settings
from tests.helpers import login_body, make_counsellor


def ws_url(live: LiveServer) -> str:
    return live.url.replace("http://", "ws://") + "/api/console/ws"


def login_cookie(live: LiveServer, login: str) -> str:
    r = httpx.post(live.url + "/api/auth/login", json=login_body(login))
    assert r.status_code == 200, r.text
    return r.cookies["madoguchi_session"]


@contextlib.contextmanager
def open_console(live: LiveServer, cookie: str) -> Iterator[ClientConnection]:
    with connect(ws_url(live), additional_headers={"Cookie": f"madoguchi_session={cookie}"}, open_timeout=10) as ws:
        assert receive(ws)["type"] == "hello"
        yield ws


def receive(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return json.loads(ws.recv(timeout=timeout))


def receive_until(ws: ClientConnection, want: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {want!r} event within {timeout}s")
        event = receive(ws, left)
        if event["type"] == want:
            return event


def new_waiting_resident(live: LiveServer) -> tuple[int, dict[str, str]]:
    r = httpx.post(live.url + "/api/webchat/sessions", json={"language": "en"})
    assert r.status_code == 201
    s = r.json()
    headers = {"Authorization": f"Bearer {s['token']}"}
    r = httpx.post(f"{live.url}/api/webchat/sessions/{s['session_id']}/messages", json={"choice": "human"}, headers=headers)
    assert r.json()["conversation_status"] == "waiting"
    return s["session_id"], headers


@pytest.fixture
def two_processes(stack: Any) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two app servers sharing one database (and Redis on the production stack)."""
    with serve_settings(stack) as a, serve_settings(stack) as b:
        a.call(make_counsellor(a.ctx, "sato"))
        yield a, b


def test_console_socket_refuses_without_login(tmp_path: Any) -> None:
    with serve_settings(make_settings(tmp_path)) as live:
        for headers in ({}, {"Cookie": "madoguchi_session=forged"}):
            with connect(ws_url(live), additional_headers=headers, open_timeout=10) as ws, \
                    pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_console_socket_refuses_a_foreign_origin(tmp_path: Any) -> None:
    with serve_settings(make_settings(tmp_path)) as live:
        live.call(make_counsellor(live.ctx, "sato"))
        cookie = login_cookie(live, "sato")
        headers = {"Cookie": f"madoguchi_session={cookie}", "Origin": "https://evil.example"}
        with connect(ws_url(live), additional_headers=headers, open_timeout=10) as ws, \
                pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
        with connect(ws_url(live), additional_headers={**headers, "Origin": live.url}, open_timeout=10) as ws:
            assert receive(ws)["type"] == "hello"


def test_resident_message_reaches_console_on_another_process(two_processes: tuple[LiveServer, LiveServer], stack: Any) -> None:
    a, b = two_processes
    if stack.redis_url is None:
        # Without Redis each process has its own hub: the console must be on the resident's process.
        b = a
    cookie = login_cookie(a, "sato")
    with open_console(b, cookie) as console:
        cid, resident = new_waiting_resident(a)
        assert receive_until(console, "queue_changed")["conversation_id"] == cid
        r = httpx.post(f"{b.url}/api/conversations/{cid}/claim", cookies={"madoguchi_session": cookie})
        assert r.status_code == 200, r.text
        console.send(json.dumps({"action": "watch", "conversation_id": cid}))
        receive_until(console, "watching")

        text = "Hello <script>alert(1)</script> I need help 🙏"
        r = httpx.post(f"{a.url}/api/webchat/sessions/{cid}/messages", json={"text": text}, headers=resident)
        assert r.status_code == 200 and r.json()["messages"] == []
        # pushed, not polled for (how fast is bench/handoff_latency.py's to measure, not a test's)
        event = receive_until(console, "messages", timeout=10)
        assert event["conversation_id"] == cid
        assert [m["text"] for m in event["messages"]] == [text]
        assert event["messages"][0]["sender"] == "resident"

        # the counsellor's own message comes back on the socket too (other consoles see it)
        r = httpx.post(f"{a.url}/api/conversations/{cid}/messages", json={"text": "どうされましたか。"},
                       cookies={"madoguchi_session": cookie})
        assert r.status_code == 201
        event = receive_until(console, "messages")
        assert event["messages"][0]["sender"] == "counsellor" and event["messages"][0]["text"] == "どうされましたか。"

        # garbage from the client gets an error, not a dropped socket
        console.send("not json")
        assert receive_until(console, "error")["error"]
        console.send(json.dumps({"action": "watch", "conversation_id": "1; drop"}))
        assert receive_until(console, "error")["error"] == "unknown action"

        # logging out closes the live feed (at once through the hub, or at the next check): the
        # close may come before or after this last request, so both are inside the check
        httpx.post(f"{a.url}/api/auth/logout", cookies={"madoguchi_session": cookie})
        with pytest.raises(ConnectionClosed) as closed:
            console.send(json.dumps({"action": "watch", "conversation_id": cid + 1000}))
            receive_until(console, "never")
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
