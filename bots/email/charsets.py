"""Turning mail bytes into text the way Japanese mail really arrives.

Mobile carriers (docomo, au, SoftBank) and Outlook label mail ISO-2022-JP but write the
Windows/NEC extensions (①, ㈱, Ⅱ, ...) that strict ISO-2022-JP lacks: this is what Microsoft
calls CP50220/CP50221. Python has no such codec, so `decode_iso2022jp_ms` reads the escape
sequences itself and decodes the double-byte runs through CP932, which holds those extensions.
"Shift_JIS" is almost always CP932 in practice. au (KDDI) phones put their emoji in the
user-defined JIS rows 0x75-0x7B: those are mapped to KDDI's own Unicode code points (the
table KDDI publishes, as Ruby's ISO-2022-JP-KDDI and Perl's Encode::JP::Mobile read it) and the
common ones on to standard emoji. Rows 0x79-0x7C double as the NEC-selected IBM extensions
(髙, 﨑) in Outlook's mail, so those rows are read as emoji only in mail from an au address.
GB2312 is read as GB18030 (mail labelled GB2312 routinely carries GBK), and valid multi-byte
UTF-8 wins over any 8-bit label (a lying label is far likelier than UTF-8 by chance). Nothing
here raises: undecodable bytes become U+FFFD, and no lone surrogate ever comes out.
"""

from __future__ import annotations

import codecs
import contextvars
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
    # mail labelled GB2312 routinely carries GBK (and GBK GB18030): read the superset
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "csgb2312": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "gb18030": "gb18030",
    "big5": "big5hkscs",  # Hong Kong mail labelled Big5 carries HKSCS characters
    "ks_c_5601-1987": "cp949",  # Outlook's label for Korean: really Windows-949
    "euc-kr": "cp949",
}
# au emoji: (first KDDI code point, last, JIS code of the first), in JIS row/cell order
_KDDI_RANGES = (
    (0xE468, 0xE5B4, 0x7521),
    (0xE5B5, 0xE5CC, 0x7867),
    (0xE5CD, 0xE5DF, 0x7921),
    (0xEA80, 0xEAFA, 0x7934),
    (0xEAFB, 0xEB0D, 0x7854),
    (0xEB0E, 0xEB8E, 0x7A51),
)
# The au emoji residents use most, on to standard emoji (the rest keep KDDI's code point,
# which the counsellor sees as one unknown symbol rather than a wrong kanji).
_KDDI_STANDARD = {
    0xE481: "\u26a0\ufe0f", 0xE482: "\u2757", 0xE483: "\u2753", 0xE488: "\u2600\ufe0f",
    0xE48D: "\u2601\ufe0f", 0xE48C: "\u2614", 0xE485: "\u26c4", 0xE487: "\u26a1",
    0xE486: "\U0001f319", 0xE595: "\u2764\ufe0f", 0xE477: "\U0001f494", 0xE471: "\U0001f603",
    0xE473: "\U0001f62d", 0xEB69: "\U0001f622", 0xE5C6: "\U0001f613", 0xE5C3: "\U0001f609",
    0xE4F9: "\U0001f44d", 0xE5BE: "\U0001f3b5", 0xE521: "\u2709\ufe0f",
}
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# set by the mail parser for mail from an au address: rows 0x79-0x7C are emoji there
kddi_mail: contextvars.ContextVar[bool] = contextvars.ContextVar("kddi_mail", default=False)


def _kddi_emoji(j1: int, j2: int, *, shared_rows: bool) -> str | None:
    """The au emoji at JIS (j1, j2), or None when the code is no au emoji."""
    if j1 >= 0x79 and not shared_rows:
        return None
    index = (j1 - 0x21) * 94 + (j2 - 0x21)
    for first, last, jis in _KDDI_RANGES:
        start = ((jis >> 8) - 0x21) * 94 + ((jis & 0xFF) - 0x21)
        if start <= index <= start + (last - first):
            cp = first + index - start
            return _KDDI_STANDARD.get(cp, chr(cp))
    return None


def clean(text: str) -> str:
    """No lone surrogates (a UTF-7/UTF-16 part or an escape can carry one): they cannot be
    encoded, stored or sent, and would crash whatever touches the text next."""
    return _LONE_SURROGATE.sub("\ufffd", text) if _LONE_SURROGATE.search(text) else text
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
    shared_rows = kddi_mail.get()

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
                emoji = _kddi_emoji(b, data[i + 1], shared_rows=shared_rows) if b >= 0x75 else None
                if emoji is not None:
                    flush()
                    out.append(emoji)
                    i += 2
                    continue
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


_LATIN_SIGNS = set("°±²³´µ·¹º»¼½¾¿×÷«€£¥§©®¡¢¤¦¨ª¬¯¶¸–—‘’“”•…")


def _latin(data: bytes) -> str | None:
    """Western European 8-bit text (Windows-1252), told from Japanese by its shape: accented
    letters stand alone or in pairs among ASCII, never in the long runs of kana and kanji,
    and every one of them reads as a letter or a common sign."""
    runs = [len(r) for r in re.findall(rb"[\x80-\xff]+", data)]
    if not runs or max(runs) > 2 or sum(runs) > 0.3 * len(data):
        return None
    text = _strict(data, "cp1252")
    if text is None or any(ord(c) > 0x7F and not (c.isalpha() or c in _LATIN_SIGNS) for c in text):
        return None
    return text


def _pua(text: str) -> bool:
    return any("\ue000" <= c <= "\uf8ff" for c in text)


def guess(data: bytes) -> str:
    """Decode unlabelled (or wrongly labelled) bytes: ISO-2022-JP, UTF-8, Latin, CP932, EUC-JP."""
    if b"\x1b$" in data or b"\x1b(" in data:
        return decode_iso2022jp_ms(data)
    text = _strict(data, "utf-8")
    if text is None:
        text = _latin(data)
    for codec in ("cp932", "euc_jp"):
        if text is None:
            text = _strict(data, codec)
            if text is not None and _pua(text):
                text = None  # the user-defined area: Latin-1 bytes read as CP932 land there
    if text is not None:
        return text
    # nothing fits exactly: the reading with the fewest broken characters
    readings = [data.decode(c, errors="replace") for c in ("utf-8", "cp932", "euc_jp")]
    high = sum(1 for b in data if b >= 0x80)
    if high < 0.3 * len(data):
        readings.append(data.decode("cp1252", errors="replace"))
    return min(readings, key=lambda t: t.count("\ufffd") + sum(1 for c in t if "\ue000" <= c <= "\uf8ff"))


def _utf8_multibyte(data: bytes) -> str | None:
    """The text when `data` is valid UTF-8 holding some multi-byte sequence."""
    if not any(b >= 0x80 for b in data):
        return None
    return _strict(data, "utf-8")


def decode_bytes(data: bytes, label: str | None) -> str:
    """Decode with the declared charset when it fits; otherwise guess; never raise."""
    return clean(_decode(data, label))


def _decode(data: bytes, label: str | None) -> str:
    codec = codec_for(label)
    if codec and codec not in ("utf-8", "iso2022_jp_ms") and not codec.startswith(("utf_16", "utf_32", "utf-16", "utf-32")):
        # the label lies more often than 8-bit text happens to be valid UTF-8
        utf8 = _utf8_multibyte(data)
        if utf8 is not None:
            return utf8
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
