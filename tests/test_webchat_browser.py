"""The web chat page at /chat, driven in headless Chromium against the real app.

A resident completes a Japanese intake by clicking and typing, reloads half-way and resumes,
types HTML/script (shown as text), loses the network (nothing lost, sent once), changes
language, asks for a person, and receives counsellor messages over the WebSocket, including
after the socket dropped. Screenshots go to test-artifacts/ (look at them).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests import browser as _browser
from tests.browser import LiveServer, artifact, serve_app

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails under MADOGUCHI_REQUIRE_ALL=1)
    expect = None  # type: ignore[assignment]

pytestmark = pytest.mark.browser

# Fixtures from tests/browser.py, bound here so pytest finds them in this module.
browser = _browser.browser
live_server = _browser.live_server
live_stack = _browser.live_stack
mobile_page = _browser.mobile_page
desktop_page = _browser.desktop_page

HOSTILE = "<script>alert(1)</script><b>x</b>"


def wait_idle(page: Any, timeout: float = 30_000) -> None:
    """Until every message the resident sent has been answered (no eval: works under CSP)."""
    expect(page.locator("#log .msg.pending")).to_have_count(0, timeout=timeout)



# ── helpers ──────────────────────────────────────────────────────────────────


def open_chat(page: Any, live: LiveServer) -> None:
    dialogs: list[str] = []
    page.dialogs = dialogs
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(live.url + "/chat")
    page.wait_for_selector("#chat[data-ready=true]", timeout=15_000)


def tool(page: Any, name: Any) -> Any:
    """A button of the toolbar (talk to a person, language, back, stop)."""
    return page.get_by_role("navigation").get_by_role("button", name=name)


def state(page: Any) -> str:
    return page.get_attribute("#chat", "data-state") or ""


def choose(page: Any, choice_id: str) -> None:
    """Press a button of the current question and wait for the answer."""
    page.locator(f"#log .choices:not(.spent) button[data-choice-id='{choice_id}']").click()
    wait_idle(page)


def toggle(page: Any, choice_id: str) -> None:
    button = page.locator(f"#log .choices:not(.spent) button[data-choice-id='{choice_id}']")
    before = button.get_attribute("aria-pressed")
    button.click()
    assert button.get_attribute("aria-pressed") == ("false" if before == "true" else "true")


def type_and_send(page: Any, text: str) -> None:
    page.fill("#input", text)
    page.click("#send")
    wait_idle(page)
    assert page.input_value("#input") == ""


def wait_until(page: Any, condition: Any, timeout_ms: int = 15_000) -> None:
    """Let the page run (route handlers fire while Playwright waits) until condition() holds."""
    waited = 0
    while not condition():
        assert waited < timeout_ms, "timed out"
        page.wait_for_timeout(50)
        waited += 50


def session_of(page: Any) -> dict[str, Any]:
    stored = page.evaluate("JSON.parse(sessionStorage.getItem('madoguchi.webchat.v1'))")
    assert stored and stored["id"] and stored["token"]
    return stored


def transcript(live: LiveServer, session: dict[str, Any]) -> dict[str, Any]:
    r = httpx.get(
        f"{live.url}/api/webchat/sessions/{session['id']}/messages",
        headers={"Authorization": f"Bearer {session['token']}"},
    )
    assert r.status_code == 200, r.text
    return r.json()


def bubbles(page: Any, direction: str) -> list[str]:
    return page.locator(f"#log .msg-{direction} .bubble").all_text_contents()


def assert_no_errors(page: Any, expected: str | None = None) -> None:
    """No script errors, console errors or outside requests; `expected` excuses the browser's
    own reports of failures a test caused on purpose."""
    errors = [e for e in page.errors if not (expected and re.search(expected, e))]
    assert errors == [], errors
    assert page.dialogs == [], f"a dialog opened: {page.dialogs}"


def assert_log_is_text_only(page: Any) -> None:
    """Nothing in the conversation became markup: no element a resident could have injected."""
    injected = page.evaluate(
        "Array.from(document.querySelectorAll('#log script, #log b, #log img, #log iframe,"
        " #log style, #log [onerror], #log [onclick]')).length"
    )
    assert injected == 0


# ── the intake ───────────────────────────────────────────────────────────────


def test_japanese_intake_on_a_phone_with_reload_and_html(live_stack: LiveServer, mobile_page: Any) -> None:
    page = mobile_page
    open_chat(page, live_stack)
    assert page.evaluate("document.documentElement.lang") == "ja"
    assert page.title() == "くらしの相談チャット"
    assert state(page) == "consent_use"
    assert "相談は無料です" in page.inner_text("#log")
    page.screenshot(path=artifact("webchat-mobile-start.png"))

    choose(page, "agree")
    assert state(page) == "safety_check"
    choose(page, "none")
    assert state(page) == "for_whom"
    choose(page, "self")
    assert state(page) == "categories"
    # multi-select: buttons toggle with aria-pressed, `done` sends the set
    toggle(page, "debt")
    toggle(page, "job")
    toggle(page, "housing")
    toggle(page, "housing")  # changed my mind
    choose(page, "done")
    assert state(page) == "problem_detail"
    assert bubbles(page, "in")[-1] == "借金・滞納、仕事・就職"

    problem = f"{HOSTILE}\n派遣の契約が切れて、家賃が払えません 😢 𠮷野家も閉店"
    type_and_send(page, problem)
    assert state(page) == "age_band"
    # The resident's words are shown exactly as typed, as text.
    assert bubbles(page, "in")[-1] == problem
    assert_log_is_text_only(page)
    page.screenshot(path=artifact("webchat-mobile-html-as-text.png"))

    # Reload half-way: the same session resumes with its transcript and current question.
    session = session_of(page)
    page.reload()
    page.wait_for_selector("#chat[data-ready=true]")
    assert session_of(page)["id"] == session["id"]
    assert state(page) == "age_band"
    assert problem in bubbles(page, "in")
    assert_log_is_text_only(page)
    assert page.locator("#log .choices:not(.spent) button[data-choice-id='40s']").is_enabled()

    choose(page, "40s")
    choose(page, "麻布")
    choose(page, "alone")
    choose(page, "no")
    choose(page, "lives_here")
    assert state(page) == "name"
    type_and_send(page, "山田花子")
    choose(page, "phone")
    type_and_send(page, "090-1234-5678")
    choose(page, "afternoon")
    assert state(page) == "consent_share"
    choose(page, "yes")
    assert state(page) == "summary"
    summary = page.locator("#log .kind-summary .bubble").last.inner_text()
    assert "借金・滞納" in summary and "山田花子" in summary
    page.screenshot(path=artifact("webchat-mobile-summary.png"))
    choose(page, "confirm")

    assert state(page) == "handed_over"
    assert page.get_attribute("#chat", "data-status") == "waiting"
    case_id = page.get_attribute("#chat", "data-case-id")
    assert case_id and case_id.isdigit()
    assert re.search(r"受付番号 \d{4}-\d{6}", page.inner_text("#log"))
    assert page.is_visible("#status")
    assert "相談員につなぐ順番を待っています" in page.inner_text("#status")
    page.screenshot(path=artifact("webchat-mobile-handed-over.png"))

    # The server holds each resident message once (the reload re-sent nothing).
    t = transcript(live_stack, session)
    texts = [m["text"] for m in t["messages"] if m["direction"] == "in" and m["text"]]
    assert texts.count(problem) == 1
    assert texts.count("山田花子") == 1
    assert t["case_id"] == int(case_id)
    assert_no_errors(page)


def test_desktop_layout_and_keyboard_only(live_server: LiveServer, desktop_page: Any) -> None:
    page = desktop_page
    open_chat(page, live_server)

    # Labelled controls, found by their accessible names.
    log = page.get_by_role("log", name="会話")
    assert log.get_attribute("aria-live") == "polite"
    textbox = page.get_by_role("textbox", name="メッセージ")
    # no maxlength (a browser would cut a paste silently): the page counts against the server's limit
    assert textbox.get_attribute("maxlength") is None
    assert json.loads(page.locator("#page-config").text_content())["max_message_chars"] == 4000
    page.get_by_role("button", name="送信").wait_for()
    toolbar = page.get_by_role("navigation", name="操作")
    for name in ("相談員と話す", "言語", "戻る", "やめる"):
        assert toolbar.get_by_role("button", name=re.compile(name)).count() == 1

    def tab_to(choice_id: str) -> None:
        for _ in range(40):
            page.keyboard.press("Tab")
            focused = page.evaluate(
                "(() => { const e = document.activeElement; const s = getComputedStyle(e);"
                " return {id: e.getAttribute('data-choice-id'), style: s.outlineStyle,"
                " width: parseFloat(s.outlineWidth)}; })()"
            )
            if focused["id"] is not None:
                # every focused button shows a visible focus ring
                assert focused["style"] != "none" and focused["width"] >= 2, focused
            if focused["id"] == choice_id:
                return
        raise AssertionError(f"could not reach {choice_id!r} with Tab")

    tab_to("agree")
    page.keyboard.press("Enter")
    wait_idle(page)
    assert state(page) == "safety_check"
    # focus did not fall to <body> when the pressed button went away
    assert page.evaluate("document.activeElement !== document.body")
    tab_to("none")
    page.keyboard.press("Enter")
    wait_idle(page)
    tab_to("relative")
    page.keyboard.press("Enter")
    wait_idle(page)
    assert state(page) == "categories"
    tab_to("money")
    page.keyboard.press("Space")
    assert page.get_attribute("#log .choices:not(.spent) [data-choice-id=money]", "aria-pressed") == "true"
    tab_to("done")
    page.keyboard.press("Enter")
    wait_idle(page)
    assert state(page) == "problem_detail"

    # Typing: Enter sends on a desktop, Shift+Enter makes a new line.
    page.focus("#input")
    page.keyboard.type("母と二人で暮らしています。")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("仕事が見つかりません。")
    page.keyboard.press("Enter")
    wait_idle(page)
    assert bubbles(page, "in")[-1] == "母と二人で暮らしています。\n仕事が見つかりません。"
    assert state(page) == "age_band"

    # Enter that confirms a Japanese IME conversion must not send the half-typed text.
    cdp = page.context.new_cdp_session(page)
    page.focus("#input")
    cdp.send("Input.imeSetComposition", {"text": "そうだん", "selectionStart": 4, "selectionEnd": 4})
    sent_before = page.locator("#log .msg-in").count()
    page.keyboard.press("Enter")
    cdp.send("Input.insertText", {"text": "相談"})
    assert page.locator("#log .msg-in").count() == sent_before
    assert page.input_value("#input").startswith("相談")
    page.fill("#input", "")

    # Past the server's limit nothing is cut: the counter says by how much, Enter does not send.
    settings = live_server.extras["settings"]
    page.fill("#input", "あ" * (settings.max_message_chars + 100))
    assert len(page.input_value("#input")) == settings.max_message_chars + 100
    assert "100文字多すぎます" in page.inner_text("#counter")
    sent_before = page.locator("#log .msg-in").count()
    page.press("#input", "Enter")
    page.wait_for_selector("#error[data-error=err_too_long]")
    assert page.locator("#log .msg-in").count() == sent_before
    page.fill("#input", "")
    page.wait_for_selector("#error", state="hidden")
    page.screenshot(path=artifact("webchat-desktop.png"))
    assert_no_errors(page)


# img-src blob: (issue 16): the resident's own photo, shown from the file they picked
STRICT_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' blob:;"
    " base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def test_page_runs_under_a_strict_content_security_policy(tmp_path: Any, mobile_page: Any) -> None:
    """No inline script or style, no eval, nothing from elsewhere: the page keeps working when
    the server forbids all of it (so a browser would refuse an injected script outright)."""
    from madoguchi.app import create_app
    from tests.conftest import make_settings

    # The server itself sends the policy (madoguchi/app.py), so the test serves the app as is.
    app = create_app(make_settings(tmp_path, translation_enabled=False))

    page = mobile_page
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    with serve_app(app) as live:
        open_chat(page, live)
        page.wait_for_selector("#chat[data-live=open]")
        choose(page, "agree")
        choose(page, "none")
        assert state(page) == "for_whom"
        page.fill("#input", HOSTILE + "\n" * 5)  # typing grows the box (a script-set style)
        assert page.evaluate("document.querySelector('#input').style.height") != ""
        response = httpx.get(live.url + "/chat")
        assert response.headers["content-security-policy"] == STRICT_CSP
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert violations == []
    assert_no_errors(page)


# ── failures ─────────────────────────────────────────────────────────────────


def test_lost_answers_are_retried_without_losing_or_duplicating_text(live_server: LiveServer, mobile_page: Any) -> None:
    page = mobile_page
    open_chat(page, live_server)
    choose(page, "agree")
    choose(page, "none")
    choose(page, "self")
    toggle(page, "food")
    choose(page, "done")
    assert state(page) == "problem_detail"

    lost: list[int] = []

    def lose_the_answer(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        response = route.fetch()  # the server receives and processes the message…
        lost.append(response.status)
        route.abort("connectionreset")  # …but its answer never reaches the phone

    page.route("**/api/webchat/sessions/*/messages", lose_the_answer)
    text = "家賃が払えなくて困っています。\n助けてください <i>本当に</i>"
    page.fill("#input", text)
    page.click("#send")
    page.wait_for_selector("#error:not([hidden])")
    error = page.inner_text("#error")
    assert "書いた内容は消えていません" in error
    pending = page.locator("#log .msg-in.pending").last
    assert pending.locator(".bubble").text_content() == text
    page.wait_for_selector("#log .msg-in.unsent")
    page.screenshot(path=artifact("webchat-mobile-network-error.png"))
    assert lost and lost[0] == 200

    # The retry goes out again (same client_message_id); then the network comes back.
    page.click("#error-action")  # 今すぐ送る
    wait_until(page, lambda: len(lost) >= 2)
    page.unroute("**/api/webchat/sessions/*/messages")
    page.click("#error-action")
    wait_idle(page)
    page.wait_for_selector("#error", state="hidden")
    assert bubbles(page, "in")[-1] == text
    assert state(page) == "age_band"

    t = transcript(live_server, session_of(page))
    sent = [m for m in t["messages"] if m["direction"] == "in" and m["text"] == text]
    assert len(sent) == 1, "the retried message must be stored exactly once"
    # exactly one bot answer to it is shown, not one per attempt
    assert page.locator("#log .msg-out .bubble", has_text="年代を教えてください").count() == 1

    # Offline: the browser says so, keeps the text, and sends when back online.
    page.context.set_offline(True)
    page.fill("#input", "オフラインで書きました")
    page.click("#send")
    page.wait_for_selector("#error:not([hidden])")
    assert "インターネットにつながっていません" in page.inner_text("#error")
    page.context.set_offline(False)
    wait_idle(page, timeout=15_000)
    page.wait_for_selector("#error", state="hidden")
    assert "オフラインで書きました" in bubbles(page, "in")
    assert_no_errors(page, expected=r"Failed to load resource: net::ERR_(CONNECTION_RESET|INTERNET_DISCONNECTED)")


def test_refused_text_goes_back_into_the_box(live_server: LiveServer, mobile_page: Any) -> None:
    page = mobile_page
    open_chat(page, live_server)

    def refuse(route: Any) -> None:
        if route.request.method == "POST":
            route.fulfill(status=422, content_type="application/json", body='{"detail": "refused"}')
        else:
            route.continue_()

    page.route("**/api/webchat/sessions/*/messages", refuse)
    page.fill("#input", "戻ってくるはずの文")
    page.click("#send")
    page.wait_for_selector("#error:not([hidden])")
    assert "入力欄に戻しました" in page.inner_text("#error")
    assert page.input_value("#input") == "戻ってくるはずの文"
    assert page.locator("#log .msg-in").count() == 0
    # the question's buttons still work after the refusal
    page.unroute("**/api/webchat/sessions/*/messages")
    choose(page, "agree")
    assert state(page) == "safety_check"
    assert_no_errors(page, expected=r"status of 422")


def test_emergency_answer_is_marked_and_its_numbers_are_tappable(live_server: LiveServer, mobile_page: Any) -> None:
    page = mobile_page
    open_chat(page, live_server)
    choose(page, "agree")
    toggle(page, "no_shelter")
    choose(page, "done")
    emergency = page.locator("#log .msg.kind-emergency").last
    assert "泊まるところ" in emergency.inner_text()
    links = emergency.locator("a[href^='tel:']")
    assert links.count() >= 1
    href = links.first.get_attribute("href")
    assert re.fullmatch(r"tel:\+?[0-9]{3,15}", href or ""), href
    # the number's text is unchanged, only made tappable
    assert re.sub(r"[^0-9]", "", links.first.inner_text()) == href.removeprefix("tel:").lstrip("+")
    assert page.get_attribute("#chat", "data-status") == "waiting"
    assert_no_errors(page)


# ── toolbar and language ─────────────────────────────────────────────────────


def test_toolbar_language_human_back_and_stop(live_server: LiveServer, mobile_page: Any) -> None:
    page = mobile_page
    open_chat(page, live_server)
    assert state(page) == "consent_use"

    tool(page, re.compile("言語")).click()
    wait_idle(page)
    assert state(page) == "language"
    assert page.locator("#log .choices:not(.spent)[data-language-picker=true]").count() == 1
    page.screenshot(path=artifact("webchat-mobile-language-picker.png"))
    choose(page, "en")
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.inner_text("#send").strip() == "Send"
    assert page.title() == "Life consultation chat"
    assert state(page) == "consent_use"
    assert "agree" in page.inner_text("#log .choices:not(.spent)").lower()

    choose(page, "agree")
    assert state(page) == "safety_check"
    tool(page, re.compile("Back")).click()
    wait_idle(page)
    assert state(page) == "consent_use"

    tool(page, re.compile("Talk to a person")).click()
    wait_idle(page)
    assert page.get_attribute("#chat", "data-status") == "waiting"
    assert "Waiting for a counsellor" in page.inner_text("#status")
    # the question asked before is still answerable
    choose(page, "agree")
    assert state(page) == "safety_check"

    tool(page, re.compile("Language")).click()
    wait_idle(page)
    choose(page, "ja-easy")
    assert page.evaluate("document.documentElement.lang") == "ja"
    assert page.inner_text("#send").strip() == "おくる"
    page.screenshot(path=artifact("webchat-mobile-easy-japanese.png"))
    assert_no_errors(page)


def test_stop_before_consent_ends_and_a_new_chat_can_start(live_server: LiveServer, mobile_page: Any) -> None:
    page = mobile_page
    open_chat(page, live_server)
    first = session_of(page)
    tool(page, re.compile("やめる")).click()
    wait_idle(page)
    assert page.get_attribute("#chat", "data-status") == "closed"
    assert "入力された内容は消去しました" in page.inner_text("#log")
    assert page.locator("#log .choices:not(.spent)").count() == 0
    restart = page.get_by_role("button", name="新しく相談する")
    restart.wait_for()
    page.screenshot(path=artifact("webchat-mobile-stopped.png"))
    restart.click()
    page.wait_for_selector("#chat[data-ready=true]")
    expect(page.locator("#chat")).to_have_attribute("data-state", "consent_use")
    assert session_of(page)["id"] != first["id"]
    assert page.locator("#log .msg-in").count() == 0
    assert_no_errors(page)


# ── counsellor messages over the WebSocket ───────────────────────────────────


async def _counsellor_says(live: LiveServer, conversation_id: int, text: str, translation: str | None) -> int:
    """What the console will do (issue 6): store a counsellor message and publish it."""
    from casecore.db import transaction
    from casecore.models import Conversation, Message
    from handoff.hub import conversation_topic

    ctx = live.ctx
    async with transaction(ctx.sessions) as s:
        conv = await s.get(Conversation, conversation_id)
        assert conv is not None
        conv.status = "counsellor"
        m = Message(
            conversation_id=conversation_id, direction="out", sender="counsellor", channel="webchat",
            kind="text", text=text, language="ja", translation=translation,
            translation_language="en" if translation else None,
            translation_status="translated" if translation else None, created_at=datetime.now(UTC),
        )
        s.add(m)
        await s.flush()
        message_id = m.id
    await ctx.hub.publish(conversation_topic(conversation_id), {
        "type": "counsellor_message", "conversation_id": conversation_id, "message_id": message_id,
        "conversation_status": "counsellor",
    })
    return message_id


async def _counsellor_types(live: LiveServer, conversation_id: int) -> None:
    """What the console's POST …/typing publishes while the counsellor writes."""
    from handoff.hub import conversation_topic

    await live.ctx.hub.publish(conversation_topic(conversation_id), {
        "type": "typing", "conversation_id": conversation_id, "sender": "counsellor",
    })


