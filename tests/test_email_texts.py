"""The words only email needs exist in every catalog language and ask for the right labels."""

from __future__ import annotations

import pytest

from bots.email.texts import NAMESPACE, email_text, for_email, languages
from i18n.catalog import available_languages, catalog, placeholders

KEYS = sorted(catalog("en", NAMESPACE).texts)


def test_every_catalog_language_has_its_own_email_texts() -> None:
    assert set(available_languages()) <= set(languages()), sorted(set(available_languages()) - set(languages()))


@pytest.mark.parametrize("language", available_languages())
def test_email_texts_keep_the_english_placeholders(language: str) -> None:
    texts = {lang: catalog(lang, NAMESPACE).texts for lang in ("en", language)}
    assert set(texts[language]) == set(KEYS)
    for key in KEYS:
        theirs, english = texts[language][key], texts["en"][key]
        assert theirs.strip(), (language, key)
        # ja and ja-easy spell the consent phrases out; every other language names the labels
        expected = placeholders(english) - ({"agree", "decline"} if language.startswith("ja") else set())
        assert placeholders(theirs) == expected, (language, key)


@pytest.mark.parametrize("language", [lang for lang in available_languages() if not lang.startswith("ja")])
def test_the_form_asks_for_the_labels_of_the_residents_language(language: str) -> None:
    cat = catalog(language)
    for key in ("form_consent", "not_consented_yet"):
        text = email_text(language, key)
        assert cat.label("agree") in text and cat.label("decline") in text, (language, key, text)
        assert "{" not in text


def test_an_unknown_language_gets_english_with_english_labels() -> None:
    text = email_text("xx", "form_consent")
    assert '"I agree"' in text and "同意" not in text


@pytest.mark.parametrize("language", available_languages())
def test_chat_becomes_mail_in_each_language(language: str) -> None:
    label = catalog(language).label("this_channel")  # "this chat", in every catalog
    assert for_email(label, language) != label, language


def _form_prompts() -> list[tuple[str, str]]:
    from bots.email.answers import FORM
    from dialogs.flow import load_flow

    flow = load_flow("intake")
    keys = [node.prompt for q in FORM if (node := flow.node_for(q.role)) is not None and node.prompt]
    return [(lang, key) for lang in available_languages() for key in keys]


@pytest.mark.parametrize(("language", "key"), _form_prompts())
def test_the_mail_form_drops_only_the_chat_button_talk(language: str, key: str) -> None:
    from bots.email.intake import _without_button_talk

    cat = catalog(language)
    original = cat.text(key)
    kept = _without_button_talk(original, language)
    assert kept.strip(), (language, key)
    for button in (cat.label("done"), cat.label("skip")):
        assert button not in kept, (language, key, kept)  # no "press Done/Skip" left in a mail
    # only cut, never rewritten: what is kept is the original's text in its order
    rest = iter(original)
    assert all(ch in rest for ch in kept), (language, key, kept)


def test_sentences_keep_their_spacing() -> None:
    from bots.email.intake import _without_button_talk

    assert _without_button_talk(catalog("en").text("safety.ask"), "en") == (
        'First, we need to check: is any of the following true for you right now? If none apply, choose "None".')
    assert _without_button_talk(catalog("ja").text("problem.ask"), "ja") == (
        "今の状況やお困りのことを、あなたの言葉で自由に書いてください。短くても大丈夫です。")
