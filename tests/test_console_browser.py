"""The counsellor console at /console, driven in headless Chromium against the real app, with a
resident on the web chat page in a second browser context.

Two counsellors race to claim; the winner talks live with a resident who picked English (no
translation model here: the counsellor sees the English original marked untranslated); the
resident asked for a person mid-intake and appeared in the queue without a reload; HTML and
script from the resident show as text. Screenshots go to test-artifacts/ (look at them).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests import browser as _browser
from tests.browser import DESKTOP, MOBILE, LiveServer, artifact, new_page
from tests.helpers import (
    COUNSELLOR_PASSWORD,
    JAPANESE_INTAKE,
    console_login,
    make_counsellor,
    otp_for,
)

pytestmark = pytest.mark.browser

browser = _browser.browser
live_server = _browser.live_server

HOSTILE = "I lost my job. <script>alert(1)</script><img src=x onerror=alert(2)> Help 🙏"
def wait_idle(page: Any) -> None:
    """No message of the resident's is still on its way. A locator, not wait_for_function:
    the chat page's Content-Security-Policy forbids the eval that wait_for_function uses."""
    # (the first free text a resident writes loads the risk screen's learned layer: seconds
    # on a busy machine)
    expect(page.locator("#log .msg.pending")).to_have_count(0, timeout=15_000)


@pytest.fixture(scope="module")
def counsellors(live_server: LiveServer) -> list[str]:
    for login in ("sato", "suzuki"):
        live_server.call(make_counsellor(live_server.ctx, login))
    return ["sato", "suzuki"]


def page_with_dialog_log(browser: Any, **args: Any) -> Any:
    page = new_page(browser, **args)
    page.dialogs = []
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    return page


def open_chat(page: Any, live: LiveServer) -> None:
    page.goto(live.url + "/chat")
    page.wait_for_selector("#chat[data-ready=true]", timeout=15_000)


def chat_tool(page: Any, name: Any) -> Any:
    return page.get_by_role("navigation").get_by_role("button", name=name)


def choose(page: Any, choice_id: str) -> None:
    page.locator(f"#log .choices:not(.spent) button[data-choice-id='{choice_id}']").click()
    wait_idle(page)


def chat_type(page: Any, text: str) -> None:
    page.fill("#input", text)
    page.click("#send")
    wait_idle(page)


def session_id(page: Any) -> int:
    return int(page.evaluate("JSON.parse(sessionStorage.getItem('madoguchi.webchat.v1')).id"))


def assert_clean(page: Any, expected: str | tuple[str, ...] = ()) -> None:
    # Opening the console before logging in asks /api/auth/me, which answers 401: Chromium
    # logs that refused request as a console error. Nothing else may appear.
    allowed = ("status of 401", *((expected,) if isinstance(expected, str) else expected))
    errors = [e for e in page.errors if not any(a in e for a in allowed)]
    assert errors == [], (page.url, errors)
    assert page.dialogs == [], f"a dialog opened: {page.dialogs}"


def assert_transcript_is_text_only(page: Any) -> None:
    injected = page.evaluate(
        "Array.from(document.querySelectorAll('#transcript script, #transcript img, #transcript b,"
        " #transcript [onerror], #queue script, #case-pane script, #case-pane img')).length"
    )
    assert injected == 0


def test_console_needs_login(live_server: LiveServer, counsellors: list[str], browser: Any) -> None:
    page = page_with_dialog_log(browser, **DESKTOP)
    try:
        page.goto(live_server.url + "/console")
        page.wait_for_selector("#app[data-view=login]")
        assert page.locator("#main-view").is_hidden()
        page.get_by_label("ログインID").fill("sato")
        page.get_by_label("パスワード").fill("wrong password!")
        page.click("#login-submit")
        page.locator("#login-error", has_text="違います").wait_for()
        assert page.get_attribute("#app", "data-view") == "login"
        assert page.evaluate("document.documentElement.lang") == "ja"
        assert page.title().startswith("相談員コンソール")
        assert_clean(page)
    finally:
        page.context.close()


