"""The web chat page keeps the survey's buttons live after a counsellor closed the chat, takes
the answers one at a time and a free comment, then thanks the resident (issue 15)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from casecore.db import transaction
from casecore.models import Counsellor
from casecore.reporting.models import SurveyAnswer
from handoff.actions import conversation as conversation_actions
from tests import browser as _browser
from tests.browser import LiveServer, artifact
from tests.helpers import make_counsellor
from tests.test_webchat_browser import (
    assert_no_errors,
    choose,
    open_chat,
    session_of,
    tool,
    wait_idle,
)

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture fails under MADOGUCHI_REQUIRE_ALL=1
    expect = None  # type: ignore[assignment]

pytestmark = pytest.mark.browser
browser, live_server, mobile_page = _browser.browser, _browser.live_server, _browser.mobile_page


async def _counsellor(live: LiveServer) -> Counsellor:
    async with transaction(live.ctx.sessions) as s:
        me = await s.scalar(select(Counsellor).where(Counsellor.login == "kobayashi"))
    if me is None:
        await make_counsellor(live.ctx, "kobayashi")
        return await _counsellor(live)
    return me


async def _claim(live: LiveServer, conversation_id: int) -> None:
    await conversation_actions.claim(live.ctx, conversation_id, await _counsellor(live))


async def _close(live: LiveServer, conversation_id: int) -> None:
    await conversation_actions.close(live.ctx, conversation_id, await _counsellor(live))


async def _answers(live: LiveServer) -> list[SurveyAnswer]:
    async with transaction(live.ctx.sessions) as s:
        return list((await s.scalars(select(SurveyAnswer))).all())


def test_survey_after_the_chat_closed(live_server: LiveServer, mobile_page: Any) -> None:
    page = mobile_page
    open_chat(page, live_server)
    tool(page, "相談員と話す").click()
    wait_idle(page)
    expect(page.locator("#chat")).to_have_attribute("data-status", "waiting")
    conversation_id = int(session_of(page)["id"])
    live_server.call(_claim(live_server, conversation_id))
    expect(page.locator("#chat")).to_have_attribute("data-status", "counsellor")
    live_server.call(_close(live_server, conversation_id))

    expect(page.locator("#chat")).to_have_attribute("data-status", "closed")
    invite = page.locator("#log .choices:not(.spent) button[data-choice-id='survey_answer']")
    expect(invite).to_be_enabled()
    assert "アンケート" in page.inner_text("#log")
    page.screenshot(path=artifact("survey-mobile-invitation.png"))
    choose(page, "survey_answer")
    expect(page.locator("#log")).to_contain_text("相談して、役に立ちましたか。")
    choose(page, "yes")
    choose(page, "yes")
    choose(page, "partly")
    page.fill("#input", "夜に話を聞いてもらえて、少し楽になりました。")
    page.click("#send")
    wait_idle(page)
    expect(page.locator("#log")).to_contain_text("ご協力ありがとうございました")
    assert page.locator("#log .choices:not(.spent)").count() == 0
    page.screenshot(path=artifact("survey-mobile-thanks.png"))
    (answer,) = live_server.call(_answers(live_server))
    assert (answer.helped, answer.easy, answer.again) == ("yes", "yes", "partly")
    assert answer.comment == "夜に話を聞いてもらえて、少し楽になりました。"
    assert_no_errors(page)
