"""Reading a channel's file download without ever holding more than the cap in memory."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import aiohttp

CHUNK = 64 * 1024


class TooLarge(Exception):
    """The body passed the cap; `size` is what had arrived by then (the rest is not read)."""

    def __init__(self, size: int) -> None:
        super().__init__(f"body over the cap after {size} bytes")
        self.size = size


async def read_capped(response: aiohttp.ClientResponse, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > limit:
            raise TooLarge(size)
        chunks.append(chunk)
    return b"".join(chunks)
