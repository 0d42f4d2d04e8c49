"""Language detection (lingua + script rules) and the language-choice policy."""

from __future__ import annotations

import pytest

from i18n.detect import Detection, detect

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


def test_router_hook_returns_only_reliable_languages() -> None:
    from i18n.detect import detect_language, warm

    warm()
    assert detect_language(SAMPLES["vi"]) == "vi"
    assert detect_language("ok") is None
    assert detect_language("") is None
