"""Normalisation applied the same way to lexicon terms and to residents' text.

Every rule here runs on both sides, so a term and a message written differently (full-width,
katakana, spaced Easy Japanese, Vietnamese without tone marks, leetspeak, "diiiie") meet in
one form. Rules that only make sense for a conversation's language (romaji) take a hint.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

# Scripts written without spaces between words (or spaced only for reading, as Easy Japanese):
# kana, CJK, Thai, Burmese. Spaces between two such characters are removed. Not Hangul: Korean
# spaces separate words (혼자 살아요 "I live alone" must not become 혼자살아요, which holds
# 자살); a Korean term is looked up both with and without its spaces instead.
_SPACELESS_CHARS = (
    "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0e7f\u1000-\u109f"
    "\uaa60-\uaa7f"
)
_SPACE_INSIDE = re.compile(rf"(?<=[{_SPACELESS_CHARS}])\s+(?=[{_SPACELESS_CHARS}])")
_KANA = re.compile(r"[\u3040-\u30ff]")
_MYANMAR = re.compile(r"[\u1000-\u109f]")
_LATIN_WORD = re.compile(r"[a-z0-9@$]+")
_LATIN_LETTER = re.compile(r"[a-z]")
_COMBINING_LATIN = re.compile(r"[\u0300-\u036f]")
_REPEATS = re.compile(r"([a-z])\1+")
_WS = re.compile(r"\s+")
# Apostrophes inside Latin words go on both sides: "can't", "can’t" (a phone's curly one) and
# "cant" meet.
_APOSTROPHE = re.compile(r"(?<=[a-z])['’`´](?=[a-z])")
# Small vowel kana typed for tone (しにたぃ, だょ) read as full ones; っ, ゃ, ゅ, ょ change words
# and stay.
_SMALL_VOWELS = str.maketrans("ぁぃぅぇぉ", "あいうえお")

# Disguised spellings, applied before kana folding (タヒ is katakana ta + hi drawn as 死).
_DISGUISES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"タヒ(?=[にねぬんのなじ])"), "死"),
    (re.compile(r"(?<![\u3400-\u9fff])氏(?=[にねぬん])"), "死"),
    (re.compile(r"(?<![0-9])4(?=[にねぬ])"), "死"),
    (re.compile(r"ㅈㅅ"), "자살"),
    (re.compile(r"ㅈ살"), "자살"),
    (re.compile(r"자ㅅ"), "자살"),
    (re.compile(r"(?<![0-9])(?<![0-9] )\bk\.?m\.?s\b"), "kill myself"),
    (re.compile(r"\bkys\b"), "kill yourself"),
    (re.compile(r"\bsewer\s?slide\b"), "suicide"),
    (re.compile(r"\bunalive\b"), "kill"),
)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s"})


def _fold_kana(text: str) -> str:
    # Katakana (ァ..ヶ) to hiragana; the long-vowel mark goes so シニターイ and しにたい meet.
    out = []
    for ch in text:
        o = ord(ch)
        if 0x30A1 <= o <= 0x30F6:
            out.append(chr(o - 0x60))
        elif ch in "ー〜～":
            continue
        else:
            out.append(ch)
    return "".join(out).translate(_SMALL_VOWELS)


def _unleet(match: re.Match[str]) -> str:
    word = match.group(0)
    # Only words that mix letters with digits/symbols and have letters enough to be a word:
    # "su1cide", "k1ll", "d13" — not "24", "3pm" or "mp3".
    if word.isalpha() or len(_LATIN_LETTER.findall(word)) < 2 or word.isdigit():
        return word
    if re.fullmatch(r"\d+(am|pm|h|k|m|st|nd|rd|th|yen|sai)", word):
        return word
    return word.translate(_LEET)


@cache
def _zawgyi() -> tuple[object, object] | None:
    try:
        import myanmartools
        from myanmar import converter
    except ImportError:  # the screen still works on Unicode Burmese
        return None
    return myanmartools.ZawgyiDetector(), converter


def zawgyi_to_unicode(text: str) -> str:
    """Burmese typed with the Zawgyi font encoding, converted to Unicode (many phones in
    Myanmar still send Zawgyi). Text the detector does not think is Zawgyi is unchanged."""
    if not _MYANMAR.search(text):
        return text
    tools = _zawgyi()
    if tools is None:
        return text
    detector, converter = tools
    if detector.get_zawgyi_probability(text) < 0.95:  # type: ignore[attr-defined]
        return text
    return converter.convert(text, "zawgyi", "unicode")  # type: ignore[attr-defined]


def strip_latin_diacritics(text: str) -> str:
    # Vietnamese/Spanish/Portuguese written with or without accents meet; only the Latin
    # combining block goes, so Devanagari, Thai and Burmese vowel signs stay.
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d"))
    return unicodedata.normalize("NFC", _COMBINING_LATIN.sub("", decomposed))


_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u2060-\u2064\ufeff]")


def pre(text: str) -> str:
    """Zawgyi, NFKC, disguises and casefold: what the Japanese analyser reads (it knows
    katakana loanwords, so kana is folded after it)."""
    # Invisible format characters (zero-width space and joiners, BOM, soft hyphen) hide a word
    # from matching without changing what a person reads: 死\u200bに\u200bた\u200bい.
    text = _INVISIBLE.sub("", text)
    text = zawgyi_to_unicode(text)
    for pattern, repl in _DISGUISES[3:6]:  # before NFKC turns compatibility jamo into others
        text = pattern.sub(repl, text)
    text = unicodedata.normalize("NFKC", text)
    for pattern, repl in _DISGUISES[:3]:  # the kana disguises need the katakana
        text = pattern.sub(repl, text)
    text = text.casefold()
    for pattern, repl in _DISGUISES[6:]:
        text = pattern.sub(repl, text)
    return text


def base(text: str) -> str:
    return _fold_kana(pre(text))


def normalize(text: str) -> str:
    """The form both terms and messages are matched in."""
    # Devanagari candrabindu and anusvara are typed for one another (थाकेँ, थाकें).
    text = _fold_kana(pre(text)).replace("\u0901", "\u0902")
    text = _APOSTROPHE.sub("", text)
    text = _LATIN_WORD.sub(_unleet, text)
    text = strip_latin_diacritics(text)
    text = _REPEATS.sub(r"\1", text)  # diiiie -> die, and kill -> kil on both sides
    text = _SPACE_INSIDE.sub("", text)
    return _WS.sub(" ", text).strip()


def has_kana(text: str) -> bool:
    return bool(_KANA.search(text))


# ---- romaji (for Japanese sessions: "shinitai", "jisatsu shitai", "kietai") ----------------
_ROMAJI = {
    "kya": "きゃ", "kyu": "きゅ", "kyo": "きょ", "sha": "しゃ", "shu": "しゅ", "sho": "しょ",
    "she": "しぇ", "sya": "しゃ", "syu": "しゅ", "syo": "しょ", "cha": "ちゃ", "chu": "ちゅ",
    "cho": "ちょ", "che": "ちぇ", "tya": "ちゃ", "tyu": "ちゅ", "tyo": "ちょ", "nya": "にゃ",
    "nyu": "にゅ", "nyo": "にょ", "hya": "ひゃ", "hyu": "ひゅ", "hyo": "ひょ", "mya": "みゃ",
    "myu": "みゅ", "myo": "みょ", "rya": "りゃ", "ryu": "りゅ", "ryo": "りょ", "gya": "ぎゃ",
    "gyu": "ぎゅ", "gyo": "ぎょ", "ja": "じゃ", "ju": "じゅ", "jo": "じょ", "je": "じぇ",
    "jya": "じゃ", "jyu": "じゅ", "jyo": "じょ", "bya": "びゃ", "byu": "びゅ", "byo": "びょ",
    "pya": "ぴゃ", "pyu": "ぴゅ", "pyo": "ぴょ", "shi": "し", "chi": "ち", "tsu": "つ",
    "ka": "か", "ki": "き", "ku": "く", "ke": "け", "ko": "こ", "sa": "さ", "si": "し",
    "su": "す", "se": "せ", "so": "そ", "ta": "た", "ti": "ち", "tu": "つ", "te": "て",
    "to": "と", "na": "な", "ni": "に", "nu": "ぬ", "ne": "ね", "no": "の", "ha": "は",
    "hi": "ひ", "fu": "ふ", "hu": "ふ", "he": "へ", "ho": "ほ", "ma": "ま", "mi": "み",
    "mu": "む", "me": "め", "mo": "も", "ya": "や", "yu": "ゆ", "yo": "よ", "ra": "ら",
    "ri": "り", "ru": "る", "re": "れ", "ro": "ろ", "wa": "わ", "wo": "を", "ga": "が",
    "gi": "ぎ", "gu": "ぐ", "ge": "げ", "go": "ご", "za": "ざ", "ji": "じ", "zi": "じ",
    "zu": "ず", "ze": "ぜ", "zo": "ぞ", "da": "だ", "di": "ぢ", "du": "づ", "de": "で",
    "do": "ど", "ba": "ば", "bi": "び", "bu": "ぶ", "be": "べ", "bo": "ぼ", "pa": "ぱ",
    "pi": "ぴ", "pu": "ぷ", "pe": "ぺ", "po": "ぽ", "fa": "ふぁ", "fi": "ふぃ", "fe": "ふぇ",
    "fo": "ふぉ", "a": "あ", "i": "い", "u": "う", "e": "え", "o": "お",
}
_ROMAJI_WORD = re.compile(r"[a-z]+")


def _romaji_word(word: str) -> str | None:
    out: list[str] = []
    i = 0
    while i < len(word):
        if i + 1 < len(word) and word[i] == word[i + 1] and word[i] not in "aeioun":
            out.append("っ")  # doubled consonant: kitte, yatta
            i += 1
            continue
        for size in (3, 2, 1):
            kana = _ROMAJI.get(word[i:i + size])
            if kana:
                out.append(kana)
                i += size
                break
        else:
            if word[i] == "n" or (word[i] == "m" and i + 1 < len(word) and word[i + 1] in "bmp"):
                out.append("ん")
                i += 1
            else:
                return None  # not romaji (an English word): leave it out of this view
    return "".join(out)


def romaji_to_kana(text: str) -> str:
    """The Latin words of a message read as Hepburn/kunrei romaji, in hiragana, joined
    without spaces; words that cannot be romaji are dropped. Empty when none."""
    words = [_romaji_word(w) for w in _ROMAJI_WORD.findall(base(text))]
    return "".join(w for w in words if w)
