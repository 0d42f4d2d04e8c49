"""A resident's photo, voice, video or document from Telegram, fetched in the consumer.

The update names the file (file_id); `getFile` gives its path, and the bytes come from
`https://api.telegram.org/file/bot<token>/<file_path>`. The Bot API serves files up to 20 MB
only; beyond that (or beyond our own cap) nothing is downloaded and the row says so. For a
photo Telegram sends several sizes: the largest is fetched.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import structlog
from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bots.common.capped import TooLarge, read_capped
from handoff.events import InboundMedia, MediaGroup

log = structlog.get_logger(__name__)
TELEGRAM_GETFILE_LIMIT = 20 * 1024 * 1024
FETCH_TIMEOUT_SECONDS = 30.0

# Message attribute -> media kind for what is fetched (stickers, locations, polls are not files)
FETCHED: dict[str, str] = {"photo": "image", "document": "file", "voice": "audio", "audio": "audio",
                           "video": "video", "video_note": "video", "animation": "video"}


def media_ref(msg: Any) -> tuple[list[InboundMedia], MediaGroup | None]:
    """The file a message carries (a reference only: the bytes never ride the queue)."""
    for attr, kind in FETCHED.items():
        found = getattr(msg, attr, None)
        if not found:
            continue
        if attr == "photo":  # sizes, smallest first; the largest is the photo itself
            found = max(found, key=lambda p: (p.width * p.height, p.file_size or 0))
        ref = InboundMedia(ref=found.file_id, kind=kind, filename=getattr(found, "file_name", None),  # type: ignore[arg-type]
                           declared_type=getattr(found, "mime_type", None), declared_size=found.file_size)
        group = MediaGroup(id=msg.media_group_id) if getattr(msg, "media_group_id", None) else None
        return [ref], group
    return [], None


async def fetch(bot: Bot, file_base_url: str, item: InboundMedia, max_bytes: int) -> InboundMedia:
    """`item` with its bytes, or marked `unavailable` (why) — never raises for Telegram's answers."""
    limit = min(max_bytes, TELEGRAM_GETFILE_LIMIT)
    if item.unavailable or not item.ref:
        return item
    if item.declared_size is not None and item.declared_size > limit:
        return item.model_copy(update={"unavailable": "too_large"})
    try:
        async with asyncio.timeout(FETCH_TIMEOUT_SECONDS):
            file = await bot.get_file(item.ref)
            if not file.file_path:
                return item.model_copy(update={"unavailable": "fetch_failed"})
            if file.file_size is not None and file.file_size > limit:
                return item.model_copy(update={"unavailable": "too_large", "declared_size": file.file_size})
            session = await bot.session.create_session()  # type: ignore[attr-defined]
            url = f"{file_base_url.rstrip('/')}/file/bot{bot.token}/{file.file_path}"
            async with session.get(url, allow_redirects=False) as r:
                if r.status != 200:
                    return item.model_copy(update={"unavailable": "fetch_failed"})
                try:
                    data = await read_capped(r, limit)
                except TooLarge as big:
                    return item.model_copy(update={"unavailable": "too_large", "declared_size": big.size})
        name = item.filename or file.file_path.rsplit("/", 1)[-1]
        return item.model_copy(update={"data": data, "filename": name})
    except (TelegramAPIError, TimeoutError, aiohttp.ClientError, OSError) as exc:
        log.info("telegram_file_fetch_failed", error=type(exc).__name__)
        return item.model_copy(update={"unavailable": "fetch_failed"})
