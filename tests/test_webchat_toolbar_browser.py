"""The web chat's toolbar (talk to a person, language, back, stop) on narrow phones in every
catalog language: no control may run off-screen at 320, 360 or 390 px (issue 18: Back and
Stop ran off a 360 px screen in vi, my, id, es, pt-BR and tl). And Traditional Chinese
residents get the page's own words in Traditional Chinese, not Simplified.

Screenshots: test-artifacts/webchat-toolbar-<lang>-<width>.png (look at a few)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests import browser as _browser
from tests.browser import LiveServer, artifact, new_page

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails under MADOGUCHI_REQUIRE_ALL=1)
    expect = None  # type: ignore[assignment]

pytestmark = pytest.mark.browser

browser = _browser.browser
live_server = _browser.live_server

WIDTHS = (320, 360, 390)
# catalog language -> the browser locale that brings it (ja-easy is chosen in the chat)
LOCALES = {
    "ja": "ja-JP", "ja-easy": "ja-JP", "en": "en-US", "zh-Hans": "zh-CN", "zh-Hant": "zh-TW",
    "ko": "ko-KR", "vi": "vi-VN", "tl": "fil-PH", "pt-BR": "pt-BR", "ne": "ne-NP",
    "id": "id-ID", "es": "es-ES", "th": "th-TH", "my": "my-MM",
}
PHONE = {"device_scale_factor": 2, "is_mobile": True, "has_touch": True}
# <html lang> the page sets per flow language (screen readers: ja-easy is Japanese, tl is fil)
HTML_LANG = {"ja-easy": "ja", "tl": "fil"}

# What each control's bounding box must satisfy, measured in the page.
MEASURE = """() => {
  const vw = document.documentElement.clientWidth;
  const controls = Array.from(document.querySelectorAll('#toolbar button'));
  return {
    vw, scrollWidth: document.documentElement.scrollWidth,
    boxes: controls.map(b => {
      const r = b.getBoundingClientRect();
      return {label: b.innerText.trim(), left: r.left, right: r.right, width: r.width,
              height: r.height, visible: r.width > 0 && r.height > 0,
              clipped: b.scrollWidth > b.clientWidth + 1};
    })
  };
}"""


def open_in(page: Any, live: LiveServer, lang: str) -> None:
    page.goto(live.url + "/chat")
    page.wait_for_selector("#chat[data-ready=true]", timeout=15_000)
    if lang == "ja-easy":  # no browser locale means Easy Japanese: the resident picks it
        page.get_by_role("navigation").get_by_role("button", name=re.compile("言語")).click()
        expect(page.locator("#log .msg.pending")).to_have_count(0, timeout=30_000)
        page.locator("#log .choices:not(.spent) button[data-choice-id='ja-easy']").click()
        expect(page.locator("#log .msg.pending")).to_have_count(0, timeout=30_000)
        expect(page.locator("#send")).to_have_text("おくる")
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG.get(lang, lang))


def assert_toolbar_fits(page: Any, lang: str, width: int) -> None:
    m = page.evaluate(MEASURE)
    assert m["vw"] == width
    assert len(m["boxes"]) == 5  # human, lang, back, stop, withdraw (issue 12)
    for box in m["boxes"]:
        where = f"{lang} at {width}px: {box['label']!r} {box}"
        assert box["visible"], where
        assert box["left"] >= 0 and box["right"] <= m["vw"] + 0.5, f"runs off-screen: {where}"
        assert not box["clipped"], f"text cut inside the button: {where}"
        assert box["height"] >= 44 - 0.5, f"touch target under 44 px: {where}"  # WCAG 2.5.5 / 2.5.8
    assert m["scrollWidth"] <= m["vw"], f"{lang} at {width}px: the page scrolls sideways"


@pytest.mark.parametrize("lang", list(LOCALES))
def test_toolbar_fits_narrow_phones(live_server: LiveServer, browser: Any, lang: str) -> None:
    page = new_page(browser, locale=LOCALES[lang], viewport={"width": WIDTHS[0], "height": 700}, **PHONE)
    try:
        open_in(page, live_server, lang)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 700})
            assert_toolbar_fits(page, lang, width)
            bar = page.locator("#toolbar").bounding_box()  # the header and the toolbar
            page.screenshot(path=artifact(f"webchat-toolbar-{lang}-{width}.png"),
                            clip={"x": 0, "y": 0, "width": width, "height": bar["y"] + bar["height"] + 4})
        # every control still works where it wrapped to: the toolbar's Back is pressable
        page.set_viewport_size({"width": 320, "height": 700})
        page.locator("#toolbar button[data-command=back]").click(trial=True)
        assert [e for e in page.errors] == []
    finally:
        page.context.close()


def test_traditional_chinese_gets_traditional_page_text(live_server: LiveServer, browser: Any) -> None:
    page = new_page(browser, locale="zh-TW", viewport={"width": 390, "height": 800}, **PHONE)
    try:
        open_in(page, live_server, "zh-Hant")
        expect(page.locator("#title")).to_have_text("生活諮詢聊天")  # Simplified: 生活咨询聊天
        assert page.title() == "生活諮詢聊天"
        expect(page.locator("#send")).not_to_have_text("发送")
        toolbar = page.inner_text("#toolbar")
        assert "與諮詢員交談" in toolbar and "与咨询员交谈" not in toolbar
        stored = page.evaluate("JSON.parse(sessionStorage.getItem('madoguchi.webchat.v1'))")
        page.reload()  # the stored language keeps Traditional after a reload
        page.wait_for_selector("#chat[data-ready=true]", timeout=15_000)
        expect(page.locator("#title")).to_have_text("生活諮詢聊天")
        assert stored["lang"].lower() == "zh-hant"
        page.screenshot(path=artifact("webchat-zh-Hant-start.png"))
        assert page.errors == []
    finally:
        page.context.close()
