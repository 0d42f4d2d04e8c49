"""Turning mail bytes into text the way Japanese mail really arrives.

Mobile carriers (docomo, au, SoftBank) and Outlook label mail ISO-2022-JP but write the
Windows/NEC extensions (①, ㈱, Ⅱ, ...) that strict ISO-2022-JP lacks: this is what Microsoft
calls CP50220/CP50221. Python has no such codec, so `decode_iso2022jp_ms` reads the escape
sequences itself and decodes the double-byte runs through CP932, which holds those extensions.
"Shift_JIS" is almost always CP932 in practice. Nothing here raises: undecodable bytes become
U+FFFD.
"""

from __future__ import annotations

import codecs
import re

_ESC = 0x1B
_SO, _SI = 0x0E, 0x0F

# labels seen in the wild → the codec that actually decodes them
_ALIASES = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "csshiftjis": "cp932",
    "windows-31j": "cp932",
    "cp932": "cp932",
    "x-ms-cp932": "cp932",
    "euc-jp": "euc_jp",
    "x-euc-jp": "euc_jp",
    "eucjp": "euc_jp",
    "euc_jp": "euc_jp",
    "cseucpkdfmtjapanese": "euc_jp",
    "us-ascii": "utf-8",  # mislabelled 8-bit mail is common; ASCII is a subset anyway
    "ascii": "utf-8",
    "unknown-8bit": "",
    "x-unknown": "",
    "x-user-defined": "",
}
_ISO2022 = re.compile(r"^(csiso2022jp|iso[-_]?2022[-_]?jp.*|x-windows-5022[01]|cp5022[012])$")


def _jis_to_sjis(j1: int, j2: int) -> bytes:
    s1 = ((j1 - 0x21) >> 1) + 0x81
    if s1 > 0x9F:
        s1 += 0x40
    if j1 & 1:
        s2 = j2 + 0x1F
        if s2 >= 0x7F:
            s2 += 1
    else:
        s2 = j2 + 0x7E
    return bytes((s1, s2))


def _designation(data: bytes, i: int) -> tuple[str, int] | None:
    """The mode an escape sequence at `i` switches to, and its length (None: not one we know)."""
    seq = data[i + 1 : i + 3]
    if seq in (b"$@", b"$B"):
        return "kanji", 3
    if seq in (b"(B", b"(J", b"(H"):
        return "ascii", 3
    if seq == b"(I":
        return "kana", 3
    if data[i + 1 : i + 4] in (b"$(D", b"$(Q"):
        return "kanji", 4  # JIS X 0212/0213 designations: best effort
    return None


def decode_iso2022jp_ms(data: bytes) -> str:
    """ISO-2022-JP with the Microsoft/carrier extensions (CP50220/50221), errors replaced."""
    out: list[str] = []
    buf = bytearray()  # CP932 bytes of the current run
    mode = "ascii"  # ascii | kanji | kana
    shifted = False  # SO ... SI half-width katakana (CP50221)
    i, n = 0, len(data)

    def flush() -> None:
        if buf:
            out.append(buf.decode("cp932", errors="replace"))
            buf.clear()

    while i < n:
        b = data[i]
        designation = _designation(data, i) if b == _ESC else None
        if designation is not None:
            mode, length = designation
            i += length
            continue
        if b in (_SO, _SI):
            shifted, i = b == _SO, i + 1
            continue
        if b in (0x0A, 0x0D):
            # a line end resets to ASCII in well-formed mail; be lenient with broken ones
            buf.append(b)
            i += 1
            continue
        if mode == "kanji" and not shifted:
            if i + 1 < n and 0x21 <= b <= 0x7E and 0x21 <= data[i + 1] <= 0x7E:
                buf += _jis_to_sjis(b, data[i + 1])
                i += 2
                continue
            buf += b"?" if b >= 0x80 else bytes((b,))
            i += 1
            continue
        if (mode == "kana" or shifted) and 0x21 <= b <= 0x5F:
            buf.append(b + 0x80)  # half-width katakana in CP932
            i += 1
            continue
        # (8-bit bytes have no place in ISO-2022-JP: kept, so mislabelled CP932 still reads)
        buf.append(b)
        i += 1
    flush()
    return "".join(out)


def codec_for(label: str | None) -> str | None:
    """The Python codec for a MIME charset label ('' = unknown), or None when unlabelled."""
    if not label:
        return None
    label = label.strip().strip('"').lower()
    if label in _ALIASES:
        return _ALIASES[label]
    if _ISO2022.match(label):
        return "iso2022_jp_ms"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return ""


def _strict(data: bytes, codec: str) -> str | None:
    try:
        text = data.decode("iso2022_jp") if codec == "iso2022_jp_ms" else data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None
    return text


def guess(data: bytes) -> str:
    """Decode unlabelled (or wrongly labelled) bytes: ISO-2022-JP, UTF-8, CP932, EUC-JP."""
    if b"\x1b$" in data or b"\x1b(" in data:
        return decode_iso2022jp_ms(data)
    for codec in ("utf-8", "cp932", "euc_jp"):
        text = _strict(data, codec)
        if text is not None:
            return text
    return data.decode("utf-8", errors="replace")


def decode_bytes(data: bytes, label: str | None) -> str:
    """Decode with the declared charset when it fits; otherwise guess; never raise."""
    codec = codec_for(label)
    if not codec:
        return guess(data)
    text = _strict(data, codec)
    if text is not None:
        return text
    if codec == "iso2022_jp_ms":
        if b"\x1b" in data or not any(b >= 0x80 for b in data):
            return decode_iso2022jp_ms(data)
        return guess(data)  # labelled ISO-2022-JP but 8-bit: mislabelled
    if codec in ("utf-8", "ascii"):
        return guess(data)
    if codec == "cp932":
        return data.decode("cp932", errors="replace")
    if codec == "euc_jp":
        for alt in ("euc_jis_2004", "cp932"):
            text = _strict(data, alt)
            if text is not None:
                return text
        return data.decode("euc_jp", errors="replace")
    return data.decode(codec, errors="replace")
