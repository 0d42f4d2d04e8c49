"""The web chat page's own words (buttons, notices, errors) exist for every catalog language:
the `page` catalog namespace, which the server puts into chat.html."""

from __future__ import annotations

import pytest

from i18n.catalog import available_languages, catalog

EN = catalog("en", "page").texts


@pytest.mark.parametrize("language", available_languages())
def test_every_catalog_language_has_the_page_words(language: str) -> None:
    table = catalog(language, "page").texts
    assert table, f"{language} readers would see English buttons and errors"
    assert set(table) == set(EN), sorted(set(EN) ^ set(table))


def test_traditional_chinese_readers_do_not_get_simplified() -> None:
    assert catalog("zh-Hant", "page").text("title") != catalog("zh-Hans", "page").text("title")
