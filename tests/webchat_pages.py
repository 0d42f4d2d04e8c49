"""Helpers for browser tests of the web chat page in every language: open it as a browser of
that language would, answer questions, drive an intake to its summary, and measure that no
control runs off-screen or is cut."""

from __future__ import annotations

from typing import Any

from tests.browser import LiveServer

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips (or fails under MADOGUCHI_REQUIRE_ALL=1)
    expect = None  # type: ignore[assignment]

# catalog language -> the browser locale that brings it (ja-easy: the first screen's switch)
LOCALES = {
    "ja": "ja-JP", "ja-easy": "ja-JP", "en": "en-US", "zh-Hans": "zh-CN", "zh-Hant": "zh-TW",
    "ko": "ko-KR", "vi": "vi-VN", "tl": "fil-PH", "pt-BR": "pt-BR", "ne": "ne-NP",
    "id": "id-ID", "es": "es-ES", "th": "th-TH", "my": "my-MM",
}
# <html lang> the page sets per flow language (screen readers: ja-easy is Japanese, tl is fil)
HTML_LANG = {"ja-easy": "ja", "tl": "fil"}
PHONE = {"device_scale_factor": 2, "is_mobile": True, "has_touch": True}
ACTIVE = "#log .choices:not(.spent)"


def wait_idle(page: Any) -> None:
    """Nothing of the resident's is still on its way (a locator: the page's CSP forbids the
    eval that wait_for_function needs)."""
    expect(page.locator("#log .msg.pending")).to_have_count(0, timeout=30_000)


def open_chat(page: Any, live: LiveServer, lang: str) -> None:
    page.goto(live.url + "/chat")
    page.wait_for_selector("#chat[data-ready=true]", timeout=15_000)
    if lang == "ja-easy":
        page.locator("#easy-ja").click()
        wait_idle(page)
        expect(page.locator("#send")).to_have_text("おくる")
    expect(page.locator("html")).to_have_attribute("lang", HTML_LANG.get(lang, lang))


def choose(page: Any, choice_id: str) -> None:
    page.locator(f"{ACTIVE} button[data-choice-id='{choice_id}']").click()
    if page.locator(f"{ACTIVE} button[data-choice-id='{choice_id}'][aria-pressed]").count() == 0:
        wait_idle(page)


def active_ids(page: Any) -> list[str]:
    return page.locator(f"{ACTIVE} button").evaluate_all("bs => bs.map(b => b.getAttribute('data-choice-id'))")


def drive_to_summary(page: Any, problem: str = "Rent is three months late and I lost my job.",
                     *, consented: bool = False) -> None:
    """From the consent question (or, `consented`, the safety question) to the summary: no
    danger, two difficulties, the problem in words, every optional question skipped, this
    chat as the contact."""
    if not consented:
        choose(page, "agree")
    choose(page, "none")  # the safety question: nothing urgent
    for _ in range(30):
        state = page.get_attribute("#chat", "data-state")
        if state == "summary":
            return
        ids = active_ids(page)
        if state == "categories":
            choose(page, "debt")
            choose(page, "job")
            choose(page, "done")
        elif state == "problem_detail":
            page.fill("#input", problem)
            page.click("#send")
            wait_idle(page)
        elif "skip" in ids:
            choose(page, "skip")
        elif "this_channel" in ids:
            choose(page, "this_channel")
        elif ids:
            choose(page, ids[0])
        else:
            raise AssertionError(f"stuck at {state} with no choices")
    raise AssertionError("the summary never came")


# Every visible control's box, measured in the page.
MEASURE = """() => {
  const vw = document.documentElement.clientWidth;
  const sel = 'button, a, textarea, input, [role=button]';
  const conv = document.getElementById('conversation').getBoundingClientRect();
  const controls = Array.from(document.querySelectorAll(sel)).filter(c => {
    const r = c.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0 && getComputedStyle(c).visibility !== 'hidden')) return false;
    // in the conversation, only what is scrolled into its view
    return !c.closest('#conversation') || (r.bottom > conv.top && r.top < conv.bottom);
  });
  // nothing covers the header's words or another control (the quick-exit button is fixed)
  const words = Array.from(document.querySelectorAll('#title, .subtitle'));
  const meet = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const overlaps = [];
  const items = controls.concat(words);
  for (let i = 0; i < items.length; i++) for (let j = i + 1; j < items.length; j++) {
    const a = items[i], b = items[j];
    if (a.contains(b) || b.contains(a)) continue;
    if (meet(a.getBoundingClientRect(), b.getBoundingClientRect()))
      overlaps.push([(a.id || a.className || a.tagName), (b.id || b.className || b.tagName)]);
  }
  return {
    vw, scrollWidth: document.documentElement.scrollWidth, overlaps,
    boxes: controls.map(c => {
      const r = c.getBoundingClientRect();
      return {label: (c.innerText || c.getAttribute('aria-label') || c.id || c.tagName).trim().slice(0, 60),
              left: r.left, right: r.right, height: r.height, tag: c.tagName,
              clipped: c.tagName === 'BUTTON' && c.scrollWidth > c.clientWidth + 1};
    })
  };
}"""


def assert_controls_fit(page: Any, where: str) -> int:
    """No control runs off-screen or has its label cut; the page never scrolls sideways.
    Returns how many controls were measured."""
    m = page.evaluate(MEASURE)
    for box in m["boxes"]:
        at = f"{where}: {box}"
        assert box["left"] >= -0.5 and box["right"] <= m["vw"] + 0.5, f"runs off-screen: {at}"
        assert not box["clipped"], f"label cut inside the button: {at}"
    assert m["scrollWidth"] <= m["vw"], f"{where}: the page scrolls sideways"
    assert m["overlaps"] == [], f"{where}: one covers another: {m['overlaps']}"
    return len(m["boxes"])
