"""The risk screen's lexicon layers: normalisation, word forms, disguised spellings, levels,
hard negatives. Fast: no encoder (MADOGUCHI_RISK_LEARNED=0 for this module), so every case
here is decided by the lexicon alone."""

from __future__ import annotations

import importlib

import pytest

from i18n import risk
from i18n.risk import learned, lexicon

norm = importlib.import_module("i18n.risk.normalize")


@pytest.fixture(autouse=True)
def _lexicon_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MADOGUCHI_RISK_LEARNED", "0")
    learned.reset()
    yield
    learned.reset()


# ---- the stable interface ----------------------------------------------------------------------


def test_interface_constants_and_empty_input() -> None:
    assert risk.KINDS == ("suicide", "self_harm", "medical", "domestic_violence", "child_abuse",
                          "violence", "no_shelter", "no_food")
    assert risk.LEVELS == ("emergency", "look")
    empty = risk.screen(None, "", language="ja")
    assert empty.kinds == () and empty.level is None and not empty
    assert not hasattr(risk, "RISK_KINDS") and not hasattr(risk, "_LEXICON_KIND")


def test_kinds_follow_priority_order_and_levels_per_kind() -> None:
    f = risk.screen("今夜寝るところがない。もう死にたい", language="ja")
    assert f.kinds == ("suicide", "no_shelter")
    assert f.level == "emergency" and f.levels == {"suicide": "emergency",
                                                   "no_shelter": "emergency"}
    assert f.sources["suicide"] == ("lexicon",)


def test_translation_is_screened_and_every_lexicon_applies_whatever_the_language() -> None:
    assert "suicide" in risk.screen("Tôi rất mệt mỏi", "I want to die", language="vi").kinds
    # A Japanese session writing English is still screened by the English list.
    assert "suicide" in risk.screen("i want to die", language="ja").kinds


# ---- normalisation (each rule, on both sides) ---------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("ＳＵＩＣＩＤＥ", "suicide"),  # NFKC + casefold
    ("シニタイ", "しにたい"),  # katakana folded to hiragana
    ("しに たい", "しにたい"),  # spaces inside Japanese
    ("死にたーい", "死にたい"),  # long-vowel mark
    ("Tôi muốn chết", "toi muon chet"),  # Vietnamese without tone marks
    ("Đánh", "danh"),
    ("su1cide", "suicide"),  # leetspeak inside a word
    ("k1ll myself", "kil myself"),  # ... and doubled letters collapse on both sides
    ("i want to diiiie", "i want to die"),
    ("24 hours 3pm", "24 hours 3pm"),  # numbers are not leetspeak
    ("혼자 살아요", "혼자 살아요"),  # Korean keeps its spaces (혼자살아요 would hold 자살)
])
def test_normalize_rules(raw: str, expected: str) -> None:
    assert norm.normalize(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("タヒにたい", "死にたい"), ("氏ね", "死ね"), ("4ね", "死ね"), ("ㅈㅅ 하고 싶다", "자살 하고 싶다"),
    ("kms", "kill myself"), ("want to unalive myself", "want to kill myself"),
])
def test_disguised_spellings(raw: str, expected: str) -> None:
    assert norm.pre(raw) == expected


def test_disguise_rules_leave_ordinary_words() -> None:
    assert norm.pre("彼氏に会った") == "彼氏に会った"  # 氏 after a kanji is a suffix
    assert norm.pre("10 kms away") == "10 kms away"


def test_zawgyi_converted_to_unicode() -> None:
    zawgyi = "ေသခ်င္တယ္"  # "I want to die" typed in the Zawgyi font encoding
    assert norm.zawgyi_to_unicode(zawgyi) == "သေချင်တယ်"
    assert norm.zawgyi_to_unicode("သေချင်တယ်") == "သေချင်တယ်"
    assert risk.screen(zawgyi, language="my").kinds == ("suicide",)


