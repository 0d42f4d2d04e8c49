"""Storing a message's attachments (issue 16): the only writer of `channel_media`.

Called by the inbound action in its transaction, after the transcript row is flushed, so the
media rows commit (or roll back) with the message. Each file is checked and cleaned by
casecore.media off the event loop; what is not stored (too large, refused, not fetched) still
gets a row saying so, so the counsellor sees that something came. The resident is told in
their language (the `media` catalog) — nothing is lost silently.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import audit, crypto
from casecore import media as core
from casecore.models import Conversation, Message
from handoff.events import InboundEvent, InboundMedia


@dataclass(frozen=True)
class MediaLimits:
    max_file_bytes: int = core.DEFAULT_MAX_FILE_BYTES
    max_conversation_bytes: int = core.DEFAULT_MAX_CONVERSATION_BYTES

    @classmethod
    def of(cls, router: Any) -> MediaLimits:
        found = getattr(router, "media_limits", None)
        return found if isinstance(found, MediaLimits) else cls()


@dataclass
class Stored:
    """What the inbound step needs to know about a message's attachments."""

    rows: list[core.ChannelMedia] = field(default_factory=list)
    album_repeat: bool = False  # another photo of an album already answered

    @property
    def received(self) -> bool:
        return any(r.status == "stored" for r in self.rows)

    def notices(self) -> list[str]:
        """Catalog keys (namespace `media`) to tell the resident, once each."""
        keys: list[str] = []
        for r in self.rows:
            key = {"too_large": "too_large", "refused": "refused", "unavailable": "not_fetched",
                   "empty": "empty", "case_full": "case_full"}.get(r.status)
            if key and key not in keys:
                keys.append(key)
        return keys


def _kind_of(item: InboundMedia, sniffed: str | None, media_type: str | None) -> str:
    kind = sniffed or item.kind or media_type or "file"
    return kind if kind in ("image", "file", "audio", "video") else "file"


def album_tag(group_id: str) -> str:
    """The album's id as stored: keyed (a channel id is not ours to keep in clear)."""
    return crypto.cipher().keyed_digest(("album:" + group_id).encode())[:32]


async def _used_bytes(s: AsyncSession, conversation_id: int) -> int:
    return int(await s.scalar(select(func.coalesce(func.sum(core.ChannelMedia.size), 0)).where(
        core.ChannelMedia.conversation_id == conversation_id, core.ChannelMedia.status == "stored")) or 0)


async def store(s: AsyncSession, conv: Conversation, message: Message, items: list[InboundMedia], *,
                limits: MediaLimits, now: datetime, direction: str = "in", media_type: str | None = None,
                counsellor_id: int | None = None, album: str | None = None) -> Stored:
    """One row per item on `message` (already flushed). Raises nothing for bad files."""
    out = Stored()
    if album is not None:
        tag = album_tag(album)
        seen = await s.scalar(select(core.ChannelMedia.id).where(
            core.ChannelMedia.conversation_id == conv.id, core.ChannelMedia.album == tag).limit(1))
        out.album_repeat = seen is not None
    else:
        tag = None
    used = await _used_bytes(s, conv.id) if items else 0
    for item in items:
        row = core.ChannelMedia(conversation_id=conv.id, message_id=message.id, direction=direction,
                                filename=core.safe_filename(item.filename), counsellor_id=counsellor_id,
                                album=tag, created_at=now, kind=_kind_of(item, None, media_type))
        size = len(item.data) or (item.declared_size or 0)
        row.size = size
        if item.unavailable or (not item.data and item.ref):
            row.status = "too_large" if item.unavailable == "too_large" else "unavailable"
        elif not item.data:
            row.status = "empty"
        elif len(item.data) > limits.max_file_bytes:
            row.status = "too_large"
            row.sha256 = crypto.cipher().keyed_digest(item.data)
        elif used + len(item.data) > limits.max_conversation_bytes:
            row.status = "case_full"
            row.sha256 = crypto.cipher().keyed_digest(item.data)
        else:
            try:
                checked = await asyncio.to_thread(core.check, item.data)
            except core.MediaRefused as exc:
                row.status = "refused"
                row.sha256 = crypto.cipher().keyed_digest(item.data)
                await audit.record(s, action="media_refused", target_type="conversation", target_id=conv.id,
                                   detail={"reason": str(exc)[:60], "bytes": len(item.data)})
            else:
                row.status, row.kind, row.content_type = "stored", checked.kind, checked.content_type
                row.data, row.thumbnail, row.size, row.sha256 = (checked.data, checked.thumbnail,
                                                                 len(checked.data), checked.fingerprint)
                used += len(checked.data)
        s.add(row)
        out.rows.append(row)
    if out.rows:
        await s.flush()
    return out


def views(rows: list[core.ChannelMedia]) -> list[dict[str, Any]]:
    """For the transcript (no bytes)."""
    return [{"id": r.id, "kind": r.kind, "status": r.status, "content_type": core.served_type(r)[0],
             "size": r.size, "filename": r.filename, "has_thumb": r.kind == "image" and r.status == "stored",
             "direction": r.direction} for r in rows]


async def by_message(s: AsyncSession, conversation_id: int) -> dict[int, list[core.ChannelMedia]]:
    """Media rows of a conversation by message id, without loading the bytes."""
    from sqlalchemy.orm import defer

    rows = (await s.scalars(select(core.ChannelMedia).where(core.ChannelMedia.conversation_id == conversation_id)
                            .options(defer(core.ChannelMedia.data), defer(core.ChannelMedia.thumbnail)).order_by(core.ChannelMedia.id))).all()
    out: dict[int, list[core.ChannelMedia]] = {}
    for r in rows:
        out.setdefault(r.message_id, []).append(r)
    return out


def event_items(event: InboundEvent) -> list[InboundMedia]:
    """The event's attachments: bytes in hand, then references the consumer could not fetch."""
    return [*event.attachments, *(r for r in event.media_refs if not r.data)]
