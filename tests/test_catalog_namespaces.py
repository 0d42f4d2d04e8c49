"""Every catalog namespace in every language it must exist in: the same keys as Japanese, the
same placeholders, no empty strings; one loader with one fallback rule; the pages get their
words from the server."""

from __future__ import annotations

import json
import re

import pytest

from bots.line.render import numbered_text
from dialogs.types import Choice
from handoff import canned
from i18n.catalog import (
    NAMESPACES,
    available_languages,
    catalog,
    fallback_chain,
    namespace_dir,
    placeholders,
)
from tests.conftest import Running

LANGUAGES = available_languages()  # the dialog's languages: every resident-facing namespace has them
RESIDENT_FACING = ("dialog", "email", "canned", "page", "channel", "security", "survey", "consent", "media",
                   "secure")
# The console is the counsellor's, in Japanese (DESIGN.md): its namespace has Japanese only,
# and any other file added is held to the same rules.
# ja and ja-easy spell the consent phrases of the mail out; other languages name the labels.
OPTIONAL_PLACEHOLDERS = {"email": {"agree", "decline"}}


def _files(namespace: str) -> list[str]:
    return [p.stem for p in sorted(namespace_dir(namespace).glob("*.yaml"))]


def test_namespaces_are_directories_beside_the_dialog_catalog() -> None:
    assert set(NAMESPACES) == {"dialog", *RESIDENT_FACING, "console", "casework"}
    for namespace in NAMESPACES:
        assert "ja" in _files(namespace), namespace


@pytest.mark.parametrize("namespace", RESIDENT_FACING)
def test_every_language_has_every_resident_facing_namespace(namespace: str) -> None:
    assert set(LANGUAGES) <= set(_files(namespace)), sorted(set(LANGUAGES) - set(_files(namespace)))


CASES = [(ns, lang) for ns in NAMESPACES if ns != "dialog" for lang in _files(ns) if lang != "ja"]


@pytest.mark.parametrize(("namespace", "language"), CASES)
def test_same_keys_and_placeholders_as_japanese_and_nothing_empty(namespace: str, language: str) -> None:
    ja = catalog("ja", namespace).texts
    theirs = catalog(language, namespace).texts
    assert set(theirs) == set(ja), {"missing": sorted(set(ja) - set(theirs)), "extra": sorted(set(theirs) - set(ja))}
    optional = OPTIONAL_PLACEHOLDERS.get(namespace, set())
    for key, text in theirs.items():
        assert isinstance(text, str) and text.strip(), (key, text)
        assert placeholders(text) - optional == placeholders(ja[key]) - optional, key


@pytest.mark.parametrize("namespace", [ns for ns in NAMESPACES if ns != "dialog"])
def test_japanese_has_no_empty_strings(namespace: str) -> None:
    for key, text in catalog("ja", namespace).texts.items():
        assert isinstance(text, str) and text.strip(), (namespace, key)


def test_one_fallback_rule_for_every_namespace() -> None:
    assert fallback_chain("ja") == ("ja",)
    assert fallback_chain("ja-easy") == ("ja-easy", "ja")
    assert fallback_chain("vi") == ("vi", "en", "ja")
    for namespace in NAMESPACES:
        chain = []
        cat = catalog("th", namespace)
        while cat is not None:
            chain.append(cat.language)
            cat = cat.fallback
        assert chain == ["th", "en", "ja"], namespace
    assert catalog("xx", "page").language == "ja"  # a language the service does not speak


def test_canned_replies_in_every_language_are_their_own() -> None:
    for language in LANGUAGES:
        reply = canned.reply("documents", language)
        assert reply.language == language, language  # written by people, no fallback
        assert reply.ja.startswith("来所のときは")
        text, lang, ja = canned.notice("out_of_hours_urgent", language, {"next_open": "X", "contacts": "☎"})
        assert lang == language and "☎" in text and "X" in text and ja.startswith("今は窓口の時間外です")


@pytest.mark.parametrize("language", LANGUAGES)
def test_line_numbered_list_hint_comes_from_the_catalog(language: str) -> None:
    choices = [Choice(f"c{i}", f"choice {i}") for i in range(14)]
    hint = catalog(language, "channel").text("numbered_hint")
    assert numbered_text(choices, language).endswith(hint) and "1" in hint


async def test_web_chat_page_carries_every_languages_words(running_sqlite: Running) -> None:
    r = await running_sqlite.client.get("/chat")
    assert r.status_code == 200 and "script-src 'self'" in r.headers["content-security-policy"]
    m = re.search(r'<script type="application/json" id="page-strings">(.*?)</script>', r.text, re.S)
    assert m is not None
    tables = json.loads(m.group(1))
    assert set(tables) == set(LANGUAGES)
    assert tables["vi"]["send"] == catalog("vi", "page").text("send")
    assert tables["zh-Hant"]["title"] != tables["zh-Hans"]["title"]
    assert "{n}" in tables["en"]["counter"]  # placeholders are the page's to fill
    r = await running_sqlite.client.get("/api/webchat/strings", params={"lang": "ne"})
    assert r.status_code == 200 and r.json()["language"] == "ne"
    assert r.json()["strings"] == tables["ne"]
    assert (await running_sqlite.client.get("/api/webchat/strings", params={"lang": "xx"})).json()["language"] == "ja"


async def test_console_page_carries_its_labels(running_sqlite: Running) -> None:
    r = await running_sqlite.client.get("/console")
    m = re.search(r'<script type="application/json" id="console-strings">(.*?)</script>', r.text, re.S)
    assert r.status_code == 200 and m is not None
    labels = json.loads(m.group(1))
    assert labels["status"]["waiting"] == "相談員待ち" and labels["language"]["zh-Hant"] == "中国語(繁体字)"
    assert (await running_sqlite.client.get("/api/console/strings")).json()["labels"] == labels


def test_pages_hold_no_word_tables_any_more() -> None:
    from pathlib import Path

    root = Path(__file__).parents[1]
    chat = (root / "bots/webchat/static/chat.js").read_text(encoding="utf-8")
    console = (root / "handoff/console/console.js").read_text(encoding="utf-8")
    assert "err_network:" not in chat and "くらしの相談チャット" not in chat
    assert "var LABELS = {" not in console and "ボット対応中" not in console


def test_the_survey_names_every_choice_in_every_language() -> None:
    from dialogs.survey import ANSWERS, survey_invitation, survey_questions

    ja = catalog("ja", "survey").choices
    for language in LANGUAGES:
        theirs = catalog(language, "survey").choices
        assert set(theirs) == set(ja), language
        assert all(v.strip() and len(v) <= 20 for v in theirs.values()), language  # LINE's quick reply limit
        invite = survey_invitation(language)
        assert invite.text == catalog(language, "survey").texts["invite"]
        assert [c.id for c in invite.choices] == ["survey_answer", "survey_skip"]
        assert [c.id for c in survey_questions(language)[0].choices] == list(ANSWERS)