def test_romaji_for_japanese_sessions() -> None:
    assert norm.romaji_to_kana("mou shinitai") == "もうしにたい"
    assert norm.romaji_to_kana("kitte") == "きって"
    for text in ("mou kietai", "jisatsu shitai", "shinitai yo", "shinde shimaitai",
                 "kiete shimaitai"):
        assert "suicide" in risk.screen(text, language="ja").kinds, text
    # Outside a Japanese session Latin words are not read as romaji.
    assert not risk.screen("kiete shimaitai", language="en")


# ---- word forms ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "死にたかった", "死にたくて眠れない", "死んじゃいたい", "消えてしまいたい", "しにたかった",
    "もう消えたくなった", "シニタイ", "死にたいです",
])
def test_japanese_inflections_reach_the_lemma(text: str) -> None:
    assert risk.screen(text, language="ja").kinds == ("suicide",), text


def test_japanese_token_views_respect_word_starts() -> None:
    # けられ (蹴られ, "kicked") is inside 受けられない ("cannot receive").
    assert not risk.screen("支援を受けられないと困ります", language="ja")
    assert "violence" in risk.screen("知らない人に蹴られた", language="ja").kinds


def test_gap_terms_allow_words_in_between() -> None:
    f = risk.screen("子どもに食べさせるものがもう家にない", language="ja")
    assert "no_food" in f.kinds


@pytest.mark.parametrize(("text", "lang"), [
    ("죽고싶어", "ko"), ("죽고 싶어요", "ko"), ("suicidal thoughts every night", "en"),
    ("me quiero suicidar", "es"), ("penso em suicídio", "pt-BR"), ("muon chet", "vi"),
])
def test_spacing_and_prefix_forms(text: str, lang: str) -> None:
    assert "suicide" in risk.screen(text, language=lang).kinds


def test_actor_near_violence_gives_domestic_violence_or_child_abuse() -> None:
    assert risk.screen("夫に殴られています", language="ja").kinds[0] == "domestic_violence"
    assert "child_abuse" in risk.screen("my stepdad touches my daughter", language="en").kinds
    assert risk.screen("a stranger hit me on the street", language="en").kinds == ("violence",)


# ---- levels -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "lang", "kind"), [
    ("I'm not suicidal, just tired", "en", "suicide"),
    ("I attempted suicide ten years ago", "en", "suicide"),
    ("my friend talks about wanting to die", "en", "suicide"),
    ("死にたいわけじゃないけど、しんどい", "ja", "suicide"),
    ("10年前に自殺未遂をしたことがあります", "ja", "suicide"),
    ("友達が死にたいと言っています", "ja", "suicide"),
    ("子どものころ親に殴られていました", "ja", "child_abuse"),
    ("No quiero suicidarme, solo estoy cansada", "es", "suicide"),
])
def test_negated_past_third_party_lower_to_look(text: str, lang: str, kind: str) -> None:
    f = risk.screen(text, language=lang)
    assert kind in f.kinds, (text, f)
    assert f.levels[kind] == "look" and f.level == "look", (text, f)


@pytest.mark.parametrize(("text", "lang"), [
    ("I don't know what to do anymore, I want to die", "en"),
    ("My friend told me to write here. I want to kill myself", "en"),
    ("I don't want to live", "en"),
    ("生きていたくない", "ja"),
    ("母が急に倒れて意識がないです", "ja"),  # someone else's collapse is the resident's emergency
    ("妹がお腹を空かせて、食べるものがない", "ja"),
])
def test_cues_do_not_lower_a_current_danger(text: str, lang: str) -> None:
    assert risk.screen(text, language=lang).level == "emergency", text


def test_two_mentions_one_current_stays_emergency() -> None:
    f = risk.screen("My friend wants to die too. And I want to die tonight", language="en")
    assert f.levels["suicide"] == "emergency"


