"""Pure parts of the LINE/Telegram rendering: splitting, labels, numbers, language tags."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bots.common.language import hint_language
from bots.common.textsplit import split_text, truncate_utf16, utf16_len
from bots.line.render import (
    MAX_QUICK_REPLIES,
    choice_from_postback,
    number_answer,
    postback_data,
    render,
)
from dialogs.types import Choice, OutboundMessage

TEXTS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=400)


@settings(max_examples=300, deadline=None)
@given(TEXTS, st.integers(min_value=2, max_value=60))
def test_split_keeps_every_character_and_respects_the_limit(text: str, limit: int) -> None:
    chunks = split_text(text, limit)
    assert "".join(chunks) == text
    assert all(chunk and utf16_len(chunk) <= limit for chunk in chunks)


@settings(max_examples=200, deadline=None)
@given(TEXTS, st.integers(min_value=2, max_value=40))
def test_truncate_fits(text: str, limit: int) -> None:
    out = truncate_utf16(text, limit)
    assert utf16_len(out) <= limit
    assert out == text or out.endswith("…")


def test_split_prefers_sentence_and_line_boundaries() -> None:
    text = "一行目です。\n" + "あ" * 30 + "。" + "い" * 30
    chunks = split_text(text, 50)
    assert chunks[0].endswith(("\n", "。"))


def test_postback_round_trip_and_garbage() -> None:
    assert choice_from_postback(postback_data("single_parent")) == "single_parent"
    assert choice_from_postback("c:") is None
    assert choice_from_postback("other:agree") is None
    assert choice_from_postback("c:" + "x" * 65) is None


def test_number_answers() -> None:
    ids = ["a", "b", "c"]
    assert number_answer("2", ids) == "b"
    assert number_answer(" ３ ", ids) == "c"  # full-width digits from Japanese keyboards
    assert number_answer("2.", ids) == "b"
    assert number_answer("4", ids) is None
    assert number_answer("0", ids) is None
    assert number_answer("2人です", ids) is None
    assert number_answer("2", []) is None


def test_render_limits() -> None:
    thirteen = tuple(Choice(f"c{i}", f"とても長い選択肢のラベルその{i}番目です") for i in range(MAX_QUICK_REPLIES))
    out = render([OutboundMessage("質問", thirteen)], "ja")
    items = out.messages[-1]["quickReply"]["items"]
    assert len(items) == 13 and out.numbered == []
    assert all(utf16_len(i["action"]["label"]) <= 20 for i in items)
    fourteen = (*thirteen, Choice("done", "おわり"))
    out = render([OutboundMessage("質問", fourteen)], "en")
    assert "quickReply" not in out.messages[-1] and out.numbered[-1] == "done"
    assert "14. おわり" in out.messages[-1]["text"] and "number" in out.messages[-1]["text"]


def test_language_tags_map_to_catalog_codes() -> None:
    assert hint_language("zh-Hant-TW") == "zh-Hant"
    assert hint_language("zh-TW") == "zh-Hant"
    assert hint_language("zh-CN") == "zh-Hans"
    assert hint_language("pt-br") == "pt-BR"
    assert hint_language("en-US") == "en"
    assert hint_language("") is None and hint_language(None) is None


def test_machine_translated_messages_say_so() -> None:
    from i18n.catalog import catalog

    out = render([OutboundMessage("Xin chào", machine_translated=True)], "vi")
    assert out.messages[0]["text"].startswith("Xin chào") and catalog("vi").text("machine_translated") in out.messages[0]["text"]
    assert render([OutboundMessage("こんにちは")], "ja").messages[0]["text"] == "こんにちは"
