"""Browser-test infrastructure: Debian's Chromium driven by Playwright, and the real app served
by uvicorn on a free loopback port in a background thread.

Use from a test module (or conftest) with ``from tests.browser import *`` or by importing the
fixtures by name:

    from tests.browser import browser, live_server, mobile_page, desktop_page  # noqa: F401

- ``browser``: a headless Chromium per test (see the fixture for why not per session); skips (or fails under MADOGUCHI_REQUIRE_ALL=1)
  when /usr/bin/chromium or the playwright package is missing. Never runs ``playwright install``.
- ``live_server`` (module): the app from ``madoguchi.app.create_app`` on SQLite in a temp dir;
  yields a ``LiveServer`` with ``.url`` and, for in-process checks, ``.app``, ``.ctx`` and
  ``.call(coro)`` (runs a coroutine on the server's own event loop, where its engine lives).
- ``live_stack``: the same, once per backend of conftest's ``stack`` (SQLite; PostgreSQL+Redis).
- ``mobile_page`` / ``desktop_page``: a fresh context + page (390x844 touch, 1280x900), Japanese
  locale, console errors collected in ``page.errors`` so a test can assert there were none.
- ``serve_app(app)``: a context manager to serve any ASGI app the same way.
- ``ARTIFACTS``: ``test-artifacts/`` (gitignored) for screenshots.

Playwright's sync API is used: it runs its own event loop in a greenlet, so tests using these
fixtures are plain ``def`` tests (not ``async def``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.requirements import require

CHROMIUM = os.environ.get("MADOGUCHI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"

MOBILE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


def chromium_available() -> tuple[bool, str]:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return False, f"{CHROMIUM} not found (apt-get install -y chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False, "the playwright package is not installed (pip install playwright)"
    return True, ""


def artifact(name: str) -> Path:
    """A path under test-artifacts/ for a screenshot or trace."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / name


# ── the browser ──────────────────────────────────────────────────────────────


@pytest.fixture
def browser() -> Iterator[Any]:
    # Function scope on purpose: while Playwright's sync API is active its event loop counts as
    # running in this thread, so fixtures that call asyncio.run() (conftest's PostgreSQL
    # databases, async app fixtures) must be set up before it starts and torn down after it
    # stops. List server fixtures before the page fixture in a test's arguments.
    ok, why = chromium_available()
    require("chromium", ok, why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


def new_page(browser: Any, *, locale: str = "ja-JP", **context_args: Any) -> Any:
    """A page in a fresh context that records page errors and console errors in ``page.errors``.

    Only loopback traffic is allowed: anything else is aborted and recorded, so a page that
    tried to reach the internet fails the test that checks ``page.errors``."""
    ctx = browser.new_context(locale=locale, service_workers="block", **context_args)
    page = ctx.new_page()
    errors: list[str] = []
    page.errors = errors  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None,
    )

    def guard(route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")):
            route.continue_()
        else:
            errors.append(f"blocked request to {url}")
            route.abort()

    ctx.route("**/*", guard)
    return page


@pytest.fixture
def mobile_page(browser: Any) -> Iterator[Any]:
    page = new_page(browser, **MOBILE)
    yield page
    page.context.close()


@pytest.fixture
def desktop_page(browser: Any) -> Iterator[Any]:
    page = new_page(browser, **DESKTOP)
    yield page
    page.context.close()


# ── the server ───────────────────────────────────────────────────────────────


@dataclass
class LiveServer:
    url: str
    app: Any
    loop: asyncio.AbstractEventLoop | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def ctx(self) -> Any:
        """The running app's AppContext (built in its lifespan)."""
        return self.app.state.ctx

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
        """Run a coroutine on the server's event loop (the app's engine and pools live there)."""
        assert self.loop is not None, "server loop not running"
        fut: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return fut.result(timeout)


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))  # the kernel picks a free port; we keep the socket: no race
    return sock


@contextlib.contextmanager
def serve_app(app: Any, *, startup_timeout: float = 30.0) -> Iterator[LiveServer]:
    """Serve an ASGI app with uvicorn in a background thread until the block ends."""
    import uvicorn

    sock = _free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    live = LiveServer(url=f"http://127.0.0.1:{port}", app=app)
    failure: list[BaseException] = []

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        live.loop = loop
        try:
            # uvicorn skips installing signal handlers outside the main thread.
            loop.run_until_complete(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to the test below
            failure.append(exc)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if failure or not thread.is_alive():
            raise RuntimeError(f"the app did not start: {failure[0] if failure else 'thread died'}")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the app did not start within {startup_timeout}s")
        time.sleep(0.02)
    try:
        yield live
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def serve_settings(settings: Any) -> contextlib.AbstractContextManager[LiveServer]:
    """Serve the real app (``madoguchi.app.create_app``) built from these settings."""
    try:
        from madoguchi.app import create_app
    except ImportError as exc:
        require("madoguchi.app", False, f"the app factory is not importable: {exc}")
        raise  # unreachable: require() skipped or failed
    return serve_app(create_app(settings))


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The real app on the embedded default (SQLite in a fresh data dir, no Redis), shared by
    the tests of one module."""
    from tests.conftest import make_settings

    settings = make_settings(tmp_path_factory.mktemp("live-app"), translation_enabled=False)
    with serve_settings(settings) as live:
        live.extras["settings"] = settings
        yield live


@pytest.fixture
def live_stack(stack: Any) -> Iterator[LiveServer]:
    """The real app on each backend of conftest's ``stack`` (SQLite; PostgreSQL + Redis)."""
    with serve_settings(stack) as live:
        live.extras["settings"] = stack
        yield live
