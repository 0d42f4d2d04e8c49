"""Need-to-know and MFA in Chromium (issue 11): the enrolment screens (QR code, first code,
recovery codes), the break-glass dialog, the "assigned to me" and "my team" lists with the case
dialog, and the admin's accounts page. Screenshots go to the artifacts directory."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pyotp
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from casecore.db import transaction
from casecore.models import AuditEvent
from tests import browser as _browser
from tests.browser import DESKTOP, LiveServer, artifact, new_page
from tests.helpers import (
    COUNSELLOR_PASSWORD,
    console_login,
    login_body,
    make_counsellor,
    run_intake,
)

pytestmark = pytest.mark.browser

browser = _browser.browser
live_server = _browser.live_server


def _cookie(live: LiveServer, login: str) -> dict[str, str]:
    r = httpx.post(live.url + "/api/auth/login", json=login_body(login))
    assert r.status_code == 200, r.text
    return {"madoguchi_session": r.cookies["madoguchi_session"]}


async def _intake(url: str) -> tuple[int, int]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as c:
        session, reply = await run_intake(c)
    return session["session_id"], reply["case_id"]


async def _audit(live: LiveServer, action: str) -> list[AuditEvent]:
    async with transaction(live.ctx.sessions) as s:
        return list((await s.scalars(select(AuditEvent).where(AuditEvent.action == action))).all())


def test_first_login_enrols_the_authenticator(live_server: LiveServer, browser: Any) -> None:
    live_server.call(make_counsellor(live_server.ctx, "hajime", mfa=False))
    page = new_page(browser, **DESKTOP)
    try:
        page.goto(live_server.url + "/console")
        page.wait_for_selector("#app[data-view=login]")
        page.get_by_label("ログインID").fill("hajime")
        page.get_by_label("パスワード").fill(COUNSELLOR_PASSWORD)
        page.get_by_label("パスワード").press("Enter")
        page.wait_for_selector("#app[data-view=mfa]")
        expect(page.locator("#mfa-qr")).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
        expect(page.locator("#mfa-secret")).not_to_be_empty()
        expect(page.locator("#mfa-code")).to_be_focused()
        page.screenshot(path=str(artifact("access-mfa-enrol.png")), full_page=True)
        secret = page.inner_text("#mfa-secret").replace(" ", "")
        page.fill("#mfa-code", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
        page.click("#mfa-submit")
        expect(page.locator("#mfa-error")).to_contain_text("一致しません")
        page.fill("#mfa-code", pyotp.TOTP(secret).now())
        page.click("#mfa-submit")
        expect(page.locator("#mfa-recovery li")).to_have_count(10)
        expect(page.locator("#mfa-done-title")).to_be_focused()
        page.screenshot(path=str(artifact("access-mfa-recovery.png")), full_page=True)
        page.click("#mfa-continue")
        page.wait_for_selector("#app[data-view=main][data-live=open]")
        assert "hajime" in page.inner_text("#who")
    finally:
        page.context.close()


def test_break_glass_dialog_and_case_lists(live_server: LiveServer, browser: Any) -> None:
    live = live_server
    for login, role, team in (("mochizuki", "counsellor", None), ("fujita", "counsellor", "north"),
                              ("ueda", "lead", None)):
        live.call(make_counsellor(live.ctx, login, role, team=team))
    with ThreadPoolExecutor(1) as pool:  # a resident, from a loop of its own (Playwright holds this one)
        cid, case_id = pool.submit(asyncio.run, _intake(live.url)).result()
    holder = _cookie(live, "mochizuki")
    assert httpx.post(f"{live.url}/api/conversations/{cid}/claim", cookies=holder).status_code == 200
    lead = _cookie(live, "ueda")
    page = new_page(browser, **DESKTOP)
    try:
        console_login(page, live, "fujita")
        expect(page.locator("#cases-assigned li.none")).to_have_count(1)  # nothing assigned yet
        held = page.locator("#held li button").first
        held.wait_for()
        held.click()
        dialog = page.locator("#glass-dialog")
        expect(dialog).to_be_visible()
        page.screenshot(path=str(artifact("access-break-glass.png")), full_page=True)
        page.click("#glass-open")
        expect(page.locator("#glass-error")).to_contain_text("理由")
        page.fill("#glass-reason", "望月さんが不在のため、本人からの至急の電話に対応 <b>急ぎ</b>")
        page.click("#glass-open")
        expect(dialog).to_be_hidden()
        page.wait_for_selector("#transcript li")  # the read went through, after the reason
        glass = live.call(_audit(live, "break_glass"))
        assert len(glass) == 1 and glass[0].target_id == str(case_id)
        shown = httpx.get(live.url + "/api/cases/break-glass/recent", cookies=lead).json()["break_glass"]
        assert shown[0]["reason"].startswith("望月さんが不在") and shown[0]["counsellor"] == "fujita"

        # the lead assigns the case to fujita's team: it appears in "my team"
        r = httpx.post(f"{live.url}/api/cases/{case_id}/assign", json={"team": "north"}, cookies=lead)
        assert r.status_code == 200
        page.reload()
        page.wait_for_selector("#app[data-view=main][data-live=open]")
        item = page.locator("#cases-team li.case-item")
        expect(item).to_have_count(1)
        expect(item).to_contain_text("チーム: north")
        item.locator("button").click()
        expect(page.locator("#case-dialog")).to_be_visible()
        expect(page.locator("#case-dialog-facts")).to_contain_text("山田花子")
        expect(page.locator("#case-dialog-facts")).to_contain_text("チーム")
        expect(page.locator("#assign-form")).to_be_hidden()  # only a lead assigns
        page.screenshot(path=str(artifact("access-team-case.png")), full_page=True)
        page.click("#case-dialog-close")
    finally:
        page.context.close()


def test_the_admin_manages_accounts_on_their_page(live_server: LiveServer, browser: Any) -> None:
    live = live_server
    live.call(make_counsellor(live.ctx, "kanrisha", "admin"))
    live.call(make_counsellor(live.ctx, "taishoku", team="south"))
    page = new_page(browser, **DESKTOP)
    page.on("dialog", lambda d: d.accept())
    try:
        console_login(page, live, "kanrisha")
        page.click("#access-link")
        page.wait_for_selector("#page[data-ready=true]")
        row = page.locator("#accounts tr[data-login=taishoku]")
        expect(row).to_contain_text("相談支援員")
        expect(row).to_contain_text("south")
        page.fill("#new-login", "aoki")
        page.fill("#new-name", "青木 みどり")
        page.select_option("#new-profiles", ["minato-osaka"])
        page.click("#create-form button[type=submit]")
        expect(page.locator("#shown-once")).to_contain_text("初期パスワード")
        expect(page.locator("#accounts tr[data-login=aoki]")).to_contain_text("未登録")
        row.get_by_role("button", name="停止").click()
        expect(page.locator("#accounts tr[data-login=taishoku]")).to_have_class("disabled")
        expect(page.locator("#audit tbody tr[data-action=account_disabled]")).to_have_count(0)  # until refreshed
        page.click("#audit-form button[type=submit]")
        expect(page.locator("#audit tbody tr[data-action=account_disabled]").first).to_be_visible()
        page.screenshot(path=str(artifact("access-accounts.png")), full_page=True)
        assert httpx.post(live.url + "/api/auth/login", json=login_body("taishoku")).status_code == 401
    finally:
        page.context.close()
