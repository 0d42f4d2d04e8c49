"""Risk screening of free text: suicide, violence, abuse, nowhere to sleep.

Lexicon-based on purpose: it runs offline, explains itself (the counsellor sees which kind
matched, never a score) and is screened on the original text and, when the resident writes a
language without a list, on its Japanese or English translation (the caller passes both).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

# The kinds of danger a centre meets, in the order responses are given (most urgent first).
# Stable names: the dialog, the catalogs, the profiles' contacts and the console key on them.
KINDS = (
    "suicide", "self_harm", "medical", "domestic_violence", "child_abuse", "violence",
    "no_shelter", "no_food",
)
# Levels: "emergency" (contacts at once, urgent in the queue) and "look" (a counsellor looks
# soon: negated, past or third-party mentions).
LEVELS = ("emergency", "look")
# The kinds the lexicon file lists today, and what each means in KINDS.
RISK_KINDS = ("suicide", "violence", "abuse", "no_shelter")
_LEXICON_KIND = {"abuse": "child_abuse"}
_TERMS_FILE = Path(__file__).parent.parent / "risk_terms.yaml"
# Scripts written without spaces between words: match terms as plain substrings.
# Word boundaries for spaced scripts: a Latin letter (with diacritics) or digit on either side.
_LATIN = r"[0-9a-z\u00c0-\u024f\u1e00-\u1eff]"
_SPACELESS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f\u1000-\u109f]")


@dataclass(frozen=True)
class RiskFinding:
    kinds: tuple[str, ...]  # ordered as KINDS; empty when nothing is found
    level: str | None = None  # "emergency", "look" or None


    def __bool__(self) -> bool:
        return bool(self.kinds)


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@cache
def _patterns() -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    with _TERMS_FILE.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    compiled: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
    for lang, kinds in data.items():
        for kind, terms in (kinds or {}).items():
            for term in terms or []:
                t = normalize(str(term))
                if _SPACELESS.search(t):
                    pat = re.compile(re.escape(t))
                else:
                    pat = re.compile(rf"(?<!{_LATIN}){re.escape(t)}(?!{_LATIN})")
                compiled.setdefault(lang, []).append((kind, pat))
    return compiled


def screened_languages() -> tuple[str, ...]:
    return tuple(_patterns())


def screen(*texts: str | None, language: str | None = None) -> RiskFinding:
    """Screen every given text (original and translations) against every language's list:
    residents mix languages, and a term in any list is worth a counsellor's look."""
    found: list[str] = []
    for text in texts:
        if not text:
            continue
        norm = normalize(text)
        for patterns in _patterns().values():
            for kind, pat in patterns:
                kind = _LEXICON_KIND.get(kind, kind)
                if kind not in found and pat.search(norm):
                    found.append(kind)
    kinds = tuple(k for k in KINDS if k in found)
    return RiskFinding(kinds, "emergency" if kinds else None)