def test_a_nepali_resident_sees_the_page_and_the_counsellor_typing_in_nepali(
    live_server: LiveServer, mobile_page: Any
) -> None:
    page = mobile_page
    open_chat(page, live_server)
    tool(page, re.compile("言語")).click()
    wait_idle(page)
    choose(page, "ne")
    expect(page.locator("html")).to_have_attribute("lang", "ne")
    expect(page.locator("#send")).to_have_text("पठाउनुहोस्")  # the page's own words, not English
    expect(tool(page, "परामर्शदातासँग कुरा गर्ने")).to_be_visible()
    page.wait_for_selector("#chat[data-live=open]")
    sid = int(session_of(page)["id"])
    expect(page.locator("#typing")).to_be_hidden()

    live_server.call(_counsellor_types(live_server, sid))
    expect(page.locator("#typing")).to_have_text("परामर्शदाता लेख्दै हुनुहुन्छ…")
    page.screenshot(path=artifact("webchat-mobile-counsellor-typing-ne.png"))
    # the message ends the indicator
    live_server.call(_counsellor_says(live_server, sid, "नमस्ते, म परामर्शदाता हुँ।", None))
    page.wait_for_selector("#log .from-counsellor")
    expect(page.locator("#typing")).to_be_hidden()
    # and without a message it goes away by itself a little after the counsellor stops
    live_server.call(_counsellor_types(live_server, sid))
    expect(page.locator("#typing")).to_be_visible()
    expect(page.locator("#typing")).to_be_hidden(timeout=10_000)
    assert_no_errors(page)


