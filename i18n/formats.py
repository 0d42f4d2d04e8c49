"""How each catalog language writes a list and a date: one place for the dialog's messages
and the web chat page (which gets the separators in its data block).

Dates come from CLDR through Babel (month and weekday names, 12/24-hour clock, field order),
so "2026-12-02 08:30" becomes "Wed, Dec 2, 8:30 AM" in English and 「12月2日(水) 8:30」 in
Japanese. Easy Japanese spells the date out in hiragana, the way a beginner reads it."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from babel import Locale
from babel.dates import format_skeleton, format_time

# How chosen items are joined in a line. 「、」 is wrong outside Japanese and Chinese; Thai
# separates items with a space; Burmese has its own comma (၊).
_LIST_SEPARATORS = {"ja": "、", "ja-easy": "、", "zh-Hans": "、", "zh-Hant": "、", "th": " ", "my": "၊ "}
DEFAULT_LIST_SEPARATOR = ", "

# Catalog language -> CLDR locale, where the two differ.
_CLDR = {"tl": "fil", "ja-easy": "ja"}

_EASY_WEEKDAYS = ("げつようび", "かようび", "すいようび", "もくようび", "きんようび", "どようび", "にちようび")


def list_separator(language: str | None) -> str:
    return _LIST_SEPARATORS.get(language or "ja", DEFAULT_LIST_SEPARATOR)


def list_separators(languages: tuple[str, ...] | list[str]) -> dict[str, str]:
    return {lang: list_separator(lang) for lang in languages}


@cache
def _locale(language: str) -> Locale:
    code = _CLDR.get(language, language).replace("-", "_")
    try:
        return Locale.parse(code)
    except (ValueError, LookupError):  # an unknown code: the service's default language
        return Locale.parse("ja")


def _easy_minutes(minute: int) -> str:
    if minute == 0:
        return ""
    # 1, 3, 4, 6, 8 and 10 read ぷん (いっぷん, さんぷん …); 2, 5, 7, 9 read ふん.
    return f"{minute}{'ふん' if minute % 10 in (2, 5, 7, 9) else 'ぷん'}"


def format_easy_japanese(moment: datetime) -> str:
    """「12がつ 2にち（すいようび） ごぜん 8じ30ぷん」: numbers and hiragana only."""
    half = "ごぜん" if moment.hour < 12 else "ごご"
    hour = moment.hour % 12 or 12
    return (f"{moment.month}がつ {moment.day}にち（{_EASY_WEEKDAYS[moment.weekday()]}） "
            f"{half} {hour}じ{_easy_minutes(moment.minute)}")


def format_datetime_for(moment: datetime, language: str) -> str:
    """A day and time as the language writes it: weekday, month and day (the next opening is
    days away, never years), and the time in the language's clock. `moment` is already in the
    office's time zone; it is shown as it is."""
    if language == "ja-easy":
        return format_easy_japanese(moment)
    loc = _locale(language)
    day = format_skeleton("MMMEd", moment, locale=loc)
    time = format_time(moment, "short", locale=loc)
    pattern = str(loc.datetime_formats.get("medium", "{1} {0}"))
    # CLDR's narrow no-break space (8:30\u202fAM) is rare in phone fonts; a plain no-break
    # space keeps "8:30 AM" together just as well.
    return pattern.replace("{1}", day).replace("{0}", time).replace("\u202f", "\u00a0")
