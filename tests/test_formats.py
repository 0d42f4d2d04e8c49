"""Lists, dates and the summary in each language's own form (issue 18): English showed
"2026-12-02 08:30", every language joined items with 「、」, and the summary's
「今の安全: (なし)」 read as "no safety"."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dialogs.engine import (
    DialogContext,
    DialogInput,
    format_when,
    handed_over_message,
    separator,
    step,
)
from dialogs.profile import ProfileRegistry
from i18n.catalog import available_languages, catalog
from i18n.formats import format_easy_japanese, list_separator

TOKYO = ZoneInfo("Asia/Tokyo")
MORNING = datetime(2026, 12, 2, 8, 30, tzinfo=TOKYO)  # a Wednesday
AFTERNOON = datetime(2026, 12, 7, 13, 15, tzinfo=TOKYO)  # a Monday

# Each language's form of Wednesday 2 December, 8:30 (CLDR through Babel; ja-easy in kana).
DATES = {
    "ja": "12月2日(水) 8:30",
    "ja-easy": "12がつ 2にち（すいようび） ごぜん 8じ30ぷん",
    "en": "Wed, Dec 2, 8:30 AM",
    "zh-Hans": "12月2日周三 08:30",
    "zh-Hant": "12月2日週三 上午8:30",
    "ko": "12월 2일 (수) 오전 8:30",
    "vi": "08:30 Thứ 4, 2 thg 12",
    "tl": "Miy, Dis 2, 8:30 AM",
    "pt-BR": "qua., 2 de dez. 08:30",
    "ne": "डिसेम्बर 2, बुध, 08:30",
    "id": "Rab, 2 Des 08.30",
    "es": "mié, 2 dic, 8:30",
    "th": "พุธ 2 ธ.ค. 08:30 น.",
    "my": "ဒီ 2၊ ဗုဒ္ဓဟူး 8:30",
}
SEPARATORS = {
    "ja": "、", "ja-easy": "、", "zh-Hans": "、", "zh-Hant": "、", "th": " ", "my": "၊ ",
    "en": ", ", "tl": ", ", "pt-BR": ", ", "es": ", ", "id": ", ", "vi": ", ", "ko": ", ", "ne": ", ",
}


def test_every_catalog_language_has_a_date_and_a_separator_here() -> None:
    assert set(DATES) == set(available_languages()) == set(SEPARATORS)


def _plain(text: str) -> str:
    return text.replace("\u00a0", " ")


@pytest.mark.parametrize("lang", list(DATES))
def test_dates_in_each_languages_form(lang: str) -> None:
    assert _plain(format_when(MORNING, lang)) == DATES[lang]
    assert "\u202f" not in format_when(MORNING, lang)
    assert "2026-12-02" not in format_when(MORNING, lang)


def test_easy_japanese_reads_minutes_and_afternoon_right() -> None:
    assert format_easy_japanese(AFTERNOON) == "12がつ 7にち（げつようび） ごご 1じ15ふん"
    assert format_easy_japanese(datetime(2026, 12, 3, 9, 0, tzinfo=TOKYO)) == "12がつ 3にち（もくようび） ごぜん 9じ"
    assert format_easy_japanese(datetime(2026, 12, 3, 12, 1, tzinfo=TOKYO)).endswith("ごご 12じ1ぷん")
    assert format_easy_japanese(datetime(2026, 12, 3, 17, 45, tzinfo=TOKYO)).endswith("ごご 5じ45ふん")


def test_english_uses_a_twelve_hour_clock_in_the_afternoon() -> None:
    assert _plain(format_when(AFTERNOON, "en")) == "Mon, Dec 7, 1:15 PM"
    assert format_when(AFTERNOON, "ja") == "12月7日(月) 13:15"


@pytest.mark.parametrize("lang", list(SEPARATORS))
def test_list_separator_per_language(lang: str) -> None:
    assert separator(lang) == list_separator(lang) == SEPARATORS[lang]


def test_the_out_of_hours_answer_says_the_next_opening_in_the_residents_form() -> None:
    profile = ProfileRegistry.load("minato-tokyo").default
    closed = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # Tuesday 23:00 in Tokyo
    assert "Wed, Nov 25, 8:30 AM" in _plain(handed_over_message(profile, "en", "2026-000001", False, closed).text)
    assert "11がつ 25にち（すいようび） ごぜん 8じ30ぷん" in handed_over_message(
        profile, "ja-easy", "2026-000001", False, closed).text


# ── the summary ──────────────────────────────────────────────────────────────

PROFILE = ProfileRegistry.load("minato-tokyo").default
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def _to_summary(lang: str, safety: list[str]) -> tuple[str, str | None]:
    """An intake in `lang` to its summary: the given safety answers (none at all: "none"),
    two categories, every optional question skipped. Returns the summary and the bubble
    that named the two categories."""
    inputs = [DialogInput(kind="follow", language_hint=lang), DialogInput(choice="agree")]
    inputs += [DialogInput(choice=c) for c in safety] + [DialogInput(choice="done" if safety else "none")]
    inputs += [DialogInput(choice="skip"), DialogInput(choice="debt"), DialogInput(choice="job")]
    selected = len(inputs) - 1
    inputs += [DialogInput(choice="done")]
    state, summary, bubble = None, None, None
    offered: list[str] = []
    ctx = DialogContext(profile=PROFILE, now=NOW)
    for i in range(40):
        if i < len(inputs):
            inp = inputs[i]
        else:  # skip what may be skipped; answer the rest with their first choice
            inp = DialogInput(choice="skip" if "skip" in offered else offered[0])
        res = step(state, inp, ctx)
        state = res.state
        offered = [c.id for c in res.messages[-1].choices]
        if i == selected:
            bubble = res.messages[-1].text
        for m in res.messages:
            if m.kind == "summary":
                summary = m.text
        if summary:
            break
    assert summary is not None, f"{lang}: no summary reached (at {state.node})"
    return summary, bubble


def _line(summary: str, lang: str, field: str) -> str:
    label = catalog(lang).text(f"summary.field.{field}")
    (line,) = [x for x in summary.splitlines() if label in x]
    return line


@pytest.mark.parametrize("lang", list(DATES))
def test_summary_says_no_urgent_worry_rather_than_no_safety(lang: str) -> None:
    cat = catalog(lang)
    summary, bubble = _to_summary(lang, [])
    safety = _line(summary, lang, "safety")
    assert safety.endswith(cat.text("summary.safety_none")), safety
    assert cat.text("summary.none") not in safety
    assert _line(summary, lang, "for_whom").endswith(cat.text("summary.skipped"))
    # the categories are joined the language's way, in the summary and in the bubble
    both = SEPARATORS[lang].join([cat.label("debt"), cat.label("job")])
    assert _line(summary, lang, "categories").endswith(both)
    assert bubble is not None and both in bubble
    if SEPARATORS[lang] != "、":
        assert "、" not in summary


def test_summary_names_what_was_chosen_at_the_safety_question() -> None:
    summary, _ = _to_summary("en", ["no_food", "medical"])
    assert _line(summary, "en", "safety") == f"■ Urgent worries now: {catalog('en').label('no_food')}, {catalog('en').label('medical')}"
    ja, _ = _to_summary("ja", [])
    assert "■ 今すぐ心配なこと: とくにない と回答" in ja and "今の安全" not in ja