def test_race_then_live_chat_with_an_english_resident(live_server: LiveServer, counsellors: list[str], browser: Any) -> None:
    sato = page_with_dialog_log(browser, **DESKTOP)
    suzuki = page_with_dialog_log(browser, **DESKTOP)
    resident = page_with_dialog_log(browser, locale="en-US", **MOBILE)
    try:
        console_login(sato, live_server, "sato")
        console_login(suzuki, live_server, "suzuki")

        # The resident picks English, starts the intake, and asks for a person half-way.
        open_chat(resident, live_server)
        chat_tool(resident, re.compile("言語|Language")).click()
        wait_idle(resident)
        choose(resident, "en")
        choose(resident, "agree")
        chat_tool(resident, re.compile("Talk to a person")).click()
        wait_idle(resident)
        assert resident.get_attribute("#chat", "data-status") == "waiting"
        cid = session_id(resident)

        # Both consoles see it arrive live (no reload), marked English / web chat.
        item = f"#queue li[data-id='{cid}'] button"
        for page in (sato, suzuki):
            page.wait_for_selector(item, timeout=5_000)
            assert "英語" in page.inner_text(item) and "Webチャット" in page.inner_text(item)
            page.click(item)
            page.wait_for_selector("#conv:not([hidden]) #claim:not([hidden])")

        # Both click "claim" at once: exactly one wins, the other is told who did.
        sato.click("#claim", no_wait_after=True)
        suzuki.click("#claim", no_wait_after=True)
        for page in (sato, suzuki):
            # (the console's CSP forbids eval, so waits use selectors, not wait_for_function)
            page.locator("#conv[data-mine=true], #action-error:not(:empty)").first.wait_for(timeout=10_000)
        mine = [p for p in (sato, suzuki) if p.get_attribute("#conv", "data-mine") == "true"]
        assert len(mine) == 1
        winner = mine[0]
        loser = suzuki if winner is sato else sato
        winner_name = "sato" if winner is sato else "suzuki"
        assert f"{winner_name}さんが担当しています" in loser.inner_text("#action-error")
        assert loser.locator("#composer").is_hidden()
        loser.wait_for_selector(f"#held li[data-id='{cid}']")
        assert winner_name in loser.inner_text(f"#held li[data-id='{cid}']")
        assert winner.locator("#reply").is_visible()
        # no translation model here: the console says the Japanese goes out as is
        assert "翻訳機能が使えません" in winner.inner_text("#conv-warn")

        # The resident learns a counsellor joined; the counsellor writes Japanese (Ctrl+Enter).
        expect(resident.locator("#chat")).to_have_attribute("data-status", "counsellor", timeout=5_000)
        winner.fill("#reply", "こんにちは。相談員です。どうされましたか。")
        winner.press("#reply", "Control+Enter")
        winner.wait_for_selector("#transcript li.counsellor")
        resident.wait_for_selector("#log .from-counsellor", timeout=5_000)
        assert resident.locator("#log .from-counsellor .bubble").last.text_content() == "こんにちは。相談員です。どうされましたか。"

        # The resident answers in English with markup: the console shows it as text, untranslated.
        chat_type(resident, HOSTILE)
        winner.wait_for_selector("#transcript li.resident >> nth=-1")
        last = winner.locator("#transcript li.resident").last
        last.locator(".text", has_text="I lost my job").wait_for(timeout=5_000)
        assert last.locator(".text").text_content() == HOSTILE
        assert "未翻訳" in last.inner_text()
        assert_transcript_is_text_only(winner)

        # A canned reply reaches the resident in English, written by people, not a machine.
        winner.select_option("#canned", "documents")
        assert "When you come" in winner.inner_text("#canned-preview")
        winner.click("#send-canned")
        resident.wait_for_selector("#log .from-counsellor >> nth=1", timeout=5_000)
        canned = resident.locator("#log .from-counsellor .bubble").last.text_content() or ""
        assert canned.startswith("When you come, please bring an identity document")
        winner.locator("#transcript li.counsellor .tr-label", has_text="定型文").wait_for()

        winner.screenshot(path=artifact("console-live-conversation.png"))
        loser.screenshot(path=artifact("console-claim-lost.png"))
        resident.screenshot(path=artifact("chat-with-counsellor.png"))

        # Closing: the resident's chat ends with the counsellor's last message.
        winner.click("#composer details summary")
        winner.fill("#closing-text", "ご相談ありがとうございました。")
        winner.click("#close-conv")
        winner.click("#confirm-ok")  # issue 14: closing asks first (in the page, not window.confirm)
        winner.wait_for_selector("#conv[data-status=closed]")
        expect(resident.locator("#chat")).to_have_attribute("data-status", "closed", timeout=5_000)
        assert_clean(winner)
        # the claim it lost (409), then the conversation is no longer theirs to read (404)
        assert_clean(loser, expected=("status of 409", "status of 404"))
        assert_clean(resident)
    finally:
        for page in (sato, suzuki, resident):
            page.context.close()


