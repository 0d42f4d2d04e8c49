"""The web chat in real Chromium (issue 9): a crisis message gets the lines as tappable tel:
links, in Japanese and in other languages, also after a reload; `#` numbers are encoded.
Screenshots go to test-artifacts/ (look at them)."""

from __future__ import annotations

from typing import Any

import pytest

from tests import browser as _browser
from tests.browser import LiveServer, artifact, new_page
from tests.test_webchat_browser import (
    assert_log_is_text_only,
    assert_no_errors,
    choose,
    open_chat,
    state,
    type_and_send,
)

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails under MADOGUCHI_REQUIRE_ALL=1)
    expect = None  # type: ignore[assignment]

pytestmark = pytest.mark.browser

browser = _browser.browser
live_server = _browser.live_server
MOBILE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def tel_links(page: Any) -> dict[str, str]:
    links = page.locator("#log .msg.kind-emergency .bubble a[href^='tel:']")
    return {links.nth(i).inner_text(): links.nth(i).get_attribute("href") or "" for i in range(links.count())}


@pytest.mark.parametrize(("locale", "text", "shot"), [
    ("ja-JP", "全部やめたい。死にたい", "safeguarding-ja-suicide.png"),
    ("es-ES", "estoy pensando en quitarme la vida", "safeguarding-es-suicide.png"),
    ("vi-VN", "Tôi muốn chết", "safeguarding-vi-suicide.png"),
])
def test_crisis_lines_are_tel_links_in_every_language(live_server: LiveServer, browser: Any, locale: str, text: str, shot: str) -> None:
    page = new_page(browser, locale=locale, **MOBILE)
    try:
        open_chat(page, live_server)
        assert state(page) == "consent_use"
        type_and_send(page, text)
        links = tel_links(page)
        # the national lines (いのちの電話, its free line, こころの健康相談, よりそい) and 119
        assert links == {"0570-783-556": "tel:0570783556", "0120-783-556": "tel:0120783556",
                         "0570-064-556": "tel:0570064556", "0120-279-338": "tel:0120279338", "119": "tel:119"}, links
        assert state(page) == "consent_use"  # nothing ended or reset
        expect(page.locator("#log .choices:not(.spent) button[data-choice-id='continue']")).to_be_visible()
        page.screenshot(path=artifact(shot), full_page=True)
        page.reload()
        page.wait_for_selector("#chat[data-ready=true]", timeout=15_000)
        assert tel_links(page) == links  # read back from the server, still call links
        choose(page, "continue")
        assert state(page) == "consent_use"
        assert_log_is_text_only(page)
        assert_no_errors(page)
    finally:
        page.context.close()


def test_medical_choice_links_hash_numbers_encoded(live_server: LiveServer, browser: Any) -> None:
    page = new_page(browser, locale="en-GB", **MOBILE)
    try:
        open_chat(page, live_server)
        choose(page, "agree")
        page.locator("#log .choices:not(.spent) button[data-choice-id='medical']").click()
        choose(page, "done")
        links = tel_links(page)
        assert links.get("#7119") == "tel:%237119" and links.get("119") == "tel:119", links
        page.screenshot(path=artifact("safeguarding-en-medical.png"), full_page=True)
        assert_no_errors(page)
    finally:
        page.context.close()


def test_console_flags_a_crisis_in_a_held_conversation_and_opens_its_case(live_server: LiveServer, browser: Any) -> None:
    import httpx

    from tests.browser import DESKTOP
    from tests.helpers import console_login, make_counsellor

    live_server.call(make_counsellor(live_server.ctx, "tanaka"))
    r = httpx.post(live_server.url + "/api/webchat/sessions", json={"language": "en"})
    s = r.json()
    headers = {"Authorization": f"Bearer {s['token']}"}
    url = f"{live_server.url}/api/webchat/sessions/{s['session_id']}/messages"
    assert httpx.post(url, json={"choice": "human"}, headers=headers).json()["conversation_status"] == "waiting"
    page = new_page(browser, **DESKTOP)
    try:
        console_login(page, live_server, "tanaka")
        page.goto(live_server.url + f"/console#c/{s['session_id']}")
        page.click("#claim")
        expect(page.locator("#open-case")).to_be_visible()
        reply = httpx.post(url, json={"text": "i cant stop crying and i want to die"}, headers=headers).json()
        assert reply["messages"] == []  # the bot is silent: the counsellor holds it
        banner = page.locator("#risk-alert")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("緊急")
        expect(banner).to_contain_text("自殺の危険")
        expect(page.locator("#mine .badge.urgent")).to_be_visible()
        page.screenshot(path=artifact("safeguarding-console-banner.png"))
        page.click("#open-case")
        expect(page.locator("#action-error")).to_contain_text("利用の同意はまだありません")
        expect(page.locator("#open-case")).to_be_hidden()
        page.click("#risk-alert-dismiss")
        expect(banner).to_be_hidden()
    finally:
        page.context.close()
