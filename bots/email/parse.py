"""Parse one inbound mail into what the intake needs: who, which thread, the new text.

Real Japanese mail is messy: ISO-2022-JP with carrier extensions, CP932 labelled Shift_JIS,
raw 8-bit headers, HTML-only bodies, quoted history below (or above) the new text, carrier
footers. `parse_mail` never raises on bad input: it returns the best text it can with
`defects` naming what was wrong, so the mail is answered rather than lost.

It is CPU work on up to 5 MB: the intake runs it in a worker thread, and every pattern here
and in quotes.py sees a bounded input (the body is cut before quote stripping), so one huge
mail cannot stall the event loop.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import getaddresses, parseaddr

from bots.email.charsets import clean, decode_bytes, kddi_mail
from bots.email.htmltext import html_to_text
from bots.email.quotes import strip_quoted

# A mail larger than this is not parsed beyond its headers; the resident is asked to resend
# the text alone. Attachments are the usual cause (photos of letters and bills): 16 MB lets one
# file up to the media cap (10 MB, ~13.7 MB once base64-encoded) through. A large mail is parsed
# in a worker process (bots/email/parsepool.py), so its size never holds the event loop.
MAX_MAIL_BYTES = 16 * 1024 * 1024
# The new text the dialog sees is cut here (the resident is told), like the chat channels.
MAX_TEXT_CHARS = 4_000
# Quote stripping and the dialog never need more than this much of a body; the risk screen
# gets BODY_CHARS (a resident's words past it are kept in the raw mail only).
STRIP_CHARS = 60_000
BODY_CHARS = 200_000
MAX_HTML_CHARS = 2_000_000
# au's mail domains: their ISO-2022-JP carries emoji in the rows Outlook uses for IBM kanji
_KDDI_DOMAINS = ("ezweb.ne.jp", "au.com", "biz.ezweb.ne.jp", "ido.ne.jp")

_MSGID = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True, slots=True)
class Attachment:
    """What was attached (issue 16): the bytes and the file name are personal — they are held
    in memory only, handed to the media store (sealed under the resident's key), never logged."""

    kind: str  # image, audio, video, file, message
    content_type: str  # as the mail declares it (a hint: the store finds the type from the bytes)
    size: int
    data: bytes = field(default=b"", repr=False)
    filename: str | None = field(default=None, repr=False)
    inline: bool = False  # an image inside the HTML (Content-ID), not attached as a file


# A signature is part of how the mail was sent, not something the resident attached.
SIGNATURE_TYPES = frozenset({"application/pkcs7-signature", "application/x-pkcs7-signature",
                             "application/pgp-signature", "application/pgp-keys"})


@dataclass(slots=True)
class ParsedMail:
    message_id: str  # without angle brackets
    message_id_synthesized: bool
    sender: str  # the From address, lower-case ('' when there is none)
    recipients: list[str]  # To, Cc, Delivered-To, X-Original-To addresses, lower-case
    subject: str
    in_reply_to: list[str]
    references: list[str]
    body: str  # the whole decoded text (HTML turned into text)
    text: str  # only the new text: quotes and signatures stripped, cut to max_chars
    html_only: bool = False
    truncated: bool = False  # text was cut to max_chars
    too_large: bool = False  # the raw mail exceeded max_bytes: only headers were read
    size: int = 0
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)  # codes, for logs
    message: Message | None = field(default=None, repr=False)  # for the loop checks

    @property
    def attachment_kinds(self) -> list[str]:
        return sorted({a.kind for a in self.attachments})


def decode_header_value(raw: str | None) -> str:
    """RFC 2047 words in any charset, or raw 8-bit bytes (surrogate-escaped by the parser)."""
    if not raw:
        return ""
    raw = re.sub(r"\r?\n[ \t]", " ", str(raw)).strip()
    raw = _ENCODED_WORD_8BIT.sub(_requote_8bit, raw)
    try:
        parts = decode_header(raw)
    except Exception:  # malformed encoded words: keep the raw text
        parts = [(raw, None)]
    out: list[str] = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, charset))
        else:
            out.append(_unescape_8bit(chunk))
    # control characters (an encoded CR/LF too) would let a header smuggle in another one
    text = re.sub(r"[\x00-\x1f\x7f]+", " ", clean("".join(out)))
    return re.sub(r" {2,}", " ", text).strip()


_ENCODED_WORD_8BIT = re.compile(r"=\?[^?\s]+\?[qQ]\?[^?\s]*[\udc80-\udcff][^?\s]*\?=")