def test_face_sheet_notes_status_and_programmes(live_server: LiveServer, counsellors: list[str], browser: Any) -> None:
    """A resident who completed the Japanese intake: the counsellor reads the face sheet and
    consents, accepts the recommendation, writes a private note and moves the case on."""
    r = httpx.post(live_server.url + "/api/webchat/sessions", json={"language": "ja"})
    s = r.json()
    headers = {"Authorization": f"Bearer {s['token']}"}
    for kind, value in JAPANESE_INTAKE:
        if kind == "text" and value.startswith("派遣"):
            value = "家賃が払えません。<b>太字</b><script>alert('x')</script>"
        httpx.post(f"{live_server.url}/api/webchat/sessions/{s['session_id']}/messages",
                   json={kind: value}, headers=headers).raise_for_status()
    cid = s["session_id"]
    page = page_with_dialog_log(browser, **DESKTOP)
    try:
        console_login(page, live_server, "sato")
        page.goto(f"{live_server.url}/console#c/{cid}")
        # need-to-know (issue 11): the face sheet opens once the counsellor takes the conversation;
        # keyboard only: claim with Enter
        page.wait_for_selector("#claim")
        assert page.locator("#facesheet dd").count() == 0 and "山田花子" not in page.inner_text("body")
        page.focus("#claim")
        page.keyboard.press("Enter")
        page.wait_for_selector("#conv[data-mine=true]")
        page.wait_for_selector("#facesheet dd")
        fs = page.inner_text("#facesheet")
        assert "山田花子" in fs and "借金・滞納" in fs and "40代" in fs and "ひとり暮らし" in fs and "家賃が払えません。<b>太字</b><script>alert('x')</script>" in fs
        consents = page.inner_text("#consents")
        assert "利用申込み: 同意" in consents and "関係機関との情報共有: 同意" in consents and "文言" in consents
        assert page.locator("#programmes .rec").count() >= 1
        assert_transcript_is_text_only(page)
        page.screenshot(path=artifact("console-face-sheet.png"))

        # then write a note and save it
        page.fill("#note-text", "本人の希望: 夕方の連絡。<img src=x onerror=alert(1)>")
        page.click("#save-note")
        page.locator("#notes li", has_text="夕方の連絡").wait_for()
        assert "<img src=x onerror=alert(1)>" in page.inner_text("#notes")

        page.locator("#programmes label", has_text="住居確保給付金").locator("input").check()
        page.click("#save-programmes")
        page.locator("#programmes-done", has_text="決定済み").wait_for()

        page.fill("#status-reason", "初回面談の日程を調整")
        page.click("#status-actions button[data-action=assess]")
        page.locator("#case-status", has_text="アセスメント中").wait_for()
        assert "初回面談の日程を調整" in page.inner_text("#status-history")
        assert_transcript_is_text_only(page)
        page.screenshot(path=artifact("console-case-actions.png"))
        assert_clean(page)
    finally:
        page.context.close()
    # the note never reaches the resident
    seen = httpx.get(f"{live_server.url}/api/webchat/sessions/{cid}/messages", headers=headers).json()
    assert "夕方の連絡" not in str(seen)


def test_login_asks_for_the_code_and_never_says_which_part_was_wrong(live_server: LiveServer, browser: Any) -> None:
    """MFA is mandatory (issue 11): the code field is always there, and a wrong password and
    a wrong code get the same answer."""
    live_server.call(make_counsellor(live_server.ctx, "takahashi"))
    page = page_with_dialog_log(browser, **DESKTOP)
    try:
        page.goto(live_server.url + "/console")
        page.wait_for_selector("#app[data-view=login]")
        expect(page.locator("#otp")).to_be_visible()
        answers = []
        for password, code in ((COUNSELLOR_PASSWORD, "000000"), ("wrong password!", otp_for("takahashi"))):
            page.evaluate("document.getElementById('login-error').textContent = ''")
            page.get_by_label("ログインID").fill("takahashi")
            page.get_by_label("パスワード").fill(password)
            page.fill("#otp", code)
            page.click("#login-submit")
            page.locator("#login-error", has_text="違います").wait_for()
            answers.append(page.inner_text("#login-error"))
        assert answers[0] == answers[1] == "ログインID、パスワード、またはワンタイムコードが違います。"
        console_login(page, live_server, "takahashi")
        assert "takahashi" in page.inner_text("#who")
        page.click("#logout")
        page.wait_for_selector("#app[data-view=login]")
        assert_clean(page)
    finally:
        page.context.close()
