"""The lean hot path of issue 19, as behaviour (no timings here: figures come from bench/)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect
from starlette.middleware.base import BaseHTTPMiddleware

from casecore.db import sqlite_url_for
from madoguchi.cli import _migrate_once
from tests.conftest import TEST_SECRET, Running, make_settings, start_app

ROOT = Path(__file__).resolve().parents[1]


def _paths(route: object) -> list[str]:
    if hasattr(route, "path"):
        return [route.path]
    return [p for sub in route.original_router.routes for p in _paths(sub)]  # type: ignore[attr-defined]


async def test_page_headers_come_from_pure_asgi_middleware(running_sqlite: Running) -> None:
    app = running_sqlite.app
    assert not any(m.cls is BaseHTTPMiddleware for m in app.user_middleware)  # no task group per request
    page = await running_sqlite.client.get("/chat")
    assert "frame-ancestors" in page.headers["content-security-policy"] and page.headers["referrer-policy"] == "no-referrer"
    hook = await running_sqlite.client.post("/webhooks/line", content=b'{"events": []}', headers={"x-line-signature": "x"})
    assert hook.status_code == 401 and "content-security-policy" not in hook.headers
    # the channels' routes are matched first, before the counsellor API's
    paths = [_paths(r) for r in app.router.routes]
    first = next(i for i, group in enumerate(paths) if "/webhooks/line" in group)
    assert first < min(i for i, group in enumerate(paths) if any(p.startswith("/api/conversations") for p in group))


def test_unconfigured_channels_import_no_sdk(tmp_path: Path) -> None:
    """aiogram and the LINE SDK were 120 MB and seconds of start even with nothing configured."""
    code = (
        "import asyncio, sys\n"
        "from madoguchi.app import create_app\n"
        "from madoguchi.settings import Settings\n"
        f"app = create_app(Settings(data_dir={str(tmp_path / 'd')!r}, secret_key={TEST_SECRET!r}, translation_enabled=False))\n"
        "async def main():\n"
        "    async with app.router.lifespan_context(app):\n"
        "        print(sorted(m for m in ('aiogram', 'linebot') if m in sys.modules))\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MADOGUCHI_LOG_LEVEL": "ERROR"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_serve_migrates_once_before_its_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MADOGUCHI_MIGRATE_ON_START", raising=False)
    settings = make_settings(tmp_path / "fresh").model_copy(update={"data_dir": tmp_path / "empty"})
    _migrate_once(settings)
    assert os.environ["MADOGUCHI_MIGRATE_ON_START"] == "false"  # the workers' Settings() read it
    engine = create_engine(sqlite_url_for((tmp_path / "empty").resolve()).replace("+aiosqlite", ""))
    try:
        names = {ix["name"] for ix in inspect(engine).get_indexes("conversation")}
        assert "ix_conversation_contact_point" in names  # 0007
        assert "ix_consent_record_conversation" in {ix["name"] for ix in inspect(engine).get_indexes("consent_record")}
    finally:
        engine.dispose()


async def test_line_sessions_are_pooled_without_trust_env() -> None:
    from bots.line.channels import LineChannel
    from bots.line.sender import LineApi

    api = LineApi("http://127.0.0.1:9")
    channel = LineChannel("minato-tokyo", "s" * 32, "token")
    session = api.session(channel)
    assert session.trust_env is False  # no ~/.netrc and proxy environment read per request
    assert api.session(channel) is session  # one per channel
    await api.aclose()
    assert session.closed


async def test_the_line_ack_is_answered_ahead_of_routing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = make_settings(tmp_path, line_channel_secret="s" * 32, line_channel_access_token="token",
                             line_api_base_url="http://127.0.0.1:9")
    async for running in start_app(settings):
        await _ack_ahead_of_routing(running, monkeypatch)


async def _ack_ahead_of_routing(running_sqlite: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    app = running_sqlite.app
    assert ("POST", "/webhooks/line") in app.state.fixed_routes

    async def no_routing(self: object, scope: object, receive: object, send: object) -> None:
        raise AssertionError("routed")

    monkeypatch.setattr(type(app.router), "__call__", no_routing)
    # the ack never reaches the router, and the hardening middleware still wraps it
    hook = await running_sqlite.client.post("/webhooks/line", content=b'{"events": []}', headers={"x-line-signature": "x"})
    assert hook.status_code == 401 and hook.json() == {"detail": "invalid signature"}
    too_big = await running_sqlite.client.post("/webhooks/line", content=b"x" * (2 * 1024 * 1024), headers={"x-line-signature": "x"})
    assert too_big.status_code == 413
    # any other method or path goes to the router as before (here: refused by the patch)
    assert (await running_sqlite.client.get("/webhooks/line")).status_code == 500
    assert (await running_sqlite.client.get("/healthz")).status_code == 500


async def test_fixed_routes_take_only_plain_asgi_endpoints_and_respect_root_path() -> None:
    from starlette.routing import Route

    from madoguchi.fixed_routes import FixedRoutesMiddleware, fixed_endpoints

    calls: list[str] = []

    async def ack(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        calls.append("ack")

    class Ack:
        async def __call__(self, scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
            calls.append("ack")

    async def page(request: object) -> None:  # a function endpoint: needs Starlette's request handling
        raise AssertionError

    table = fixed_endpoints([Route("/hook", Ack(), methods=["POST"]), Route("/page", page),
                             Route("/items/{id}", Ack(), methods=["POST"])])
    assert set(table) == {("POST", "/hook")}

    async def router(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        calls.append("router")

    mw = FixedRoutesMiddleware(router, table)
    for scope in ({"type": "http", "method": "POST", "path": "/hook"},
                  {"type": "http", "method": "POST", "path": "/base/hook", "root_path": "/base"},
                  {"type": "http", "method": "GET", "path": "/hook"},
                  {"type": "http", "method": "POST", "path": "/hook/"},
                  {"type": "websocket", "path": "/hook"}):
        await mw(scope, None, None)
    assert calls == ["ack", "ack", "router", "router", "router"]
