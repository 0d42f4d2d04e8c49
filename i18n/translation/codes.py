"""Language codes: the catalog's BCP-47-ish codes versus the codes Argos packages use."""

from __future__ import annotations

# The languages the prompt catalogs cover (Easy Japanese is a register of Japanese, not a
# translation target of its own: machine translation into it is plain Japanese).
CATALOG_LANGUAGES: tuple[str, ...] = (
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
)

# Argos package codes per catalog language, most specific first. The Argos index uses "zh"
# for Simplified and "zt" for Traditional Chinese, "pb" for Brazilian Portuguese (older
# packages only have "pt"), and "tl" or "fil" for Tagalog.
_ARGOS_CODES: dict[str, tuple[str, ...]] = {
    "ja": ("ja",),
    "en": ("en",),
    "zh-Hans": ("zh", "zh-Hans"),
    "zh-Hant": ("zt", "zh-Hant", "zh-TW"),
    "ko": ("ko",),
    "vi": ("vi",),
    "tl": ("tl", "fil"),
    "pt-BR": ("pb", "pt-BR", "pt"),
    "ne": ("ne",),
    "id": ("id",),
    "es": ("es",),
    "th": ("th",),
    "my": ("my",),
}

# Scripts written without spaces between words: sentences are joined without a space and
# glossary terms are matched without word boundaries.
UNSPACED = frozenset({"ja", "zh-Hans", "zh-Hant", "th", "my"})


def normalize(code: str) -> str:
    """Map loose spellings (ja-easy, pt, zh-CN, EN_us...) onto a catalog code."""
    c = code.strip().replace("_", "-")
    low = c.lower()
    if low in ("ja-easy", "ja-jp") or low.startswith("ja-"):
        return "ja"
    if low in ("zh-hant", "zh-tw", "zh-hk", "zh-mo", "zt"):
        return "zh-Hant"
    if low.startswith("zh"):
        return "zh-Hans"
    if low in ("pt", "pt-br", "pb") or low.startswith("pt-"):
        return "pt-BR"
    if low in ("fil", "tl-ph"):
        return "tl"
    base = low.split("-")[0]
    for lang in CATALOG_LANGUAGES:
        if lang.lower() == low or lang.lower() == base:
            return lang
    return c


def argos_codes(code: str) -> tuple[str, ...]:
    """Argos codes that may serve a catalog language, most specific first."""
    lang = normalize(code)
    return _ARGOS_CODES.get(lang, (lang,))


def catalog_code(argos_code: str) -> str:
    """The catalog language an Argos package code serves."""
    return normalize(argos_code)
