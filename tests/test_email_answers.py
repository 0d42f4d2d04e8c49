"""Reading a free-form reply: consent, the Qn form lines, keywords."""

from __future__ import annotations

import pytest

from bots.email.answers import keywords, match_choices, read_answers
from i18n.catalog import catalog

CATEGORIES = ["money", "debt", "job", "housing", "homeless", "food", "health", "family", "children",
              "single_parent", "isolation", "welfare", "other"]


def labelled(ids: list[str]) -> list[tuple[str, list[str]]]:
    return [(c, [catalog(lang).label(c) for lang in ("ja", "en")]) for c in ids]


@pytest.mark.parametrize(
    ("text", "consent"),
    [
        ("同意します。よろしくお願いします。", "agree"),
        ("同意いたします", "agree"),
        ("どうい します", "agree"),
        ("I agree.", "agree"),
        ("同意しません", "decline"),
        ("やはり同意できません。", "decline"),
        ("I don't agree", "decline"),
        ("同意書は前に出しました。家賃の相談です。", None),  # the word alone is not consent
        ("Thanks, we agreed on the rent already", None),
        ("", None),
    ],
)
def test_consent_is_read_only_when_explicit(text: str, consent: str | None) -> None:
    assert read_answers(text, text).consent == consent


def test_form_lines_in_many_spellings() -> None:
    new = "同意します\nＱ３：２、５\nq5: 30代\n質問10：さとう\nQ4: 去年から\n失業しています\n\nありがとう"
    ans = read_answers(new, new)
    assert ans.form == {"categories": "２、５", "age_band": "30代", "name": "さとう",
                        "problem": "去年から\n失業しています"}
    assert ans.problem_text.startswith("去年から\n失業しています")
    assert "Q" not in ans.problem_text and "同意します" not in ans.problem_text
    assert "ありがとう" in ans.problem_text  # free text is never thrown away


def test_form_filled_inside_the_quote_and_placeholders_ignored() -> None:
    body = "同意します\n\n> Q2: 家族\n> Q5: （ここに回答）\n> Q6: (ここに回答)\n> Q7. 一緒に暮らしている人はいますか。"
    ans = read_answers("同意します", body)
    assert ans.form == {"for_whom": "家族"}


def test_keywords_in_japanese_and_english() -> None:
    assert keywords("派遣を切られて家賃が払えない。今日食べるものがない")[0] == ["job", "housing", "food"]
    assert keywords("今夜泊まるところがない")[1] == ["no_shelter"]  # the shared risk screen
    assert keywords("I lost my job and cannot pay the rent") == (["job", "housing"], [])
    assert keywords("息子が10年ひきこもっています")[0] == ["isolation"]
    assert read_answers("息子が心配です", "").for_whom == "relative"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2, 5", ["debt", "homeless"]),
        ("２、５", ["debt", "homeless"]),
        ("借金・滞納", ["debt"]),  # a whole label with a separator inside
        ("家賃", ["housing"]),  # part of one label
        ("rent 3", ["job"]),  # "rent" is in no English label alone: only 3 is read
        ("99", []),
        ("", []),
    ],
)
def test_match_choices_multi(value: str, expected: list[str]) -> None:
    assert match_choices(value, labelled(CATEGORIES), multi=True) == expected


def test_match_choices_single_takes_one() -> None:
    ids = ["self", "relative", "supporter"]
    assert match_choices("2", labelled(ids), multi=False) == ["relative"]
    assert match_choices("家族", labelled(ids), multi=False) == ["relative"]
    assert match_choices("a family member", labelled(ids), multi=False) == ["relative"]
    assert match_choices("family member", labelled(ids), multi=False) == ["relative"]  # part of a label
    assert match_choices("someone", labelled(ids), multi=False) == ["supporter"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("写真", "ja"),  # kanji only and short: Japanese, not Chinese
        ("家賃が払えません", "ja"),
        ("help", "en"),  # too short to detect: a Latin-script writer gets English
        ("Tôi mất việc rồi, tiền nhà tháng này không trả được", "vi"),
        ("저는 일자리를 잃었습니다", "ko"),
        ("", None),
        ("12345 !!!", None),
    ],
)
async def test_first_mail_language(text: str, language: str | None) -> None:
    from bots.email.intake import _language_of

    assert await _language_of(text) == language


# ── consent in the resident's own language ─────────────────────────────────────────────
def _labels() -> list[tuple[str, str, str]]:
    from i18n.catalog import available_languages

    return [(lang, decision, catalog(lang).label(decision))
            for lang in available_languages() for decision in ("agree", "decline")]


@pytest.mark.parametrize(("language", "decision", "label"), _labels())
def test_each_catalogs_consent_label_on_its_own_line_is_read(language: str, decision: str, label: str) -> None:
    # what the mail asks them to write, as mail clients and people actually write it
    for text in (label, f"{label}.", f"「{label}」\n\n{PROBLEM}", f"  {label}!\n{PROBLEM}"):
        ans = read_answers(text, text)
        assert ans.consent == decision, (language, text)
        assert label not in ans.problem_text  # the consent line is not the presenting problem


PROBLEM = "Perdí mi trabajo y no puedo pagar el alquiler."


@pytest.mark.parametrize(
    "text",
    [
        "Eu concordo com o aumento do aluguel, mas não consigo pagar.",  # "Concordo" inside prose
        "会社の同意がないと辞められません。",  # "同意" inside a Japanese sentence
        "Saya setuju dengan pemilik rumah, tapi tidak punya uang.",
    ],
)
def test_a_short_label_inside_a_sentence_is_not_consent(text: str) -> None:
    assert read_answers(text, text).consent is None
