"""A resident's pictures and documents (issue 16): checked, cleaned and stored encrypted.

Every channel hands bytes here (LINE content API, Telegram getFile, a mail's attachments, the
web chat upload). Nothing a channel says about a file is trusted:

- the type is found from the bytes (magic numbers; Pillow opens images), never the name;
  executables, HTML and SVG (script) are refused; anything else unknown is kept as an opaque
  file, served only as `application/octet-stream` with `Content-Disposition: attachment`;
- images are decoded and re-encoded (EXIF orientation applied, then saved without EXIF, GPS,
  ICC or comments), with Pillow's decompression-bomb guard on; a thumbnail is made;
- the bytes, the thumbnail and the original filename are sealed under the resident's data key
  (casecore.types.EncryptedBytes; the row is resident-scoped), so erasure destroys them with
  the rest; the fingerprint is a keyed HMAC, not a plain hash of personal data;
- a size cap per file and per conversation: beyond it nothing is stored but the row that says
  so (status "too_large"), so the counsellor sees that something came and was not kept.

Pure functions plus the table; writing it is handoff.actions.media's job.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from casecore import crypto
from casecore.models import Base, Id
from casecore.types import EncryptedBytes, EncryptedText, utcnow

Kind = Literal["image", "file", "audio", "video"]
Status = Literal["stored", "too_large", "case_full", "refused", "unavailable", "empty"]

OCTET = "application/octet-stream"
MAX_IMAGE_PIXELS = 40_000_000  # a 40-megapixel scan is plenty; beyond that it's a bomb
MAX_IMAGE_SIDE = 4096  # re-encoded images are at most this wide or high
THUMB_SIDE = 320
DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_CONVERSATION_BYTES = 50 * 1024 * 1024


class ChannelMedia(Base):
    """One attachment of one transcript row (in from a resident or out from a counsellor)."""

    __tablename__ = "channel_media"
    __table_args__ = (Index("ix_channel_media_conversation", "conversation_id", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(4), default="in")  # in, out
    kind: Mapped[str] = mapped_column(String(8))  # image, file, audio, video
    status: Mapped[str] = mapped_column(String(16), default="stored")  # see Status
    content_type: Mapped[str] = mapped_column(String(64), default=OCTET)  # detected from the bytes
    size: Mapped[int] = mapped_column(Integer, default=0)  # bytes stored (or received, when not stored)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)  # keyed HMAC of what was received
    filename: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    data: Mapped[bytes | None] = mapped_column(EncryptedBytes, nullable=True)
    thumbnail: Mapped[bytes | None] = mapped_column(EncryptedBytes, nullable=True)
    counsellor_id: Mapped[int | None] = mapped_column(ForeignKey("counsellor.id"), nullable=True)
    album: Mapped[str | None] = mapped_column(String(32), nullable=True)  # keyed id of photos sent together
    downloaded_at: Mapped[datetime | None] = mapped_column(nullable=True)  # an outbound link's one use
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MediaRefused(ValueError):
    """The bytes are of a kind never stored (a program, a web page, a script)."""


@dataclass(frozen=True)
class Checked:
    """What is stored for one file: the cleaned bytes and what they are."""

    kind: Kind
    content_type: str
    data: bytes
    thumbnail: bytes | None
    fingerprint: str  # keyed HMAC of the bytes as received
    received_size: int
    width: int | None = None
    height: int | None = None


# ── type by content ────────────────────────────────────────────────────────────────────────
_REFUSED_PREFIXES: tuple[tuple[bytes, str], ...] = (
    (b"MZ", "windows executable"),
    (b"\x7fELF", "elf executable"),
    (b"\xca\xfe\xba\xbe", "mach-o"),
    (b"\xcf\xfa\xed\xfe", "mach-o"),
    (b"\xce\xfa\xed\xfe", "mach-o"),
    (b"#!", "script"),
)
_MARKUP = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<svg", b"<iframe", b"<?xml")

# (prefix, offset, content type, kind): checked in order
_SIGNATURES: tuple[tuple[bytes, int, str, Kind], ...] = (
    (b"\xff\xd8\xff", 0, "image/jpeg", "image"),
    (b"\x89PNG\r\n\x1a\n", 0, "image/png", "image"),
    (b"GIF87a", 0, "image/gif", "image"),
    (b"GIF89a", 0, "image/gif", "image"),
    (b"WEBP", 8, "image/webp", "image"),
    (b"WAVE", 8, "audio/wav", "audio"),
    (b"BM", 0, "image/bmp", "image"),
    (b"II*\x00", 0, "image/tiff", "image"),
    (b"MM\x00*", 0, "image/tiff", "image"),
    (b"%PDF-", 0, "application/pdf", "file"),
    (b"OggS", 0, "audio/ogg", "audio"),
    (b"ID3", 0, "audio/mpeg", "audio"),
    (b"#!AMR", 0, "audio/amr", "audio"),
    (b"fLaC", 0, "audio/flac", "audio"),
    (b"\x1aE\xdf\xa3", 0, "video/webm", "video"),
)


def _iso_media(data: bytes) -> tuple[str, Kind] | None:
    """MP4 / M4A / MOV / 3GP / HEIC by the ISO base media `ftyp` box."""
    if len(data) < 12 or data[4:8] != b"ftyp":
        return None
    brand = data[8:12]
    if brand in (b"M4A ", b"M4B "):
        return "audio/mp4", "audio"
    if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
        return None  # an image Pillow cannot open: an opaque file
    if brand == b"qt  ":
        return "video/quicktime", "video"
    if brand.startswith(b"3g"):
        return "video/3gpp", "video"
    return "video/mp4", "video"


def sniff(data: bytes) -> tuple[str, Kind]:
    """(content type, kind) from the bytes alone; raises MediaRefused for what is never kept.
    Images are only recognised here by their signature; `check` decodes them for real."""
    head = data[:1024]
    for prefix, what in _REFUSED_PREFIXES:
        if head.startswith(prefix):
            raise MediaRefused(what)
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith(_MARKUP) or b"<script" in data[:65536].lower() or b"<svg" in lowered:
        raise MediaRefused("markup")
    for prefix, offset, ctype, kind in _SIGNATURES:
        if head[offset:offset + len(prefix)] == prefix and (offset != 8 or head[:4] == b"RIFF"):
            return ctype, kind
    if len(head) > 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        return "audio/mpeg", "audio"
    iso = _iso_media(head)
    if iso is not None:
        return iso
    return OCTET, "file"


# ── images: decoded and re-encoded without metadata ────────────────────────────────────────
def _reencode(data: bytes) -> tuple[bytes, bytes, str, int, int]:
    """(image, thumbnail, content type, width, height). Raises MediaRefused when the bytes do
    not decode as an image (truncated, corrupt) or decode into a bomb."""
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as opened:
                opened.load()
                img = ImageOps.exif_transpose(opened)
                if img is None:  # pragma: no cover - only with in_place=True
                    img = opened
                has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
                img = img.convert("RGBA" if has_alpha else "RGB")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise MediaRefused("image too large to decode") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise MediaRefused("not a readable image") from exc
    img.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
    fmt, ctype = ("PNG", "image/png") if has_alpha else ("JPEG", "image/jpeg")
    # A fresh image with the pixels only: no info dict (EXIF, GPS, ICC, comments, XMP) goes along.
    clean = Image.frombytes(img.mode, img.size, img.tobytes())
    out = io.BytesIO()
    if fmt == "JPEG":
        clean.save(out, "JPEG", quality=85, optimize=True)
    else:
        clean.save(out, "PNG", optimize=True)
    thumb = clean.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE))
    tout = io.BytesIO()
    thumb.convert("RGB").save(tout, "JPEG", quality=75)
    return out.getvalue(), tout.getvalue(), ctype, clean.width, clean.height


def check(data: bytes) -> Checked:
    """What to store for these bytes (pure, CPU-bound: run it off the event loop)."""
    fingerprint = crypto.cipher().keyed_digest(data)
    ctype, kind = sniff(data)
    if kind == "image":
        image, thumb, ctype, w, h = _reencode(data)
        return Checked(kind="image", content_type=ctype, data=image, thumbnail=thumb, fingerprint=fingerprint,
                       received_size=len(data), width=w, height=h)
    return Checked(kind=kind, content_type=ctype, data=data, thumbnail=None, fingerprint=fingerprint,
                   received_size=len(data))


def safe_filename(name: str | None, limit: int = 200) -> str | None:
    """A filename as a label: no path, no control characters, bounded length."""
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>').strip().strip(".")
    return name[:limit] or None


def served_type(row: ChannelMedia) -> tuple[str, bool]:
    """(Content-Type, inline?) to serve a stored file with: only re-encoded images inline."""
    if row.kind == "image" and row.content_type in ("image/jpeg", "image/png"):
        return row.content_type, True
    if row.content_type == "application/pdf":
        return "application/pdf", False
    if row.kind in ("audio", "video") and row.content_type != OCTET:
        return row.content_type, False
    return OCTET, False
