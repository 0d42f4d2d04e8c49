"""Issue 16 in headless Chromium: a LINE resident's photographed letter shows as a thumbnail in
the console's transcript (loaded through the audited media route), and the counsellor sends a
PDF form back, which LINE receives as a one-use link. Screenshots go to test-artifacts/ and
/tmp/shots-media/."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from casecore.models import AuditEvent
from tests import browser as _browser
from tests.browser import DESKTOP, LiveServer, artifact, new_page, serve_settings
from tests.helpers import console_login, make_counsellor
from tests.standins import line_webhook as wh
from tests.standins.line_api import LineApiStandIn
from tests.standins.line_fixtures import ACCESS_TOKEN, CHANNEL_SECRET
from tests.standins.stack import with_channels
from tests.test_channel_media import letter_jpeg, real_pdf

pytestmark = pytest.mark.browser
browser = _browser.browser

USER = "U" + "7" * 32
SHOTS = Path("/tmp/shots-media")


@pytest.fixture(scope="module")
def line_api() -> Iterator[LineApiStandIn]:
    server = LineApiStandIn().start()
    server.add_channel(ACCESS_TOKEN)
    yield server
    assert not server.violations, server.violations
    server.stop()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, line_api: LineApiStandIn) -> Iterator[LiveServer]:
    from tests.conftest import make_settings

    settings = with_channels(
        make_settings(tmp_path_factory.mktemp("media-app"), translation_enabled=False),
        line_channel_secret=CHANNEL_SECRET, line_channel_access_token=ACCESS_TOKEN, line_api_base_url=line_api.base_url,
    )
    with serve_settings(settings) as server:
        server.call(make_counsellor(server.ctx, "sato"))
        yield server


def line_post(live: LiveServer, event: dict[str, Any]) -> None:
    raw = wh.body(event)
    r = httpx.post(live.url + "/webhooks/line", content=raw, headers={
        "Content-Type": "application/json", "X-Line-Signature": wh.sign(CHANNEL_SECRET, raw)})
    assert r.status_code == 200, r.text


def until(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def shot(page: Any, name: str) -> None:
    page.screenshot(path=artifact(name))
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(artifact(name), SHOTS / name)


async def _audits(ctx: Any, action: str) -> list[AuditEvent]:
    async with ctx.sessions() as s:
        return list((await s.scalars(select(AuditEvent).where(AuditEvent.action == action))).all())


def test_a_photo_shows_as_a_thumbnail_and_a_pdf_goes_back(live: LiveServer, line_api: LineApiStandIn,
                                                          browser: Any) -> None:
    def token() -> str:
        return line_api.issue_reply_token(USER, access_token=ACCESS_TOKEN)

    line_api.add_profile(USER, language="ja")
    line_post(live, wh.follow_event(USER, token()))
    photo = wh.media_event(USER, "image", token())
    line_api.add_content(photo["message"]["id"], letter_jpeg(1024, 768), "image/jpeg")
    line_post(live, photo)
    line_post(live, wh.postback_event(USER, "c:human", token()))

    page = new_page(browser, **DESKTOP)
    try:
        console_login(page, live, "sato")
        page.wait_for_selector("#queue li button", timeout=10_000)
        page.click("#queue li button")
        page.wait_for_selector("#claim:not([hidden])")
        page.click("#claim")
        page.wait_for_selector("#conv[data-mine=true]")
        thumb = page.locator("#transcript .media-thumb img")
        expect(thumb).to_have_count(1)
        until(lambda: page.evaluate("document.querySelector('#transcript .media-thumb img').naturalWidth") > 0,
              "the thumbnail to load")
        width = page.evaluate("document.querySelector('#transcript .media-thumb img').naturalWidth")
        assert 0 < width <= 320  # the thumbnail, not the photo
        assert thumb.get_attribute("alt").startswith("画像")
        href = page.get_attribute("#transcript .media-thumb", "href")
        assert href.startswith("/api/conversations/") and href.count("/media/") == 1
        assert not page.locator("#transcript p.text", has_text="[image]").count()
        thumb.scroll_into_view_if_needed()
        shot(page, "media-thumbnail.png")

        # the counsellor sends a PDF form back: LINE gets a one-use link to our own server
        before = len(line_api.messages_to(USER))
        page.set_input_files("#doc-file", files=[{"name": "申請書.pdf", "mimeType": "application/pdf",
                                                   "buffer": real_pdf()}])
        page.click("#send-doc")
        expect(page.locator("#doc-status")).to_contain_text("を送りました")
        expect(page.locator("#transcript a.media-chip", has_text="申請書.pdf")).to_have_count(1)
        said = until(lambda: [m["text"] for m in line_api.messages_to(USER)[before:]], "the link on LINE")
        assert "/documents/" in said[-1]
        expect(page.locator("#transcript", has_text="/documents/")).to_have_count(0)  # the link is the resident's
        page.locator("#transcript a.media-chip").scroll_into_view_if_needed()
        shot(page, "media-document-sent.png")
        assert [e for e in page.errors if "status of 401" not in e] == []
    finally:
        page.context.close()
    views = live.call(_audits(live.ctx, "read_media"))
    assert views and all(v.detail["thumb"] for v in views)  # the thumbnail's load was audited
