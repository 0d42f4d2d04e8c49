"""Sentence splitting done here, offline and predictable.

argostranslate 1.11 splits sentences with stanza, MiniSBD or spaCy, each of which fetches
models over the network on first use; we never call that path. Rules per script:
- Japanese / Chinese: after 。！？!?．… (plus closing brackets and quotes);
- Latin, Hangul, Cyrillic...: after . ! ? when whitespace follows, except common abbreviations
  and numbers like 3.5;
- Devanagari (Nepali): after । ॥ and ? !;
- Burmese: after ။ (၊ is a comma and does not end a sentence);
- Thai has no sentence punctuation: spaces separate clauses, so a long Thai run is cut at
  spaces when it exceeds the length budget.
Line breaks always end a sentence and are kept as they were.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_SENTENCE_CHARS = 300  # longer pieces are cut at a comma or space so the model stays fast

_CLOSERS = "\"'”’」』）)】〕]》〉»"
# A terminator (run), then any closing marks, then the split point.
_CJK_END = re.compile(rf"[。！？!?．…]+[{re.escape(_CLOSERS)}]*")
_LATIN_END = re.compile(rf"[.!?]+[{re.escape(_CLOSERS)}]*(?=\s)")
_DEVANAGARI_END = re.compile(rf"[।॥!?]+[{re.escape(_CLOSERS)}]*")
_MYANMAR_END = re.compile(rf"။+[{re.escape(_CLOSERS)}]*")
_ABBREVIATIONS = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "dr",
        "st",
        "no",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "sr",
        "sra",
        "jr",
        "prof",
        "tel",
        "approx",
        "dept",
        "p.m",
        "a.m",
        "sta",
        "av",
        "nº",
    }
)
_SOFT_BREAK = re.compile(r"[、，,;；：:]\s*|\s+")


@dataclass(frozen=True)
class Piece:
    text: str  # a sentence (no surrounding whitespace)
    sep: str  # the whitespace that followed it in the source ("" at the end)

    @property
    def translatable(self) -> bool:
        """Pieces without letters (emoji, numbers, URLs' punctuation) pass through as is."""
        return any(unicodedata.category(ch).startswith("L") for ch in self.text)


def _end_pattern(lang: str) -> re.Pattern[str]:
    if lang in ("ja", "zh-Hans", "zh-Hant"):
        return _CJK_END
    if lang == "ne":
        return _DEVANAGARI_END
    if lang == "my":
        return _MYANMAR_END
    return _LATIN_END


def _is_abbreviation(line: str, end: int) -> bool:
    """True when the '.' ending at `end` closes an abbreviation or an initial (J. Smith)."""
    start = end - 1
    while start > 0 and not line[start - 1].isspace():
        start -= 1
    word = line[start:end].rstrip(".").casefold()
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _cut_long(sentence: str, limit: int) -> list[str]:
    """Cut a too-long sentence at soft breaks (commas, spaces), never inside a word."""
    out: list[str] = []
    rest = sentence
    while len(rest) > limit:
        cut = 0
        for m in _SOFT_BREAK.finditer(rest, 0, limit):
            cut = m.end()
        if cut == 0:
            cut = limit  # no break at all (a URL, an unspaced run): hard cut
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        out.append(rest)
    return out


def _split_line(line: str, lang: str, limit: int) -> list[str]:
    pattern = _end_pattern(lang)
    sentences: list[str] = []
    pos = 0
    for m in pattern.finditer(line):
        if (
            pattern is _LATIN_END
            and m.group(0).startswith(".")
            and len(m.group(0)) == 1
            and (_is_abbreviation(line, m.start() + 1))
        ):
            continue
        if (
            pattern is _CJK_END
            and m.group(0)[-1] in _CLOSERS
            and line[m.end() : m.end() + 1]
            in (
                "と",
                "っ",
            )
        ):
            continue  # 「本当？」と聞いた: a quotation inside the sentence
        sentences.append(line[pos : m.end()])
        pos = m.end()
    sentences.append(line[pos:])
    out: list[str] = []
    for s in sentences:
        s = s.strip()
        if s:
            out.extend(_cut_long(s, limit) if len(s) > limit else [s])
    return out


def split_sentences(text: str, lang: str, limit: int = MAX_SENTENCE_CHARS) -> list[Piece]:
    """Split text into sentences, remembering the whitespace between them."""
    pieces: list[Piece] = []
    for line_match in re.finditer(r"([^\n]*)(\n[\s]*|$)", text):
        line, brk = line_match.group(1), line_match.group(2)
        if not line and not brk:
            continue
        sentences = _split_line(line, lang, limit)
        if not sentences:
            if pieces and brk:
                last = pieces[-1]
                pieces[-1] = Piece(last.text, last.sep + brk)
            continue
        for s in sentences[:-1]:
            pieces.append(Piece(s, " "))
        pieces.append(Piece(sentences[-1], brk))
    return pieces


def join_sentences(pieces: list[tuple[str, str]], target_unspaced: bool) -> str:
    """Reassemble translated sentences: line breaks are kept; other separators become a
    space, or nothing between sentences of a script written without spaces."""
    out: list[str] = []
    for i, (text, sep) in enumerate(pieces):
        out.append(text)
        if i == len(pieces) - 1:
            break
        if "\n" in sep:
            out.append(sep)
        elif not target_unspaced:
            out.append(" ")
    return "".join(out).rstrip()
