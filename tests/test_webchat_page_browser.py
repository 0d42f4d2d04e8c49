"""The resident page right in every language (issue 18): a selected choice stays readable on
a touch screen, a Japanese browser gets Easy Japanese in one tap, the resident's bubble joins
chosen items the language's way, and a long paste is told before anything is cut.

Real Chromium against the real app (tests/browser.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from i18n.catalog import catalog
from i18n.formats import list_separator
from tests import browser as _browser
from tests.browser import DESKTOP, LiveServer, artifact, new_page
from tests.webchat_pages import ACTIVE, LOCALES, PHONE, choose, expect, open_chat, wait_idle

pytestmark = pytest.mark.browser

browser = _browser.browser
live_server = _browser.live_server

# WCAG contrast of a button's text on its own background, as the browser paints it.
CONTRAST = """async b => {
  await Promise.all(b.getAnimations().map(a => a.finished));  // the colour's short transition
  const rgb = s => s.match(/[0-9.]+/g).slice(0, 3).map(Number);
  const lum = c => { const [r, g, b] = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
                     return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const st = getComputedStyle(b);
  const a = lum(rgb(st.color)), c = lum(rgb(st.backgroundColor));
  return {ratio: (Math.max(a, c) + 0.05) / (Math.min(a, c) + 0.05), color: st.color, bg: st.backgroundColor,
          hoverable: matchMedia('(hover: hover)').matches};
}"""


def test_a_selected_choice_stays_readable_on_touch_and_with_a_mouse(live_server: LiveServer, browser: Any) -> None:
    for scheme in ("light", "dark"):
        touch = new_page(browser, viewport={"width": 360, "height": 740}, color_scheme=scheme, **PHONE)
        mouse = new_page(browser, color_scheme=scheme, **DESKTOP)
        try:
            for page, how in ((touch, "touch"), (mouse, "mouse")):
                open_chat(page, live_server, "ja")
                choose(page, "agree")
                pick = page.locator(f"{ACTIVE} button[data-choice-id='no_food']")
                if how == "touch":
                    pick.tap()  # the finger stays "hovering" on the button just tapped
                else:
                    pick.click()
                    pick.hover()
                expect(pick).to_have_attribute("aria-pressed", "true")
                seen = pick.evaluate(CONTRAST)
                assert seen["ratio"] >= 4.5, f"{scheme}/{how}: selected text {seen}"
                if how == "touch":
                    assert seen["hoverable"] is False, "the phone context should not report hover"
                    page.screenshot(path=artifact(f"webchat-selected-touch-{scheme}.png"))
                # unselected again: back to the outline style, still readable under the pointer
                pick.tap() if how == "touch" else pick.click()
                expect(pick).to_have_attribute("aria-pressed", "false")
                assert pick.evaluate(CONTRAST)["ratio"] >= 4.5
                # the answer on its way (a single choice, disabled while it travels) is marked too
                assert page.errors == []
        finally:
            touch.context.close()
            mouse.context.close()


def test_a_japanese_browser_gets_easy_japanese_in_one_tap(live_server: LiveServer, browser: Any) -> None:
    page = new_page(browser, locale="ja-JP", viewport={"width": 320, "height": 700}, **PHONE)
    english = new_page(browser, locale="en-US", viewport={"width": 320, "height": 700}, **PHONE)
    try:
        page.goto(live_server.url + "/chat")
        page.wait_for_selector("#chat[data-ready=true]", timeout=15_000)
        switch = page.locator("#easy-ja")
        expect(switch).to_be_visible()
        expect(switch).to_have_text("やさしい にほんご")
        assert switch.bounding_box()["height"] >= 44
        page.screenshot(path=artifact("webchat-easy-ja-switch-320.png"))
        switch.tap()
        wait_idle(page)
        expect(page.locator("#send")).to_have_text("おくる")
        easy = catalog("ja-easy")
        last = page.locator("#log .msg-out .bubble").last
        expect(last).to_contain_text(easy.text("consent.use.text")[:12])
        expect(switch).to_be_hidden()
        # one tap: no bubble of the resident's, and the consent buttons are in Easy Japanese
        expect(page.locator("#log .msg-in")).to_have_count(0)
        expect(page.locator(f"{ACTIVE} button[data-choice-id='agree']")).to_have_text(easy.label("agree"))
        page.reload()  # it stays Easy Japanese, and the switch does not come back
        page.wait_for_selector("#chat[data-ready=true]", timeout=15_000)
        expect(page.locator("#send")).to_have_text("おくる")
        expect(switch).to_be_hidden()
        # an English browser is asked nothing about Japanese
        english.goto(live_server.url + "/chat")
        english.wait_for_selector("#chat[data-ready=true]", timeout=15_000)
        expect(english.locator("#easy-ja")).to_be_hidden()
        # and a Japanese resident who answers in ordinary Japanese no longer sees the switch
        fresh = new_page(browser, locale="ja-JP", **PHONE)
        try:
            open_chat(fresh, live_server, "ja")
            choose(fresh, "agree")
            expect(fresh.locator("#easy-ja")).to_be_hidden()
        finally:
            fresh.context.close()
        assert page.errors == [] and english.errors == []
    finally:
        page.context.close()
        english.context.close()


def test_the_residents_bubble_joins_choices_the_languages_way(live_server: LiveServer, browser: Any) -> None:
    for lang, locale in LOCALES.items():
        page = new_page(browser, locale=locale, viewport={"width": 390, "height": 800}, **PHONE)
        try:
            open_chat(page, live_server, lang)
            choose(page, "agree")
            choose(page, "no_shelter")
            choose(page, "no_food")
            choose(page, "done")
            cat = catalog(lang)
            want = list_separator(lang).join([cat.label("no_shelter"), cat.label("no_food")])
            bubble = page.locator("#log .msg-in .bubble").last.inner_text()
            assert bubble == want, (lang, bubble, want)
            if lang not in ("ja", "ja-easy", "zh-Hans", "zh-Hant"):
                assert "、" not in bubble, lang
            assert page.errors == [], lang
        finally:
            page.context.close()


def test_a_long_paste_is_told_before_it_is_cut(live_server: LiveServer, browser: Any) -> None:
    limit = live_server.extras["settings"].max_message_chars
    page = new_page(browser, locale="en-US", viewport={"width": 360, "height": 740}, **PHONE)
    try:
        open_chat(page, live_server, "en")
        config = json.loads(page.locator("#page-config").text_content())
        assert config["max_message_chars"] == limit
        choose(page, "agree")
        choose(page, "none")
        choose(page, "self")
        choose(page, "debt")
        choose(page, "done")
        assert page.get_attribute("#chat", "data-state") == "problem_detail"
        pasted = "I can not pay my rent. " * (limit // 23 + 50)  # a 5,000-character paste
        over = len(pasted) - limit
        assert over > 0
        page.fill("#input", pasted)
        assert len(page.input_value("#input")) == len(pasted), "the browser cut the paste silently"
        en = catalog("en", "page")
        counter = page.locator("#counter")
        expect(counter).to_have_text(en.text("counter_over", n=over, max=limit))
        expect(page.locator("#input")).to_have_attribute("aria-invalid", "true")
        page.screenshot(path=artifact("webchat-long-paste-360.png"))
        page.click("#send")
        # not sent, not cut: told in the resident's language, the text still in the box
        expect(page.locator("#error")).to_have_attribute("data-error", "err_too_long")
        expect(page.locator("#error-text")).to_have_text(en.text("err_too_long", max=limit))
        expect(page.locator("#log .msg-in .bubble")).to_have_count(4)  # the four answers above
        assert len(page.input_value("#input")) == len(pasted)
        # cut down to the limit, it goes (and the warning goes with the excess)
        page.fill("#input", pasted[: limit - 10])
        expect(counter).to_have_text(en.text("counter", n=10))
        expect(page.locator("#error")).to_be_hidden()
        page.click("#send")
        wait_idle(page)
        expect(page.locator("#log .msg-in .bubble").last).to_have_text(pasted[: limit - 10])
        assert page.get_attribute("#chat", "data-state") != "problem_detail"
        # the server did not have to cut it: no "message was cut" notice
        cut = catalog("en").text("message.cut", limit=limit)
        expect(page.locator("#log .msg-out .bubble", has_text=cut[:30])).to_have_count(0)
        assert page.errors == []
    finally:
        page.context.close()


def test_a_long_paste_is_told_in_the_residents_language(live_server: LiveServer, browser: Any) -> None:
    limit = live_server.extras["settings"].max_message_chars
    for lang in ("ja", "ja-easy", "th", "my"):
        page = new_page(browser, locale=LOCALES[lang], viewport={"width": 320, "height": 700}, **PHONE)
        try:
            open_chat(page, live_server, lang)
            page.fill("#input", "あ" * (limit + 7))
            expect(page.locator("#counter")).to_have_text(catalog(lang, "page").text("counter_over", n=7, max=limit))
            page.click("#send")
            expect(page.locator("#error-text")).to_have_text(catalog(lang, "page").text("err_too_long", max=limit))
        finally:
            page.context.close()
