"""Split long texts for chat apps whose limits count UTF-16 code units.

LINE (5000 per text message) and Telegram (4096 per message) both document limits in
"characters"; counting UTF-16 code units is the conservative reading (an emoji outside the
BMP counts as two), so a chunk that fits here fits there.
"""

from __future__ import annotations

# Preferred cut points, best first: paragraph, line, sentence ends (Japanese and Latin), space.
_BOUNDARIES = ("\n\n", "\n", "。", "！", "？", ". ", "! ", "? ", "、", " ")


def _clings(ch: str) -> bool:
    return ch in "\u200d\ufe0e\ufe0f\u20e3\u3099\u309a" or "\u0300" <= ch <= "\u036f"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def truncate_utf16(text: str, limit: int, ellipsis: str = "…") -> str:
    """`text` cut to at most `limit` UTF-16 units, ending with `ellipsis` when cut."""
    if utf16_len(text) <= limit:
        return text
    room = limit - utf16_len(ellipsis)
    out, used = [], 0
    for ch in text:
        size = 2 if ord(ch) > 0xFFFF else 1
        if used + size > room:
            break
        out.append(ch)
        used += size
    return "".join(out).rstrip() + ellipsis


def _fit(text: str, limit: int) -> int:
    """How many code points of `text` fit within `limit` UTF-16 units."""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            return i
    return len(text)


def split_text(text: str, limit: int) -> list[str]:
    """Chunks of at most `limit` UTF-16 units, cut at the best boundary in the second half of
    each window. Joining the chunks gives back `text` exactly; no chunk is empty."""
    if limit < 2:
        raise ValueError("limit must be at least 2")
    chunks: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        n = _fit(rest, limit)
        window = rest[:n]
        cut = n
        for mark in _BOUNDARIES:
            pos = window.rfind(mark)
            if pos >= n // 2:
                cut = pos + len(mark)
                break
        # Never cut between a character and a joiner, variation selector or combining mark.
        while cut > 1 and (_clings(rest[cut]) or rest[cut - 1] == "\u200d"):
            cut -= 1
        chunks.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        chunks.append(rest)
    return chunks
