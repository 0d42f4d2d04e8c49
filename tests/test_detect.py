"""Language detection (lingua + script rules) and the language-choice policy."""

from __future__ import annotations

import pytest

from i18n.detect import Detection, choose_language, detect

# One plain sentence per catalog language, the way a resident might write it.
SAMPLES = {
    "ja": "家賃が払えなくて困っています。",
    "en": "I lost my job and I cannot pay my rent this month.",
    "zh-Hans": "我失业了，这个月付不起房租，怎么办？",
    "zh-Hant": "我失業了，這個月付不起房租，怎麼辦？",
    "ko": "직장을 잃어서 이번 달 월세를 낼 수 없어요.",
    "vi": "Tôi bị mất việc và không trả được tiền nhà tháng này.",
    "tl": "Nawalan ako ng trabaho at hindi ko mabayaran ang upa ngayong buwan.",
    "pt-BR": "Perdi meu emprego e não consigo pagar o aluguel este mês.",
    "ne": "मेरो जागिर गयो र यो महिना घरभाडा तिर्न सक्दिन।",
    "id": "Saya kehilangan pekerjaan dan tidak bisa membayar sewa bulan ini.",
    "es": "Perdí mi trabajo y no puedo pagar el alquiler este mes.",
    "th": "ฉันตกงานและไม่สามารถจ่ายค่าเช่าเดือนนี้ได้",
    "my": "ကျွန်တော် အလုပ်ပြုတ်သွားပြီး ဒီလ အိမ်ငှားခ မပေးနိုင်ပါ။",
}


@pytest.mark.parametrize("lang", sorted(SAMPLES))
def test_each_catalog_language_is_detected_reliably(lang: str) -> None:
    d = detect(SAMPLES[lang])
    assert d.language == lang, d
    assert d.reliable, d
    assert 0.5 <= d.confidence <= 1.0


def test_languages_lingua_lacks_use_the_script() -> None:
    # lingua ships no Nepali or Burmese model: those rest on Devanagari / Myanmar script.
    assert detect(SAMPLES["ne"]).method == "script"
    assert detect(SAMPLES["my"]).method == "script"
    assert detect(SAMPLES["vi"]).method == "lingua"


@pytest.mark.parametrize(
    "text", ["ok", "はい", "hola", "네", "😀👍", "", "   ", "12345", "生活保護申請"]
)
def test_short_or_ambiguous_text_is_unreliable(text: str) -> None:
    assert not detect(text).reliable


def test_japanese_with_latin_words_is_japanese() -> None:
    d = detect("Hello Workに行きましたが、仕事が見つかりません。")
    assert (d.language, d.reliable) == ("ja", True)


def test_markup_and_strange_input_do_not_break_detection() -> None:
    for text in [
        "<script>alert('x')</script>",
        "\x00\ufffd\u202e",
        "Привет, как дела?",
        "a" * 10_000,
    ]:
        d = detect(text)
        assert isinstance(d, Detection)
    assert detect("Привет, как дела, у меня проблемы").language is None  # not a catalog script


VI = Detection("vi", 0.99, True, "lingua")
VI_SHORT = Detection("vi", 0.7, False, "lingua")
JA = Detection("ja", 1.0, True, "script")


@pytest.mark.parametrize(
    ("current", "explicit", "hint", "detection", "expected"),
    [
        # explicit choice beats everything
        (None, "vi", "en", JA, "vi"),
        ("en", "ko", "en", VI, "ko"),
        # no language yet: the channel hint beats detection
        (None, None, "en", VI, "en"),
        (None, None, "pt", None, "pt-BR"),
        (None, None, "zh-TW", None, "zh-Hant"),
        # no hint: a reliable detection decides; an unreliable one does not
        (None, None, None, VI, "vi"),
        (None, None, None, VI_SHORT, None),
        # established: unreliable detection never flips it
        ("ja", None, None, VI_SHORT, "ja"),
        # established and backed by the channel hint: detection does not flip it
        ("en", None, "en", VI, "en"),
        # established by an earlier guess: a reliable detection corrects it
        ("en", None, None, VI, "vi"),
        # Easy Japanese stays Easy Japanese when the resident writes Japanese
        ("ja-easy", None, None, JA, "ja-easy"),
        # hints for languages we do not serve are ignored
        (None, None, "fr", VI, "vi"),
    ],
)
def test_choose_language_policy(current, explicit, hint, detection, expected) -> None:
    assert choose_language(current, explicit, hint, detection) == expected


def test_explicitly_chosen_language_is_not_flipped_by_detection() -> None:
    assert choose_language("en", None, None, VI, current_explicit=True) == "en"
    assert choose_language("en", "vi", None, None, current_explicit=True) == "vi"


def test_router_hook_returns_only_reliable_languages() -> None:
    from i18n.detect import detect_language, warm

    warm()
    assert detect_language(SAMPLES["vi"]) == "vi"
    assert detect_language("ok") is None
    assert detect_language("") is None
