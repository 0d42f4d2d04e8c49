"""The case work page (/console/cases) in headless Chromium against the real app: a lead finds
a case by phone number, reads why each programme is recommended, records the triage, a
referral (and is refused for a resident who said no to sharing), an assessment and a plan
with its 支援調整会議 approval, and sees today's follow-up reminder. Screenshots of the case
list, assessment, plan and referral screens go to test-artifacts/ (look at them)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from casecore.casework.schedule import add_months, local_today
from casecore.types import utcnow
from tests import browser as _browser
from tests.browser import DESKTOP, LiveServer, artifact, new_page
from tests.helpers import JAPANESE_INTAKE, login, make_counsellor, run_intake
from tests.test_accessibility_browser import assert_no_violations, axe_source  # noqa: F401  (the fixture)
from tests.test_console_browser import console_login

pytestmark = pytest.mark.browser

browser = _browser.browser
live_server = _browser.live_server


async def _claimed_cases(live: LiveServer) -> list[int]:
    """Two residents finish the intake (the second says no to sharing); the lead claims both."""
    await make_counsellor(live.ctx, "kimura", "lead")
    no_share = list(JAPANESE_INTAKE)
    no_share[-2] = ("choice", "no")
    no_share[12] = ("text", "Maria <b>Santos</b> 🌻")
    no_share[14] = ("text", "080-2222-3333")
    ids = []
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as resident, httpx.AsyncClient(base_url=live.url, timeout=30) as lead:
        await login(lead, "kimura")
        for steps in (JAPANESE_INTAKE, no_share):
            session, _ = await run_intake(resident, steps)
            assert (await lead.post(f"/api/conversations/{session['session_id']}/claim")).status_code == 200
            ids.append((await lead.get(f"/api/conversations/{session['session_id']}")).json()["case"]["id"])
        # a job placement a month ago today: the 1-month follow-up is today's reminder
        today = local_today(utcnow())
        placed = next(today - timedelta(days=n) for n in range(27, 32) if add_months(today - timedelta(days=n), 1) == today)
        r = await lead.post(f"/api/casework/cases/{ids[1]}/placement", json={"placed_on": placed.isoformat()})
        assert r.status_code == 201
    return ids


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(artifact(name)), full_page=True)


def test_case_work_screens(live_server: LiveServer, axe_source: str, browser: Any) -> None:  # noqa: F811
    first, second = live_server.call(_claimed_cases(live_server), timeout=60)
    page = new_page(browser, **DESKTOP)
    page.on("dialog", lambda d: d.accept("再相談"))
    console_login(page, live_server, "kimura")
    # the console's link counts today's reminders
    expect(page.locator("a.nav-cases")).to_have_text("ケース一覧（今日の評価・フォロー 1件）")
    page.screenshot(path=str(artifact("casework-console-link.png")), clip={"x": 0, "y": 0, "width": 1280, "height": 120})
    page.locator("a.nav-cases").click()
    page.wait_for_selector("#cw[data-ready=true]")

    # the list, today's reminder, then a search by phone number (full-width, dashes)
    expect(page.locator("#case-rows tr")).to_have_count(2)
    expect(page.locator("#rem-today li")).to_contain_text("就職後の定着確認(1か月)")
    expect(page.locator("#case-rows")).to_contain_text("Maria <b>Santos</b> 🌻")  # as text, not markup
    assert page.locator("#case-rows b").count() == 0
    _shot(page, "casework-list.png")
    assert_no_violations(page, axe_source, "case list")
    page.fill("#q", "０９０－１２３４－５６７８")
    page.click("#search-form button[type=submit]")
    expect(page.locator("#case-rows tr")).to_have_count(1)
    expect(page.locator("#case-rows")).to_contain_text("山田花子")

    # the face sheet with the reasons, and the triage
    page.locator("#case-rows a").first.click()
    expect(page.locator("#case-title")).to_contain_text("山田花子")
    expect(page.locator("#routing")).to_contain_text("エ 家計改善支援")
    expect(page.locator("#routing")).to_contain_text("相談内容に「借金・滞納」があるため")
    page.select_option("#triage-outcome", "referral")
    page.fill("#triage-reason", "就労はハローワークと連携")
    page.click("#triage-form button[type=submit]")
    expect(page.locator("#triage-history")).to_contain_text("他機関へつなぐ：就労はハローワークと連携")
    expect(page.locator("#case-rows")).to_contain_text("つなぎ済み")  # the list follows the change
    expect(page.locator("#reopen")).to_be_hidden()  # only a closed case reopens
    _shot(page, "casework-face-sheet.png")
    assert_no_violations(page, axe_source, "face sheet")

    # a referral with the consent
    page.get_by_role("tab", name="つなぎ").click()
    expect(page.locator("#consent-line")).to_contain_text("同意あり")
    page.select_option("#ref-agency", "hello_work")
    page.check("input[name=share][value=contact]")
    page.fill("#ref-note", "求職登録に同行します")
    page.click("#referral-form button[type=submit]")
    expect(page.locator("#referral-rows tr")).to_have_count(1)
    expect(page.locator("#referral-rows")).to_contain_text("ハローワーク品川")
    expect(page.locator("#referral-rows")).to_contain_text("相談受付票(フェースシート)・連絡先")
    page.locator("#referral-rows select").select_option("accepted")
    expect(page.locator("#case-status")).to_contain_text("更新しました")
    _shot(page, "casework-referral.png")
    assert_no_violations(page, axe_source, "referrals")

    # the assessment sheet from its template: a text, a choice, a multi and a table row (the
    # tabs answer the arrow keys too)
    page.get_by_role("tab", name="つなぎ").press("ArrowRight")
    expect(page.get_by_role("tab", name="アセスメント")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tab", name="アセスメント")).to_be_focused()
    page.fill("#assessment-daily_life", "昼夜逆転。食事は1日1回")
    page.select_option("#assessment-money_management", "一部支援が必要")
    page.get_by_label("就労", exact=True).check()
    page.get_by_label("借入・滞納 借入先・滞納先").first.fill("消費者金融A")
    page.get_by_label("借入・滞納 残高").first.fill("48万円")
    page.fill("#assessment-own_goals", "正社員として働き、家賃を滞納せずに暮らしたい")
    page.click("#doc-assessment button[type=submit]")
    expect(page.locator("#doc-assessment .version")).to_contain_text("第1版")
    expect(page.get_by_label("借入・滞納 借入先・滞納先").first).to_have_value("消費者金融A")
    page.fill("#assessment-own_goals", "まずは体調を整えて、週3日から働きたい")
    page.click("#doc-assessment button[type=submit]")
    expect(page.locator("#doc-assessment .version")).to_contain_text("第2版")
    page.locator("#doc-assessment .versions").get_by_role("button", name="第1版").click()
    expect(page.locator("#assessment-own_goals")).to_have_value("正社員として働き、家賃を滞納せずに暮らしたい")
    expect(page.locator("#doc-assessment .version")).to_contain_text("保存すると第3版になります")
    _shot(page, "casework-assessment.png")
    assert_no_violations(page, axe_source, "assessment")

    # the plan, then the 支援調整会議 approval: reviews at 3, 6 and 12 months
    page.get_by_role("tab", name="支援計画").click()
    page.fill("#plan-policy", "住居を確保し、家計を立て直しながら就労を目指す")
    page.get_by_label("住居確保給付金", exact=True).check()
    page.get_by_label("誰が何をするか 支援内容").first.fill("ハローワーク同行")
    page.get_by_label("誰が何をするか 担当(本人・センター・関係機関)").first.fill("就労支援員")
    page.click("#doc-plan button[type=submit]")
    expect(page.locator("#doc-plan .version")).to_contain_text("第1版")
    page.fill("#meeting-on", "2026-11-30")
    page.click("#approve-form button[type=submit]")
    expect(page.locator("#doc-plan .version")).to_contain_text("支援調整会議で承認（2026-11-30）")
    _shot(page, "casework-plan.png")
    assert_no_violations(page, axe_source, "plan")
    page.get_by_role("tab", name="評価・フォロー").click()
    expect(page.locator("#review-rows tr")).to_have_count(3)
    expect(page.locator("#review-rows")).to_contain_text("2027-02-28")

    # the resident who said no to sharing: the referral is refused, and says why
    page.goto(f"{live_server.url}/console/cases#case={second}")
    page.wait_for_selector("#cw[data-ready=true]")
    expect(page.locator("#case-title")).to_contain_text("Maria")
    page.get_by_role("tab", name="つなぎ").click()
    expect(page.locator("#consent-line")).to_contain_text("同意なし")
    page.click("#referral-form button[type=submit]")
    expect(page.locator("#ref-error")).to_contain_text("情報共有の同意がないため")
    expect(page.locator("#referral-rows tr")).to_have_count(0)
    _shot(page, "casework-referral-refused.png")

    pdf = page.request.get(f"{live_server.url}/api/casework/cases/{first}/intake-sheet.pdf")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    errors = [e for e in page.errors if "status of 401" not in e and "status of 403" not in e]
    assert errors == []
    page.context.close()
