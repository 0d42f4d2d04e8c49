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

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import audit, crypto
from casecore import media as core
from casecore.models import Conversation, Message
from handoff.events import InboundEvent, InboundMedia

log = structlog.get_logger(__name__)


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
    return int(await s.scalar(select(func.coalesce(func.sum(core.ChannelMedia.size), 0)).where(  # (thumbnails aside)
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
        if item.unavailable:
            row.status = "too_large" if item.unavailable == "too_large" else "unavailable"
        elif not item.data:
            row.status = "empty"
        elif len(item.data) > limits.max_file_bytes:
            row.status = "too_large"
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
                row.kind, row.content_type, row.sha256 = checked.kind, checked.content_type, checked.fingerprint
                stored_size = len(checked.data) + len(checked.thumbnail or b"")
                if used + stored_size > limits.max_conversation_bytes:  # what is kept counts, cleaned
                    row.status = "case_full"
                else:
                    row.status, row.data, row.thumbnail, row.size = ("stored", checked.data, checked.thumbnail,
                                                                     len(checked.data))
                    used += stored_size
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
    unfetched = [r if r.unavailable else r.model_copy(update={"unavailable": "fetch_failed"})
                 for r in event.media_refs if not r.data]  # no channel hook fetched them
    return [*event.attachments, *unfetched]


# ── a counsellor's document to the resident ───────────────────────────────────────────────
LINK_HOURS = 72
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class SentDocument:
    message_id: int
    media_id: int


async def send_document(ctx: Any, conversation_id: int, actor: Any, data: bytes,
                        filename: str | None) -> SentDocument:
    """Store a counsellor's PDF on the transcript (sealed like inbound media) and deliver it
    after the commit: Telegram and email carry the file; LINE and the web chat get a signed,
    short-lived, one-use link to the operator's own server. Only a PDF is accepted."""
    from casecore.types import utcnow
    from handoff import document_links
    from handoff.actions.base import ActionError, atomic
    from handoff.ownership import require_owner
    from handoff.relay import target_of
    from i18n.catalog import catalog

    limits = MediaLimits.of(getattr(ctx, "router", None))
    if not data:
        raise ActionError(422, "the document is empty")
    if len(data) > min(limits.max_file_bytes, MAX_DOCUMENT_BYTES):
        raise ActionError(413, "the document is larger than the limit")
    try:
        ctype, _ = core.sniff(data)
    except core.MediaRefused as exc:
        raise ActionError(415, "only a PDF can be sent") from exc
    if ctype != "application/pdf":
        raise ActionError(415, "only a PDF can be sent")
    name = core.safe_filename(filename) or "document.pdf"
    if not name.lower().endswith(".pdf"):
        name += ".pdf"
    now = utcnow()
    async with atomic(ctx) as (s, after):
        conv = await require_owner(s, conversation_id, actor)
        language = conv.language
        msg = Message(conversation_id=conv.id, direction="out", sender="counsellor", counsellor_id=actor.id,
                      channel=conv.channel, kind="document", text=f"書類を送りました（{name}）", language="ja",
                      media_type="file", delivery_status="sent" if conv.channel == "webchat" else "pending",
                      created_at=now)
        s.add(msg)
        await s.flush()
        row = core.ChannelMedia(conversation_id=conv.id, message_id=msg.id, direction="out", kind="file",
                                status="stored", content_type="application/pdf", size=len(data),
                                sha256=crypto.cipher().keyed_digest(data), filename=name, data=data,
                                counsellor_id=actor.id, created_at=now)
        s.add(row)
        await s.flush()
        words = catalog(language, "media")
        if conv.channel in ("line", "webchat"):
            secret = ctx.settings.resolved_secret_key()
            token = document_links.issue(secret, row.id, hours=LINK_HOURS)
            resident_text = words.text("document_link", hours=LINK_HOURS,
                                       url=document_links.url(ctx.settings.public_base_url, token))
        else:
            resident_text = words.text("document_sent")
        msg.translation, msg.translation_language, msg.translation_status = resident_text, words.language, "document"
        await audit.record(s, action="document_sent", target_type="conversation", target_id=conv.id,
                           actor_type="counsellor", actor_id=actor.id,
                           detail={"message_id": msg.id, "media_id": row.id, "bytes": len(data)})
        target = target_of(conv)
        after.call(_deliver_document, ctx, target, msg.id, conv.channel, data, name, resident_text)
        return SentDocument(msg.id, row.id)


async def _deliver_document(ctx: Any, target: Any, message_id: int, channel: str, data: bytes, name: str,
                            text: str) -> None:
    from dialogs.types import OutboundMessage
    from handoff.actions.messages import record_delivery
    from handoff.delivery import DeliveryError
    from handoff.hub import conversation_topic

    topic = conversation_topic(target.conversation_id)
    await ctx.hub.publish(topic, {"type": "counsellor_message", "conversation_id": target.conversation_id,
                                  "message_id": message_id})
    if channel == "webchat":
        return
    sender = ctx.router.senders.get(channel)
    hook = getattr(sender, "send_document", None)
    if sender is None or hook is None:  # LINE: the link, as a text
        ok = await ctx.router.deliver(target, [OutboundMessage(text=text)], [message_id])
    else:
        try:
            await hook(target, data, name, text)
            ok = True
        except (DeliveryError, OSError) as exc:
            log.warning("document_delivery_failed", channel=channel, error=type(exc).__name__)
            ok = False
        await record_delivery(ctx, [message_id], "sent" if ok else "failed")
    await ctx.hub.publish(topic, {"type": "delivery", "conversation_id": target.conversation_id,
                                  "message_id": message_id, "delivery_status": "sent" if ok else "failed"})


async def document_link_language(ctx: Any, media_id: int) -> str | None:
    """The resident's language when the document behind a link can still be downloaded (None:
    gone or used). Reads only: opening the link's page spends nothing, so a link preview
    (LINE fetches the URLs in a text message) cannot use the one download up."""
    from handoff.actions.base import atomic

    async with atomic(ctx) as (s, _after):
        row = await s.get(core.ChannelMedia, media_id)
        if row is None or row.direction != "out" or row.status != "stored" or row.downloaded_at is not None:
            return None
        conv = await s.get(Conversation, row.conversation_id)
        return conv.language if conv is not None else "ja"


async def open_document_link(ctx: Any, media_id: int) -> tuple[bytes, str] | None:
    """The document behind a resident's one-use link, marked used (None: gone or used)."""
    from sqlalchemy import update

    from casecore.types import utcnow
    from handoff.actions.base import atomic

    async with atomic(ctx) as (s, _after):
        taken = await s.execute(update(core.ChannelMedia).where(
            core.ChannelMedia.id == media_id, core.ChannelMedia.direction == "out",
            core.ChannelMedia.status == "stored", core.ChannelMedia.downloaded_at.is_(None),
        ).values(downloaded_at=utcnow()).execution_options(synchronize_session=False))
        if not taken.rowcount:
            return None
        row = await s.get(core.ChannelMedia, media_id)
        assert row is not None and row.data is not None
        await audit.record(s, action="document_downloaded", target_type="conversation", target_id=row.conversation_id,
                           actor_type="resident", detail={"media_id": media_id})
        return row.data, row.filename or "document.pdf"


async def audited_media(s: AsyncSession, conv: Conversation, media_id: int, me: Any, *, thumb: bool,
                        why: dict[str, Any]) -> core.ChannelMedia | None:
    """One media row of this conversation for a counsellor allowed to read it; every view is
    an audit row (in the read's transaction)."""
    row = await s.get(core.ChannelMedia, media_id)
    if row is None or row.conversation_id != conv.id or row.status != "stored":
        return None
    await audit.record(s, action="read_media", target_type="conversation", target_id=conv.id,
                       actor_type="counsellor", actor_id=me.id,
                       detail={"media_id": media_id, "thumb": thumb, **why})
    return row
