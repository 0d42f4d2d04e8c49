"""The web chat page's own words (buttons, notices, errors) exist for every catalog language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from i18n.catalog import available_languages

CHAT_JS = Path(__file__).parents[1] / "bots" / "webchat" / "static" / "chat.js"


def _tables() -> dict[str, set[str]]:
    source = CHAT_JS.read_text(encoding="utf-8")
    block = source[source.index("var STRINGS = {"): source.index("\n  };", source.index("var STRINGS = {"))]
    tables: dict[str, set[str]] = {}
    for m in re.finditer(r'^    "?([A-Za-z-]+)"?: \{(.*?)^    \}', block, re.S | re.M):
        tables[m.group(1)] = set(re.findall(r'(\w+): "', m.group(2)))
    return tables


TABLES = _tables()


@pytest.mark.parametrize("language", available_languages())
def test_every_catalog_language_has_the_page_words(language: str) -> None:
    # the page's lookup: the language itself, else its first part (pt-BR → pt, zh-Hans → zh)
    table = TABLES.get(language) or TABLES.get(language.split("-")[0])
    assert table is not None, f"{language} readers would see English buttons and errors"
    assert table == TABLES["en"], sorted(TABLES["en"] ^ table)


def test_traditional_chinese_readers_do_not_get_simplified() -> None:
    assert "zh-Hant" in TABLES
