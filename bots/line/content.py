"""A resident's photo, video, audio or file from LINE's content API, fetched in the consumer.

`GET https://api-data.line.me/v2/bot/message/{messageId}/content` with the channel's token,
through the channel's pooled HTTP session (the SDK's MessagingApiBlob would read the whole
body into memory before we could refuse it, and it builds its own client). The body is read
in chunks and given up beyond the per-file cap, so an oversized video costs nothing.
"""

from __future__ import annotations

import asyncio

import aiohttp
import structlog

from bots.common.capped import TooLarge, read_capped
from handoff.events import InboundMedia

log = structlog.get_logger(__name__)
FETCH_TIMEOUT_SECONDS = 30.0


async def fetch(session: aiohttp.ClientSession, data_base_url: str, access_token: str, item: InboundMedia,
                max_bytes: int) -> InboundMedia:
    """`item` with its bytes, or marked `unavailable` (why) — never raises for LINE's answers."""
    if item.unavailable or not item.ref:
        return item
    if item.declared_size is not None and item.declared_size > max_bytes:
        return item.model_copy(update={"unavailable": "too_large"})
    url = f"{data_base_url.rstrip('/')}/v2/bot/message/{item.ref}/content"
    try:
        async with asyncio.timeout(FETCH_TIMEOUT_SECONDS), session.get(
            url, headers={"Authorization": f"Bearer {access_token}"}, allow_redirects=False,
        ) as r:
            if r.status != 200:
                log.info("line_content_unavailable", status=r.status)
                return item.model_copy(update={"unavailable": "fetch_failed"})
            if (r.content_length or 0) > max_bytes:
                return item.model_copy(update={"unavailable": "too_large", "declared_size": r.content_length})
            try:
                data = await read_capped(r, max_bytes)
            except TooLarge as big:
                return item.model_copy(update={"unavailable": "too_large", "declared_size": big.size})
            return item.model_copy(update={"data": data, "declared_type": r.content_type})
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        log.info("line_content_fetch_failed", error=type(exc).__name__)
        return item.model_copy(update={"unavailable": "fetch_failed"})
