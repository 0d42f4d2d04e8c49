"""Pure parts of the translation package: sentence splitting, glossary protection,
round-trip score, cache sealing, package validation. No models needed."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from i18n.translation.cache import CacheKey, MemoryCache
from i18n.translation.codes import argos_codes, normalize
from i18n.translation.glossary import Glossary, GlossaryError, load_glossary
from i18n.translation.packages import PackageError, validate_package
from i18n.translation.quality import chrf
from i18n.translation.segment import join_sentences, split_sentences

# ---- sentence splitting ----------------------------------------------------------------


def texts(text: str, lang: str) -> list[str]:
    return [p.text for p in split_sentences(text, lang)]


def test_japanese_sentences_split_on_japanese_punctuation() -> None:
    assert texts("ご相談ありがとうございます。明日お電話します！本当ですか？はい", "ja") == [
        "ご相談ありがとうございます。",
        "明日お電話します！",
        "本当ですか？",
        "はい",
    ]


def test_quotation_inside_a_japanese_sentence_does_not_split_it() -> None:
    assert texts("「大丈夫？」と聞かれました。", "ja") == ["「大丈夫？」と聞かれました。"]


def test_latin_sentences_keep_abbreviations_and_decimals() -> None:
    assert texts("I met Mr. Sato at 3.5 p.m. today. He helped me! Thanks", "en") == [
        "I met Mr. Sato at 3.5 p.m. today.",
        "He helped me!",
        "Thanks",
    ]


def test_other_scripts_split_on_their_own_marks() -> None:
    assert texts("မင်္ဂလာပါ။ ကူညီပေးပါ၊ ကျေးဇူးပြု၍။", "my") == ["မင်္ဂလာပါ။", "ကူညီပေးပါ၊ ကျေးဇူးပြု၍။"]
    assert texts("नमस्ते। मलाई मद्दत चाहिन्छ।", "ne") == ["नमस्ते।", "मलाई मद्दत चाहिन्छ।"]
    assert texts("我失业了。怎么办？", "zh-Hans") == ["我失业了。", "怎么办？"]


def test_line_breaks_are_kept_and_long_runs_are_cut() -> None:
    pieces = split_sentences("一行目です。\n\n二行目です。", "ja")
    assert [(p.text, p.sep) for p in pieces] == [("一行目です。", "\n\n"), ("二行目です。", "")]
    assert (
        join_sentences([("Line one.", "\n\n"), ("Line two.", "")], False)
        == "Line one.\n\nLine two."
    )
    long_thai = "สวัสดีครับ " * 100
    cut = texts(long_thai, "th")
    assert len(cut) > 1 and all(len(c) <= 300 for c in cut)
    assert "".join(cut).replace(" ", "") == long_thai.replace(" ", "")  # nothing lost


def test_pieces_without_letters_are_not_translated() -> None:
    pieces = split_sentences("😀👍 123", "en")
    assert [p.translatable for p in pieces] == [False]


def test_joining_unspaced_targets() -> None:
    assert join_sentences([("ありがとう。", " "), ("はい。", "")], True) == "ありがとう。はい。"
    assert join_sentences([("Thanks.", " "), ("Yes.", "")], False) == "Thanks. Yes."


# ---- glossary ----------------------------------------------------------------------------


def test_glossary_file_covers_every_catalog_language() -> None:
    g = load_glossary()
    langs = {
        "ja",
        "en",
        "zh-Hans",
        "zh-Hant",
        "ko",
        "vi",
        "tl",
        "pt-BR",
        "ne",
        "id",
        "es",
        "th",
        "my",
    }
    required = {
        "public_assistance",
        "housing_benefit",
        "self_reliance_support",
        "hello_work",
        "welfare_office",
        "social_welfare_council",
        "livelihood_fund_loan",
        "hikikomori",
        "household_budget_support",
        "work_preparation_support",
        "support_counsellor",
    }
    assert required <= set(g.terms)
    for term in g.terms.values():
        assert set(term.forms) == langs, term.id


def test_protect_and_restore_renders_the_agreed_term() -> None:
    g = load_glossary()
    p = g.protect("生活福祉資金貸付と生活保護について社会福祉協議会で聞きました。", "ja", "en")
    assert p.text == "ZZ0とZZ1についてZZ2で聞きました。"  # longest match first
    assert p.slots == ("livelihood_fund_loan", "public_assistance", "social_welfare_council")
    # A model may reorder placeholders and add a space inside one: still restored.
    out = g.restore("I asked the ZZ2 about ZZ 1 and the ZZ0.", p, "en")
    assert out == (
        "I asked the Council of Social Welfare about public assistance (Seikatsu Hogo) "
        "and the livelihood welfare fund loan."
    )


def test_restore_refuses_lost_or_invented_placeholders() -> None:
    g = load_glossary()
    p = g.protect("ハローワークに行きます。", "ja", "vi")
    assert g.restore("Tôi sẽ đi.", p, "vi") is None
    assert g.restore("ZZ0 ZZ1", p, "vi") is None
    assert (
        g.restore("Tôi sẽ đến ZZ0.", p, "vi")
        == "Tôi sẽ đến Hello Work (trung tâm giới thiệu việc làm công)."
    )


def test_latin_terms_match_whole_words_case_insensitively() -> None:
    g = load_glossary()
    p = g.protect("Can I get PUBLIC ASSISTANCE? Hello Workers are nice.", "en", "ja")
    assert p.text == "Can I get ZZ0? Hello Workers are nice."
    assert g.restore("ZZ0を受けられますか。", p, "ja") == "生活保護を受けられますか。"


def test_text_that_already_holds_a_token_is_left_alone() -> None:
    p = load_glossary().protect("My code is ZZ1, and I need 生活保護", "en", "ja")
    assert p.slots == () and p.text == "My code is ZZ1, and I need 生活保護"


def test_malformed_glossary_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "g.yaml"
    bad.write_text("terms:\n  - term: x\n    ja: [生活保護]\n", encoding="utf-8")
    with pytest.raises(GlossaryError, match="needs at least ja and en"):
        Glossary.load(bad)
    bad.write_text("terms: [: oops", encoding="utf-8")
    with pytest.raises(GlossaryError):
        Glossary.load(bad)


# ---- codes, round trip score, cache --------------------------------------------------------


def test_language_codes() -> None:
    assert normalize("ja-easy") == "ja"
    assert normalize("zh_TW") == "zh-Hant"
    assert normalize("pt") == "pt-BR"
    assert argos_codes("zh-Hant")[0] == "zt"
    assert argos_codes("pt-BR")[:2] == ("pb", "pt-BR")


def test_chrf_orders_similarity() -> None:
    ref = "I would like to apply for public assistance."
    assert chrf(ref, ref) == pytest.approx(1.0)
    close = chrf("I would like to apply for public help.", ref)
    far = chrf("The cat sat on the mat yesterday.", ref)
    assert 1.0 > close > 0.6 > far >= 0.0
    assert chrf("", ref) == 0.0
    assert chrf("家賃が払えません。", "家賃が払えません。") == pytest.approx(1.0)


async def test_cache_values_are_sealed_with_the_source_text() -> None:
    cache = MemoryCache(max_entries=2)
    key = CacheKey("家賃が払えません。", "ja>en|m1", b"secret")
    await cache.set(key, {"text": "I cannot pay my rent."})
    blob = next(iter(cache._data.values()))
    assert b"rent" not in blob and "家賃".encode() not in blob  # no plaintext at rest
    assert "家賃" not in key.id
    assert await cache.get(key) == {"text": "I cannot pay my rent."}
    # Another text or another route or another secret opens nothing.
    assert await cache.get(CacheKey("家賃が払えます。", "ja>en|m1", b"secret")) is None
    assert await cache.get(CacheKey("家賃が払えません。", "ja>en|m2", b"secret")) is None
    other = CacheKey("家賃が払えません。", "ja>en|m1", b"other")
    assert other.open(blob) is None
    for i in range(3):  # LRU bound
        await cache.set(CacheKey(str(i), "r", b"s"), {"text": str(i)})
    assert len(cache) == 2


# ---- package validation ----------------------------------------------------------------------


def make_zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


META = json.dumps({"from_code": "ja", "to_code": "en", "package_version": "1.0"}).encode()
GOOD = {
    "pkg/metadata.json": META,
    "pkg/model/model.bin": b"x",
    "pkg/model/shared_vocabulary.json": b"[]",
    "pkg/sentencepiece.model": b"x",
}


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({k: v for k, v in GOOD.items() if k != "pkg/metadata.json"}, "missing metadata.json"),
        (
            {k: v for k, v in GOOD.items() if k != "pkg/sentencepiece.model"},
            "missing sentencepiece.model",
        ),
        ({k: v for k, v in GOOD.items() if k != "pkg/model/model.bin"}, "missing model/model.bin"),
        ({**GOOD, "pkg/metadata.json": b"{not json"}, "not valid JSON"),
        ({**GOOD, "pkg/metadata.json": b'{"from_code": "ja"}'}, "lacks to_code"),
        (
            {**GOOD, "pkg/metadata.json": b'{"from_code":"ja","to_code":"en","type":"sbd"}'},
            "not 'translate'",
        ),
        ({**GOOD, "other/readme.txt": b"x"}, "one top-level directory"),
        ({**GOOD, "pkg/../../evil.txt": b"x"}, "unsafe path"),
    ],
)
def test_invalid_packages_are_rejected_with_the_reason(tmp_path: Path, files, message) -> None:
    with pytest.raises(PackageError, match=message):
        validate_package(make_zip(tmp_path / "p.argosmodel", files))


def test_not_a_zip_and_missing_file(tmp_path: Path) -> None:
    junk = tmp_path / "junk.argosmodel"
    junk.write_bytes(b"<html>404 not found</html>")
    with pytest.raises(PackageError, match="not a zip"):
        validate_package(junk)
    with pytest.raises(PackageError, match="no such file"):
        validate_package(tmp_path / "absent.argosmodel")


def test_valid_layout_reads_metadata(tmp_path: Path) -> None:
    info = validate_package(make_zip(tmp_path / "p.argosmodel", GOOD))
    assert (info.name, info.from_code, info.to_code, info.version) == ("pkg", "ja", "en", "1.0")
    assert info.pair == ("ja", "en")


def test_models_dir_follows_settings(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from i18n.translation.packages import models_dir_for

    assert models_dir_for(SimpleNamespace(data_dir=tmp_path, translation_models_dir=None)) == tmp_path / "argos"
    other = tmp_path / "elsewhere"
    assert models_dir_for(SimpleNamespace(data_dir=tmp_path, translation_models_dir=other)) == other
