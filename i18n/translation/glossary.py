"""The welfare glossary (i18n/glossary.yaml) and term protection through translation.

Before translation every known term in the source is replaced by a placeholder token
(``ZZ0``, ``ZZ1``...) that translation models copy through like a code or a name; after
translation each placeholder becomes the agreed rendering in the target language. When a
model mangles a placeholder the caller learns it (``restore`` returns ``None``) and can fall
back to an unprotected translation instead of showing a stray token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from i18n.translation.codes import UNSPACED, normalize

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "glossary.yaml"

PLACEHOLDER = "ZZ{n}"
# Models may insert a space or change case inside the token; accept that on the way back.
_PLACEHOLDER_RE = re.compile(r"Z\s?Z\s?(\d{1,2})", re.IGNORECASE)


class GlossaryError(ValueError):
    """The glossary file is malformed."""


@dataclass(frozen=True)
class Term:
    id: str
    forms: dict[str, tuple[str, ...]]  # lang -> (rendering, other recognised spellings...)

    def rendering(self, lang: str) -> str | None:
        forms = self.forms.get(normalize(lang))
        return forms[0] if forms else None


@dataclass(frozen=True)
class Protected:
    text: str  # the source with placeholders
    slots: tuple[str, ...]  # term id per placeholder number
    originals: tuple[str, ...]  # the source spelling per placeholder (to undo protection)


class Glossary:
    def __init__(self, terms: list[Term], version: int = 1) -> None:
        self.terms = {t.id: t for t in terms}
        self.version = version
        self._patterns: dict[str, re.Pattern[str] | None] = {}

    @classmethod
    def load(cls, path: Path = DEFAULT_PATH) -> Glossary:
        try:
            data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise GlossaryError(f"cannot read glossary {path}: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("terms"), list):
            raise GlossaryError(f"{path}: expected a mapping with a 'terms' list")
        terms: list[Term] = []
        seen: set[str] = set()
        for i, raw in enumerate(data["terms"]):
            # the term's key is "term" ("id" is Indonesian's language code)
            if not isinstance(raw, dict) or not isinstance(raw.get("term"), str):
                raise GlossaryError(f"{path}: entry #{i} needs a 'term' key")
            tid = raw["term"]
            if tid in seen:
                raise GlossaryError(f"{path}: duplicate term id {tid!r}")
            seen.add(tid)
            forms: dict[str, tuple[str, ...]] = {}
            for lang, value in raw.items():
                if lang == "term":
                    continue
                values = [value] if isinstance(value, str) else value
                if not values or not all(isinstance(v, str) and v.strip() for v in values):
                    raise GlossaryError(f"{path}: term {tid!r}, {lang}: empty or not text")
                forms[normalize(str(lang))] = tuple(v.strip() for v in values)
            if "ja" not in forms or "en" not in forms:
                raise GlossaryError(f"{path}: term {tid!r} needs at least ja and en")
            terms.append(Term(tid, forms))
        return cls(terms, int(data.get("version", 1)))

    def _pattern(self, lang: str) -> re.Pattern[str] | None:
        if lang not in self._patterns:
            surfaces = sorted(
                {s for t in self.terms.values() for s in t.forms.get(lang, ())},
                key=len,
                reverse=True,  # longest first: 生活福祉資金貸付 before 生活福祉資金
            )
            if not surfaces:
                self._patterns[lang] = None
            else:
                alt = "|".join(re.escape(s) for s in surfaces)
                if lang in UNSPACED:
                    self._patterns[lang] = re.compile(alt)
                else:
                    self._patterns[lang] = re.compile(rf"(?<!\w)(?:{alt})(?!\w)", re.IGNORECASE)
        return self._patterns[lang]

    def _lookup(self, lang: str, surface: str) -> Term | None:
        low = surface.casefold()
        for term in self.terms.values():
            if any(s.casefold() == low for s in term.forms.get(lang, ())):
                return term
        return None

    def find(self, text: str, lang: str) -> list[tuple[int, int, Term]]:
        """(start, end, term) for each glossary term in text, left to right."""
        lang = normalize(lang)
        pattern = self._pattern(lang)
        if pattern is None:
            return []
        found = []
        for m in pattern.finditer(text):
            term = self._lookup(lang, m.group(0))
            if term is not None:
                found.append((m.start(), m.end(), term))
        return found

    def protect(self, text: str, source: str, target: str) -> Protected:
        """Swap terms that have a target rendering for numbered placeholders."""
        if _PLACEHOLDER_RE.search(text):
            # The text already holds something that looks like our token: protecting would
            # make restoring ambiguous, so translate it as it is.
            return Protected(text, (), ())
        parts: list[str] = []
        slots: list[str] = []
        originals: list[str] = []
        pos = 0
        for start, end, term in self.find(text, source):
            if term.rendering(target) is None:
                continue
            parts.append(text[pos:start])
            parts.append(PLACEHOLDER.format(n=len(slots)))
            slots.append(term.id)
            originals.append(text[start:end])
            pos = end
        parts.append(text[pos:])
        return Protected("".join(parts), tuple(slots), tuple(originals))

    def restore(self, translated: str, protected: Protected, target: str) -> str | None:
        """Replace placeholders with target renderings; None if the model lost or invented
        one (every placeholder must come back exactly once)."""
        if not protected.slots:
            return translated
        found = [int(m.group(1)) for m in _PLACEHOLDER_RE.finditer(translated)]
        if sorted(found) != list(range(len(protected.slots))):
            return None

        def swap(m: re.Match[str]) -> str:
            term = self.terms[protected.slots[int(m.group(1))]]
            return term.rendering(target) or protected.originals[int(m.group(1))]

        return _PLACEHOLDER_RE.sub(swap, translated)

    def mark(self, text: str, lang: str, slots: tuple[str, ...]) -> str | None:
        """Put the placeholders of `slots` where their terms appear in a reference text in
        `lang` (used to build parallel training data); None if a term is missing."""
        out = text
        for n, tid in enumerate(slots):
            term = self.terms[tid]
            forms = sorted(term.forms.get(normalize(lang), ()), key=len, reverse=True)
            for form in forms:
                m = re.search(re.escape(form), out, re.IGNORECASE)
                if m:
                    out = out[: m.start()] + PLACEHOLDER.format(n=n) + out[m.end() :]
                    break
            else:
                return None
        return out


@lru_cache(maxsize=4)
def load_glossary(path: Path = DEFAULT_PATH) -> Glossary:
    return Glossary.load(path)
