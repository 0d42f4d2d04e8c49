"""axe-core (from npm, tests/a11y/) run in Chromium on the web chat page in every catalog
language — the first screen, a choice question with a pick selected, the summary — and on
the counsellor console (login and queue): no WCAG 2.2 AA violation (issue 18).

And the mid-intake summary screen at 320, 360 and 390 px in every language: screenshots in
test-artifacts/webchat-summary-<lang>-<width>.png, no control off-screen or cut.

axe.min.js is found under tests/a11y/node_modules (`npm ci` there; .ci/run does it). It is
evaluated through the DevTools protocol, so the page's own Content-Security-Policy stays on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests import browser as _browser
from tests.browser import DESKTOP, LiveServer, artifact, new_page
from tests.helpers import COUNSELLOR_PASSWORD, console_login, make_counsellor, otp_for
from tests.requirements import require
from tests.webchat_pages import (
    ACTIVE,
    LOCALES,
    PHONE,
    assert_controls_fit,
    choose,
    drive_to_summary,
    expect,
    open_chat,
)

pytestmark = pytest.mark.browser

browser = _browser.browser
live_server = _browser.live_server

AXE = Path(__file__).parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
WIDTHS = (320, 360, 390)


@pytest.fixture(scope="module")
def axe_source() -> str:
    require("axe-core", AXE.is_file(), f"{AXE} missing: run `npm ci` in tests/a11y")
    return AXE.read_text(encoding="utf-8")


def axe_violations(page: Any, source: str) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(source)
    result = page.evaluate(
        "async tags => { await Promise.all(document.getAnimations().map(a => a.finished));"
        " return axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']}); }",
        WCAG_22_AA,
    )
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [(n["target"], n.get("failureSummary", "")[:300]) for n in v["nodes"][:4]]}
            for v in result["violations"]]


def assert_no_violations(page: Any, source: str, where: str) -> None:
    found = axe_violations(page, source)
    assert found == [], f"{where}: " + json.dumps(found, ensure_ascii=False, indent=1)


# Every language in the light scheme; the dark scheme's colours are the same in every
# language, so three scripts are enough there (and keep the run short).
SCHEMES = {"light": tuple(LOCALES), "dark": ("ja", "en", "my")}


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_chat_page_has_no_wcag_violation_in_any_language(
        live_server: LiveServer, browser: Any, axe_source: str, scheme: str) -> None:
    for lang in SCHEMES[scheme]:
        locale = LOCALES[lang]
        page = new_page(browser, locale=locale, viewport={"width": 390, "height": 844},
                        color_scheme=scheme, **PHONE)
        try:
            page.goto(live_server.url + "/chat")
            page.wait_for_selector("#chat[data-ready=true]", timeout=15_000)
            assert_no_violations(page, axe_source, f"{lang} ({scheme}) first screen")
            if lang == "ja-easy":
                open_chat(page, live_server, lang)
            choose(page, "agree")
            choose(page, "no_food")  # a multi-select pick, selected
            expect(page.locator(f"{ACTIVE} button[data-choice-id='no_food']")).to_have_attribute("aria-pressed", "true")
            assert_no_violations(page, axe_source, f"{lang} ({scheme}) choice question")
            choose(page, "no_food")
            drive_to_summary(page, consented=True)
            assert_no_violations(page, axe_source, f"{lang} ({scheme}) summary")
            assert page.errors == [], lang
        finally:
            page.context.close()


def test_summary_screen_fits_320_360_390_in_every_language(live_server: LiveServer, browser: Any) -> None:
    for lang, locale in LOCALES.items():
        page = new_page(browser, locale=locale, viewport={"width": 390, "height": 844}, **PHONE)
        try:
            open_chat(page, live_server, lang)
            drive_to_summary(page)
            expect(page.locator("#log .kind-summary")).to_have_count(1)
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 740})
                # the end of the summary and its confirm / change buttons in view
                page.locator(ACTIVE).last.scroll_into_view_if_needed()
                measured = assert_controls_fit(page, f"{lang} at {width}px")
                assert measured >= 8, f"{lang} at {width}px: only {measured} controls measured"
                page.screenshot(path=artifact(f"webchat-summary-{lang}-{width}.png"))
            assert page.errors == [], lang
        finally:
            page.context.close()


def test_console_has_no_wcag_violation(live_server: LiveServer, browser: Any, axe_source: str) -> None:
    live_server.call(make_counsellor(live_server.ctx, "axe"))
    page = new_page(browser, **DESKTOP)
    try:
        page.goto(live_server.url + "/console")
        page.wait_for_selector("#app[data-view=login]")
        assert_no_violations(page, axe_source, "console login")
        page.get_by_label("ログインID").fill("axe")
        page.get_by_label("パスワード").fill(COUNSELLOR_PASSWORD)
        page.fill("#otp", otp_for("axe"))
        page.get_by_label("パスワード").press("Enter")
        page.wait_for_selector("#app[data-view=main][data-live=open]")
        assert_no_violations(page, axe_source, "console queue")
        # with a resident waiting in the queue, opened
        resident = new_page(browser, locale="en-US", **PHONE)
        try:
            open_chat(resident, live_server, "en")
            choose(resident, "agree")
            resident.get_by_role("navigation").get_by_role("button", name="Talk to a person").click()
            expect(resident.locator("#chat")).to_have_attribute("data-status", "waiting")
        finally:
            resident.context.close()
        page.locator("#queue li button").first.wait_for(timeout=10_000)
        assert_no_violations(page, axe_source, "console queue with a resident")
    finally:
        page.context.close()


def test_console_conversation_view_has_no_wcag_violation(live_server: LiveServer, browser: Any, axe_source: str) -> None:
    live_server.call(make_counsellor(live_server.ctx, "axe2"))
    resident = new_page(browser, locale="en-US", **PHONE)
    page = new_page(browser, **DESKTOP)
    try:
        open_chat(resident, live_server, "en")
        choose(resident, "agree")
        resident.get_by_role("navigation").get_by_role("button", name="Talk to a person").click()
        expect(resident.locator("#chat")).to_have_attribute("data-status", "waiting")
        page.goto(live_server.url + "/console")
        page.wait_for_selector("#app[data-view=login]")
        console_login(page, live_server, "axe2")
        page.locator("#queue li button").first.click()
        page.click("#claim")  # need-to-know (issue 11): the transcript opens to whoever takes it
        page.wait_for_selector("#transcript li")
        assert_no_violations(page, axe_source, "console conversation")
    finally:
        resident.context.close()
        page.context.close()
