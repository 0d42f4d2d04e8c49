"""The lead's dashboard page in Chromium: it logs in through the console, shows each profile's
figures from /api/reports/dashboard, and a counsellor is told the page is for leads."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from casecore.db import transaction
from casecore.reporting.models import SurveyAnswer
from casecore.reporting.periods import Month
from casecore.types import utcnow
from tests import browser as _browser
from tests.browser import DESKTOP, LiveServer, artifact, new_page
from tests.helpers import console_login, make_counsellor

pytestmark = pytest.mark.browser

browser = _browser.browser
live_server = _browser.live_server


async def _survey_answers(live: LiveServer) -> None:
    """Anonymous answers this month and two months ago, one comment with markup in it."""
    now = utcnow()
    this, earlier = Month.of(now), Month.of(now).previous().previous()
    async with transaction(live.ctx.sessions) as s:
        for month, helped, comment in ((this, "yes", "夜でも相談できて助かりました <b>本当に</b>"), (this, "partly", None),
                                       (this, None, None), (earlier, "no", None)):
            s.add(SurveyAnswer(profile_id="minato-tokyo", month=str(month), channel="line", language="ja",
                               helped=helped, easy="yes", again="yes", comment=comment, has_comment=comment is not None))


def test_the_dashboard_shows_each_municipality_to_a_lead(live_server: LiveServer, browser: Any) -> None:
    live_server.call(make_counsellor(live_server.ctx, "shunin", "lead"))
    live_server.call(_survey_answers(live_server))
    live_server.call(make_counsellor(live_server.ctx, "tanto", "counsellor"))
    page = new_page(browser, **DESKTOP)
    try:
        console_login(page, live_server, "shunin")
        page.goto(live_server.url + "/console/dashboard")
        expect(page.locator(".profile")).to_have_count(2)
        expect(page.locator(".profile .name", has_text="港区生活・就労支援センター（minato-tokyo）")).to_have_count(1)
        expect(page.locator(".profile .waiting").first).to_have_text("0")
        expect(page.locator(".profile .reviews").first).to_have_text("0")  # no review past its day
        expect(page.locator(".profile .hours").first.locator(".bar")).to_have_count(24)
        expect(page.locator("#status")).to_contain_text("現在")
        minato = page.locator(".profile", has_text="minato-tokyo")
        expect(minato.locator(".survey tbody tr")).to_have_count(6)  # six months, oldest first
        last = minato.locator(".survey tbody tr").last
        expect(last.locator("td").nth(1)).to_have_text("3")
        expect(last.locator(".stack").first.locator("span")).to_have_count(3)  # yes, a little, no answer
        minato.locator(".read-comments").click()
        expect(minato.locator(".comment-list li")).to_have_count(1)
        expect(minato.locator(".comment-list li")).to_contain_text("夜でも相談できて助かりました <b>本当に</b>")
        page.screenshot(path=str(artifact("dashboard-lead.png")), full_page=True)
        # the console's login page asks /api/auth/me first (401 before login); nothing else may appear
        assert [e for e in page.errors if "status of 401" not in e] == []
    finally:
        page.context.close()
    page = new_page(browser, **DESKTOP)
    try:
        console_login(page, live_server, "tanto")
        page.goto(live_server.url + "/console/dashboard")
        expect(page.locator("#status")).to_have_text("主任相談支援員のための画面です")
        expect(page.locator(".profile")).to_have_count(0)
    finally:
        page.context.close()
