"""Japanese word forms: SudachiPy (small dictionary) gives each token's lemma and reading, so
死にたかった, 死にたくて and しにたい meet 死にたい, and 消えてしまいたい meets 消えたい."""

from __future__ import annotations

import re
import threading
from functools import cache
from typing import Any

from .normalize import normalize

# Auxiliaries that only add aspect or tone between a verb and たい: 消えて|しまい|たい,
# 死ん|じゃい|たい. Dropped from the lemma view so the verb and たい stand together.
_FILLER_LEMMAS = frozenset({"て", "で", "しまう", "ちゃう", "じゃう", "ちまう", "じまう", "おく"})
_LOCK = threading.Lock()
_JA = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


@cache
def _tokenizer() -> Any:
    from sudachipy import Dictionary, SplitMode

    return Dictionary(dict="small").tokenizer(mode=SplitMode.C)


def available() -> bool:
    try:
        _tokenizer()
    except Exception:  # no SudachiPy or dictionary: the plain views still screen Japanese
        return False
    return True


def views(pre_text: str) -> list[tuple[str, frozenset[int]]]:
    """Three views of a text (as returned by normalize.pre): normalised token surfaces, their
    readings, their lemmas; each with the offsets where a token starts (a term found in these
    views must start on one, so けられ is not found inside 受けられない)."""
    out: list[tuple[str, frozenset[int]]] = []
    try:
        with _LOCK:  # a Sudachi tokenizer is not to be shared across threads unguarded
            morphemes = list(_tokenizer().tokenize(pre_text))
    except Exception:  # no analyser: the plain view still screens the text
        return out
    surface: list[str] = []
    reading: list[str] = []
    lemma: list[str] = []
    for m in morphemes:
        s = m.surface()
        is_ja = bool(_JA.search(s))
        surface.append(s)
        reading.append(m.reading_form() if is_ja and m.reading_form() != "キゴウ" else s)
        lem = m.dictionary_form()
        if lem not in _FILLER_LEMMAS:
            lemma.append(lem if is_ja else s)
    for parts in (surface, reading, lemma):
        text, starts, pos = [], set(), 0
        for part in parts:
            norm = normalize(part)
            if not norm:
                continue
            starts.add(pos)
            text.append(norm)
            pos += len(norm)
        out.append(("".join(text), frozenset(starts)))
    return out


def term_variants(term: str, lemmas: bool = True) -> set[str]:
    """The forms a Japanese term is looked up in: its surface, reading, lemma and the lemma of
    its reading (so しにたかった in hiragana reaches 死にたい). Cues go without lemmas: the
    lemma of と言って is と言う, which is also in と言われた ("I was told")."""
    from .normalize import pre

    found = {normalize(term)}
    vs = views(pre(term))
    if not vs:
        return found
    surface, reading, lemma = (v[0] for v in vs)
    found.add(surface)
    if lemmas and len(vs[2][1]) >= 2:  # one inflected word's bare lemma (死ね -> 死ぬ) would be too broad
        found.add(lemma)
    if len(reading) >= 3:
        found.add(reading)
        rv = views(reading)
        if lemmas and rv and len(rv[2][1]) >= 2 and len(rv[2][0]) >= 3:
            found.add(rv[2][0])
    # The analyser sometimes reads a hiragana term as other words (おきなければ as …ないば): a
    # variant must begin as the term or its reading does, or it would match far more.
    starts = {normalize(term)[:1], surface[:1], reading[:1]}
    return {f for f in found if f and f[:1] in starts}