def test_counsellor_messages_arrive_live_and_after_a_dropped_socket(live_stack: LiveServer, desktop_page: Any) -> None:
    live_server = live_stack  # in-process hub on SQLite; Redis pub/sub on PostgreSQL + Redis
    page = desktop_page
    routes: list[Any] = []

    def relay(ws: Any) -> None:
        ws.connect_to_server()
        routes.append(ws)

    page.route_web_socket(re.compile(r"/api/webchat/sessions/\d+/ws"), relay)
    open_chat(page, live_server)
    page.wait_for_selector("#chat[data-live=open]")
    sid = int(session_of(page)["id"])

    live_server.call(_counsellor_says(live_server, sid, f"相談員の佐藤です。{HOSTILE}", None))
    page.wait_for_selector("#log .from-counsellor")
    first = page.locator("#log .from-counsellor").last
    assert first.locator(".bubble").text_content() == f"相談員の佐藤です。{HOSTILE}"
    assert first.locator(".who").text_content() == "相談員: "
    assert first.locator(".mt").count() == 0
    # the status push is a hint the page confirms with the server, so it may land a bit later
    expect(page.locator("#chat")).to_have_attribute("data-status", "counsellor")
    expect(page.locator("#status")).to_contain_text("相談員と話しています")
    assert_log_is_text_only(page)

    # The socket drops; a message sent meanwhile is fetched when it reconnects (once).
    assert len(routes) == 1
    routes[0].close(code=1012, reason="restart")
    page.wait_for_selector("#chat[data-live=closed]")
    live_server.call(_counsellor_says(live_server, sid, "お待たせしました。", "Thank you for waiting."))
    page.wait_for_selector("#chat[data-live=open]", timeout=15_000)
    assert len(routes) >= 2, "the page did not open a new socket"
    page.wait_for_selector("#log .from-counsellor >> nth=1")
    second = page.locator("#log .from-counsellor").nth(1)
    # the resident reads the translation, marked as machine translated
    assert second.locator(".bubble").text_content() == "Thank you for waiting."
    assert second.locator(".mt").text_content() == "機械翻訳"

    live_server.call(_counsellor_says(live_server, sid, "ご連絡ありがとうございます。", None))
    page.wait_for_selector("#log .from-counsellor >> nth=2")
    page.wait_for_timeout(300)
    assert page.locator("#log .from-counsellor").count() == 3
    page.screenshot(path=artifact("webchat-desktop-counsellor.png"))
    assert_no_errors(page)