# ---- hard negatives -----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "lang"), [
    ("死ぬほど忙しい", "ja"), ("腹が減って死にそう", "ja"), ("父が去年亡くなりました", "ja"),
    ("自殺対策の講演会はいつですか", "ja"), ("死亡届の出し方を教えてください", "ja"),
    ("I'm dying to get a job", "en"), ("this rent is killing me", "en"),
    ("my phone battery is dead", "en"), ("the deadline is friday", "en"),
    ("just killing time before my shift", "en"), ("배고파 죽겠다", "ko"),
    ("estou morrendo de fome, que horas fecham?", "pt-BR"), ("Từ từ tôi sẽ kể", "vi"),
    ("有事就打我电话", "zh-Hans"), ("네 맞았어요, 저는 혼자 살아요", "ko"),
    ("Baterai HP saya mau mati", "id"), ("ไม่มีที่อยู่อีเมล", "th"),
])
def test_idioms_and_ordinary_mentions_not_flagged(text: str, lang: str) -> None:
    f = risk.screen(text, language=lang)
    assert not f, (text, f)


# ---- the lexicon's machinery --------------------------------------------------------------------


def test_one_automaton_compiled_once() -> None:
    auto = lexicon.automaton()
    assert lexicon.automaton() is auto
    assert lexicon.term_count() > 1500


def test_unknown_cue_group_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexicon, "load_terms", lambda: {"xx": {"look": {"maybe": ["a"]}}})
    lexicon.automaton.cache_clear()
    try:
        with pytest.raises(ValueError, match="unknown look group"):
            lexicon.automaton()
    finally:
        monkeypatch.undo()
        lexicon.automaton.cache_clear()


# ---- the generalisation pass (after the blind split's first sight) ------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("I can’t breathe", "i cant breathe"),  # a phone's curly apostrophe, and none, meet
    ("しにたぃ", "しにたい"),  # small vowel kana typed for tone
    ("थाकेँ", "थाकें"),  # Devanagari candrabindu and anusvara
])
def test_normalize_apostrophes_small_kana_candrabindu(raw: str, expected: str) -> None:
    assert norm.normalize(raw) == norm.normalize(expected)


def test_partner_terms_need_a_partner() -> None:
    f = risk.screen("夫が生活費をくれないし、物を投げてくる", language="ja")
    assert "domestic_violence" in f.kinds and f.level == "emergency"
    assert not risk.screen("会社がお金をくれないので困っています", language="ja")
    assert "domestic_violence" in risk.screen("my husband won't give me money and I'm scared",
                                              language="en").kinds
    assert not risk.screen("my boss won't give me money for the overtime", language="en")


def test_child_without_food_is_also_neglect() -> None:
    f = risk.screen("子どもが何日も何も食べていない", language="ja")
    assert {"no_food", "child_abuse"} <= set(f.kinds)


def test_terms_of_two_kinds_and_overdoses_told_as_counts() -> None:
    assert {"suicide", "self_harm"} <= set(risk.screen("睡眠薬を少しずつ貯めてる",
                                                       language="ja").kinds)
    for text, lang in (("took like 30 paracetamol", "en"), ("薬を40錠飲んだ", "ja"),
                       ("em vừa uống 20 viên thuốc", "vi")):
        f = risk.screen(text, language=lang)
        assert {"self_harm", "medical"} <= set(f.kinds), text
    assert not risk.screen("the pharmacy gave me a box of 30 tablets", language="en")


def test_ordinary_contexts_mask_the_worlds_dangers_not_the_residents() -> None:
    assert not risk.screen("I volunteer at a homeless shelter", language="en")
    assert not risk.screen("ニュースで殺人事件を見て怖くなった", language="ja")
    # ... but never suicide, self-harm or medical: a resident may say it right after the news.
    f = risk.screen("I saw the news and now I want to die", language="en")
    assert f.kinds == ("suicide",) and f.level == "emergency"
