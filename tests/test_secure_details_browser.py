"""Issue 16's "Done when": a LINE conversation reaches the name step, the resident opens the
secure link from the message LINE's stand-in received, completes the details on the operator's
own page in Chromium (320 px, then desktop width), and LINE is pushed the next question; the
database holds those answers only encrypted and no LINE request carried them. The page is
also opened at 320 px in every resident language."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from casecore.db import transaction
from casecore.models import Case, Conversation
from handoff import secure_links
from i18n.catalog import available_languages, catalog
from tests import browser as _browser
from tests.browser import LiveServer, artifact, new_page, serve_settings
from tests.standins import line_webhook as wh
from tests.standins.line_api import LineApiStandIn
from tests.standins.line_fixtures import ACCESS_TOKEN, CHANNEL_SECRET
from tests.standins.stack import settle, with_channels

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture fails under MADOGUCHI_REQUIRE_ALL=1
    expect = None  # type: ignore[assignment]

pytestmark = pytest.mark.browser
browser = _browser.browser
USER = "U" + "e" * 32
NAME = "秘密野すみれ"
PHONE = "08033334444"
NARROW = {"viewport": {"width": 320, "height": 640}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture
def line_api() -> Iterator[LineApiStandIn]:
    server = LineApiStandIn().start()
    server.add_channel(ACCESS_TOKEN)
    yield server
    assert not server.violations, server.violations
    server.stop()


@pytest.fixture
def live(stack: Any, line_api: LineApiStandIn) -> Iterator[LiveServer]:
    settings = with_channels(stack.model_copy(update={"translation_enabled": False}), line_channel_secret=CHANNEL_SECRET,
                             line_channel_access_token=ACCESS_TOKEN, line_api_base_url=line_api.base_url)
    with serve_settings(settings) as server:
        # the link names this server (its port is known only now)
        server.ctx.router.secure_links = secure_links.SecureLinks(settings.resolved_secret_key(), server.url)
        server.extras["settings"] = settings
        yield server


def until(check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def line_post(live: LiveServer, api: LineApiStandIn, event: dict[str, Any]) -> None:
    raw = wh.body(event)
    r = httpx.post(live.url + "/webhooks/line", content=raw, headers={
        "Content-Type": "application/json", "X-Line-Signature": wh.sign(CHANNEL_SECRET, raw)})
    assert r.status_code == 200, r.text
    live.call(settle(live.ctx, live.ctx.extras["line"]), timeout=30)


def reply_token(api: LineApiStandIn) -> str:
    return api.issue_reply_token(USER, access_token=ACCESS_TOKEN)


def secure_uris(api: LineApiStandIn) -> list[str]:
    out = []
    for m in api.messages_to(USER):
        if m.get("type") != "flex":
            continue
        for item in m["contents"]["body"]["contents"]:
            action = item.get("action", {})
            if action.get("type") == "uri" and "/secure/" in action["uri"]:
                out.append(action["uri"])
    return out


async def conversation(live: LiveServer) -> Conversation:
    async with transaction(live.ctx.sessions) as s:
        from sqlalchemy import select

        conv = await s.scalar(select(Conversation).where(Conversation.channel == "line").order_by(Conversation.id.desc()))
        assert conv is not None
        return conv


async def case_of(live: LiveServer, case_id: int) -> Case | None:
    async with transaction(live.ctx.sessions) as s:
        return await s.get(Case, case_id)


async def in_raw_database(live: LiveServer, needle: str) -> bool:
    engine = live.ctx.engine
    if engine.dialect.name == "sqlite":
        await engine.dispose()  # every page on disk, the WAL too
        return any(needle.encode() in p.read_bytes() for p in live.extras["settings"].data_dir.glob("madoguchi.db*"))
    async with engine.connect() as c:
        tables = (await c.execute(text("select tablename from pg_tables where schemaname = current_schema()"))).scalars().all()
        for table in tables:
            if any(needle in row for row in (await c.execute(text(f'select t::text from "{table}" t'))).scalars().all()):
                return True
    return False


async def relink(live: LiveServer, conversation_id: int, language: str) -> str:
    """A fresh link for the conversation, now in `language` (to see the page in every one)."""
    async with transaction(live.ctx.sessions) as s:
        conv = await s.get(Conversation, conversation_id)
        assert conv is not None
        token, nonce = secure_links.issue(live.extras["settings"].resolved_secret_key(), conv.id, conv.contact_point_id, minutes=30)
        conv.access_token_hash = secure_links.pending_hash(nonce)
        conv.language = language
        conv.dialog_state = {**(conv.dialog_state or {}), "language": language, "secure_page": "offered"}
        return secure_links.url(live.url, token)


def test_details_on_the_secure_page_never_reach_line(live: LiveServer, line_api: LineApiStandIn, browser: Any) -> None:
    api = line_api
    api.add_profile(USER, language="ja")
    line_post(live, api, wh.follow_event(USER, reply_token(api)))
    for choice in ("agree", "none", "self", "money", "done"):
        line_post(live, api, wh.postback_event(USER, f"c:{choice}", reply_token(api)))
    line_post(live, api, wh.text_event(USER, "仕事がなくなりました", reply_token(api)))  # the resident typed it in LINE
    for _ in range(5):  # age band, district, household, public assistance, residence
        line_post(live, api, wh.postback_event(USER, "c:skip", reply_token(api)))
    assert live.call(conversation(live)).dialog_node == "name"
    uri = secure_uris(api)[-1]
    assert uri.startswith(live.url + "/secure/")
    pushed_before = len(api.messages_to(USER))

    page = new_page(browser, **NARROW)
    try:
        page.goto(uri)
        chat = page.locator("#chat")
        expect(chat).to_have_attribute("data-ready", "true")
        expect(chat).to_have_attribute("data-state", "name")
        expect(page.locator("#log")).to_contain_text("LINEを通らず")
        expect(page.locator("#log")).to_contain_text(catalog("ja").text("name.ask"))
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        page.screenshot(path=artifact("secure-details-320-name.png"), full_page=True)
        page.fill("#input", NAME)
        page.click("#send")
        expect(chat).to_have_attribute("data-state", "contact_method")
        page.locator("#log .choices:not(.spent) button[data-choice-id='phone']").click()
        expect(chat).to_have_attribute("data-state", "contact_phone")
        page.fill("#input", PHONE)
        page.click("#send")
        expect(chat).to_have_attribute("data-secure-done", "true")
        expect(page.locator("#log")).to_contain_text("LINEに戻ってください")
        expect(page.locator("#composer")).to_be_hidden()
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        page.screenshot(path=artifact("secure-details-320-done.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=artifact("secure-details-desktop-done.png"))
        # a second open of the same link: a clear 410 page
        again = page.goto(uri)
        assert again is not None and again.status == 410
        expect(page.locator("#secure-message")).to_contain_text("LINEに戻って")
        errors = [e for e in page.errors if "410" not in e]
        assert errors == [], errors
    finally:
        page.context.close()

    # LINE is pushed the next question, and never the details
    until(lambda: any("時間帯" in (m.get("text") or "") for m in api.messages_to(USER)[pushed_before:]),
          "the next question pushed to LINE")
    bodies = b"\n".join(c.raw for c in api.calls)
    assert NAME.encode() not in bodies and PHONE.encode() not in bodies
    assert NAME.encode("unicode_escape") not in bodies
    # finish in LINE: the summary there repeats neither
    line_post(live, api, wh.postback_event(USER, "c:anytime", reply_token(api)))
    line_post(live, api, wh.postback_event(USER, "c:no", reply_token(api)))
    line_post(live, api, wh.postback_event(USER, "c:confirm", reply_token(api)))
    bodies = b"\n".join(c.raw for c in api.calls)
    assert NAME.encode() not in bodies and PHONE.encode() not in bodies
    conv = live.call(conversation(live))
    assert conv.channel == "line" and conv.case_id is not None
    case = live.call(case_of(live, conv.case_id))
    assert case is not None and case.name == NAME and case.contact_detail == PHONE
    assert not live.call(in_raw_database(live, NAME), timeout=60)
    assert not live.call(in_raw_database(live, PHONE), timeout=60)


def test_the_secure_page_fits_320px_in_every_language(live: LiveServer, line_api: LineApiStandIn, browser: Any) -> None:
    api = line_api
    api.add_profile(USER, language="ja")
    line_post(live, api, wh.follow_event(USER, reply_token(api)))
    for choice in ("agree", "none", "self", "money", "done"):
        line_post(live, api, wh.postback_event(USER, f"c:{choice}", reply_token(api)))
    conv = live.call(conversation(live))
    page = new_page(browser, **NARROW)
    try:
        for language in available_languages():
            page.goto(live.call(relink(live, conv.id, language)))
            chat = page.locator("#chat")
            expect(chat).to_have_attribute("data-ready", "true")
            intro = catalog(language, "secure").text("page_intro", app="LINE")
            expect(page.locator("#log")).to_contain_text(intro)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 320, (language, width)
            page.screenshot(path=artifact(f"secure-details-320-{language}.png"))
        assert page.errors == [], page.errors
    finally:
        page.context.close()
