"""Issue 17 in real Chromium: the quick exit leaves no way back to the chat (Back does not
return, this tab's storage is empty), Esc twice does the same, the session lives in
sessionStorage only (an old localStorage entry is moved), and no URL carries the token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import browser as _browser
from tests.browser import LiveServer, artifact, serve_app, serve_settings
from tests.conftest import make_settings

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails under MADOGUCHI_REQUIRE_ALL=1)
    expect = None  # type: ignore[assignment]

pytestmark = pytest.mark.browser

browser = _browser.browser
mobile_page = _browser.mobile_page
desktop_page = _browser.desktop_page

STORE_KEY = "madoguchi.webchat.v1"


async def _neutral(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A stand-in for the neutral site (a weather page) the quick exit opens."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = b"<!doctype html><title>Weather</title><p>Sunny</p>"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    with serve_app(_neutral) as neutral:
        exit_url = neutral.url + "/weather"
        settings = make_settings(tmp_path_factory.mktemp("quick-exit"), translation_enabled=False, quick_exit_url=exit_url)
        with serve_settings(settings) as live:
            yield live, exit_url


def _open(page: Any, live: LiveServer) -> None:
    page.goto(live.url + "/healthz")  # the page before the chat, on the same origin
    page.goto(live.url + "/chat")
    page.wait_for_selector("#chat[data-ready=true]", timeout=15_000)
    page.wait_for_selector("#chat[data-live=open]", timeout=15_000)


def _after_exit(page: Any, live: LiveServer, exit_url: str) -> None:
    page.wait_for_url(exit_url, timeout=10_000)
    expect(page.locator("p")).to_have_text("Sunny")
    page.go_back()
    # Back lands on the page before the chat, never on the chat
    assert page.url == live.url + "/healthz", page.url
    assert page.evaluate("sessionStorage.length") == 0
    assert page.evaluate("localStorage.length") == 0
    page.go_forward()
    assert page.url == exit_url


def test_quick_exit_button_leaves_no_way_back(sites: tuple[LiveServer, str], mobile_page: Any) -> None:
    live, exit_url = sites
    page = mobile_page
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    page.on("websocket", lambda ws: urls.append(ws.url))
    _open(page, live)
    stored = page.evaluate(f"JSON.parse(sessionStorage.getItem('{STORE_KEY}'))")
    assert stored and stored["token"]
    assert page.evaluate(f"localStorage.getItem('{STORE_KEY}')") is None
    assert not any(stored["token"] in u for u in urls), "the token went into a URL"
    assert any("/ws" in u for u in urls)
    button = page.locator("#quick-exit")
    expect(button).to_be_visible()
    expect(button).to_have_text("⇥すぐに閉じる")
    page.screenshot(path=artifact("webchat-quick-exit-mobile.png"))
    button.click()
    _after_exit(page, live, exit_url)
    # the session's token was not spent by the exit: it is simply gone from this browser
    r = httpx.get(f"{live.url}/api/webchat/sessions/{stored['id']}/messages",
                  headers={"Authorization": f"Bearer {stored['token']}"})
    assert r.status_code == 200


def test_escape_twice_leaves_too_and_the_label_follows_the_language(sites: tuple[LiveServer, str], desktop_page: Any) -> None:
    live, exit_url = sites
    page = desktop_page
    _open(page, live)
    page.locator("#chat").get_by_role("button", name="言語").click()
    page.locator("#log .choices button", has_text="English").last.click()
    expect(page.locator("#quick-exit .quick-exit-label")).to_have_text("Leave now")
    page.keyboard.press("Escape")
    page.wait_for_timeout(100)
    assert "/chat" in page.url  # once is not enough (Esc also closes things)
    page.keyboard.press("Escape")
    _after_exit(page, live, exit_url)


def test_an_old_localstorage_session_is_moved_to_sessionstorage(sites: tuple[LiveServer, str], desktop_page: Any) -> None:
    live, _ = sites
    page = desktop_page
    s = httpx.post(f"{live.url}/api/webchat/sessions", json={"language": "ja"}).json()
    page.goto(live.url + "/healthz")
    saved = json.dumps({"id": str(s["session_id"]), "token": s["token"], "lang": "ja"})
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [STORE_KEY, saved])
    page.goto(live.url + "/chat")
    page.wait_for_selector("#chat[data-ready=true]", timeout=15_000)
    assert page.evaluate(f"localStorage.getItem('{STORE_KEY}')") is None
    moved = page.evaluate(f"JSON.parse(sessionStorage.getItem('{STORE_KEY}'))")
    assert moved["id"] == str(s["session_id"])  # the same chat resumed, not a new one