def _requote_8bit(m: re.Match[str]) -> str:
    """Raw 8-bit bytes inside a Q-encoded word (=?iso-8859-1?Q?Fr\xf6sche?=): as =XX, which
    is what the sender meant (the stdlib would keep them as escaped garbage)."""
    return "".join(f"={ord(c) - 0xDC00:02X}" if "\udc80" <= c <= "\udcff" else c for c in m.group(0))


def _unescape_8bit(text: str) -> str:
    """The bytes parser keeps undeclared 8-bit header bytes as surrogates: decode them."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"), None)


def _raw_header(msg: Message, name: str) -> str | None:
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _raw_headers(msg: Message, name: str) -> list[str]:
    return [str(v) for k, v in msg.raw_items() if k.lower() == name.lower()]


def normalize_address(addr: str) -> str:
    return addr.strip().strip("<>").strip().lower()


def _address_of(raw_addr: str) -> str:
    """An address as parsed from the raw header: encoded words in it are never decoded (an
    address is ASCII; a decoded "display name" must not be able to supply one)."""
    addr = normalize_address(_unescape_8bit(raw_addr))
    return "" if "=?" in addr else clean(addr)


def _addresses(msg: Message, *names: str) -> list[str]:
    # parsed before any decoding: RFC 2047 words are only ever display names
    values = [re.sub(r"\r?\n[ \t]", " ", v) for n in names for v in _raw_headers(msg, n)]
    found = []
    for _, raw_addr in getaddresses(values):
        addr = _address_of(raw_addr)
        if addr and addr not in found:
            found.append(addr)
    return found


def _sender(msg: Message) -> str:
    raw = _raw_header(msg, "From")
    if raw is None:
        return ""
    raw = re.sub(r"\r?\n[ \t]", " ", raw)
    # The address is read from the raw header, before the display name is decoded: a name
    # like =?utf-8?b?...<x@evil.example>...?= must never become the reply address. An
    # angle address at the end wins over an unquoted name that looks like one
    # ("alice@example.com <bob@example.com>" is bob's mail).
    outside = re.sub(r'=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=|"(?:[^"\\]|\\.)*"', " ", raw)
    angle = re.search(r"<([^<>\s]+@[^<>\s]+)>\s*(\([^()]*\))?\s*$", outside)
    raw_addr = angle.group(1) if angle else parseaddr(raw)[1]
    addr = _address_of(raw_addr)
    if "@" not in addr:
        # A broken display name can confuse parseaddr: the last address outside encoded words
        m = re.findall(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", outside)
        addr = m[-1].lower() if m else ""
    return addr


def _from_kddi(msg: Message) -> bool:
    _, addr = parseaddr(_raw_header(msg, "From") or "")
    domain = addr.rsplit("@", 1)[-1].strip(">").lower()
    return domain in _KDDI_DOMAINS


def message_ids(value: str | None) -> list[str]:
    return _MSGID.findall(value or "")


def synthesize_message_id(raw: bytes) -> str:
    """A stable id for a mail without Message-ID, so a redelivery still dedupes."""
    return f"sha256.{hashlib.sha256(raw).hexdigest()[:40]}@madoguchi.invalid"


def _attachment_kind(ctype: str) -> str:
    maintype = ctype.split("/", 1)[0]
    return maintype if maintype in ("image", "audio", "video", "message") else "file"


def _part_payload(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    if isinstance(payload, bytes):
        return payload
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _part_text(part: Message) -> str:
    charset = part.get_param("charset")
    label = charset if isinstance(charset, str) else None
    return decode_bytes(_part_payload(part), label)


class _Collector:
    def __init__(self) -> None:
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[Attachment] = []

    def walk(self, part: Message) -> None:
        ctype = part.get_content_type()
        maintype = part.get_content_maintype()
        if maintype == "message":
            self._attach(part, ctype)
            return
        if ctype in SIGNATURE_TYPES:
            return
        if part.is_multipart():
            subparts = [p for p in part.get_payload() if isinstance(p, Message)]
            if ctype == "multipart/encrypted":  # PGP/MIME: nothing readable without the key
                self._attach(part, ctype)
                return
            if ctype == "multipart/alternative":
                self._alternative(subparts)
            elif ctype == "multipart/report" and subparts:
                # a delivery/disposition report: the human-readable part only
                self.walk(subparts[0])
                for p in subparts[1:]:
                    self._attach(p, p.get_content_type())
            else:
                for p in subparts:
                    self.walk(p)
            return
        disposition = (part.get("Content-Disposition") or "").split(";", 1)[0].strip().lower()
        if disposition == "attachment" or ctype not in ("text/plain", "text/html"):
            self._attach(part, ctype)
        elif ctype == "text/plain":
            self.plain.append(_part_text(part))
        else:
            self.html.append(_part_text(part))

    def texts(self) -> tuple[list[str], bool]:
        """The plain texts when any says something, else the HTML ones as text: an empty
        text/plain beside the HTML (some webmail sends one) must not hide the words."""
        plain = [t for t in self.plain if t.strip()]
        if plain:
            return plain, False
        html = [html_to_text(h[:MAX_HTML_CHARS]) for h in self.html]
        return html, bool(html)

    def _alternative(self, subparts: list[Message]) -> None:
        plain = [p for p in subparts if p.get_content_type() == "text/plain"]
        if plain and _part_text(plain[-1]).strip():
            self.plain.append(_part_text(plain[-1]))
            for nested in (p for p in subparts if p.is_multipart()):
                self._inline_images(nested)  # the HTML's images (multipart/related) still count
            return
        html = [p for p in subparts if p.get_content_type() == "text/html"]
        if html:
            self.html.append(_part_text(html[-1]))
            return
        nested = [p for p in subparts if p.is_multipart()]
        if nested:
            self.walk(nested[-1])  # e.g. multipart/related holding the HTML and its images

    def _inline_images(self, part: Message) -> None:
        for leaf in part.walk():
            if not leaf.is_multipart() and leaf.get_content_maintype() == "image":
                self._attach(leaf, leaf.get_content_type())

    def _attach(self, part: Message, ctype: str) -> None:
        if ctype in ("message/rfc822", "message/global") and part.is_multipart():
            inner = part.get_payload(0)  # a forwarded mail: kept whole, as a file to download
            data = inner.as_bytes() if isinstance(inner, Message) else b""
        else:
            data = _part_payload(part)
        disposition = (part.get("Content-Disposition") or "").split(";", 1)[0].strip().lower()
        name = part.get_filename()
        filename = decode_header_value(name) if isinstance(name, str) else None
        if filename is None and ctype in ("message/rfc822", "message/global"):
            filename = "forwarded.eml"
        self.attachments.append(Attachment(
            kind=_attachment_kind(ctype), content_type=ctype, size=len(data), data=data, filename=filename,
            inline=disposition != "attachment" and bool(part.get("Content-ID")),
        ))


def parse_mail(
    raw: bytes,
    *,
    size: int | None = None,
    max_bytes: int = MAX_MAIL_BYTES,
    max_chars: int = MAX_TEXT_CHARS,
) -> ParsedMail:
    """`size` is the mail's full size when `raw` holds only its headers (IMAP fetched just
    those because the mail was too large)."""
    defects: list[str] = []
    size = max(size or 0, len(raw))
    too_large = size > max_bytes
    try:
        if too_large:
            msg: Message = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        else:
            msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    except Exception:  # the stdlib parser is lenient; this is a last resort
        defects.append("unparseable")
        msg = EmailMessage()
    # compat32 keeps raw header strings; all decoding happens in decode_header_value
    ids = message_ids(_raw_header(msg, "Message-ID"))
    if ids:
        message_id, synthesized = ids[0], False
    else:
        message_id, synthesized = synthesize_message_id(raw), True
        defects.append("no-message-id")

    collector = _Collector()
    token = kddi_mail.set(_from_kddi(msg))
    if not too_large:
        try:
            collector.walk(msg)
        except Exception:
            defects.append("bad-structure")
    if msg.defects:
        defects.append("mime-defects")

    kddi_mail.reset(token)
    texts, html_only = collector.texts()
    body = clean("\n\n".join(texts)).replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    # cut before quote stripping: its patterns never see more than STRIP_CHARS
    text = strip_quoted(body[:STRIP_CHARS])
    truncated = len(text) > max_chars or len(body) > STRIP_CHARS
    if len(text) > max_chars:
        text = text[:max_chars]

    return ParsedMail(
        message_id=message_id[:500],
        message_id_synthesized=synthesized,
        sender=_sender(msg),
        recipients=_addresses(msg, "To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To"),
        subject=decode_header_value(_raw_header(msg, "Subject"))[:300],
        in_reply_to=message_ids(_raw_header(msg, "In-Reply-To")),
        references=message_ids(" ".join(_raw_headers(msg, "References"))),
        body=body[:BODY_CHARS],
        text=text,
        html_only=html_only,
        truncated=truncated,
        too_large=too_large,
        size=size,
        attachments=collector.attachments,
        defects=defects,
        message=msg,
    )
