"""Per-conversation mutual exclusion: asyncio locks in process, Redis locks across processes."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from casecore import crypto

# The conversation key whose events this task processes under a shard lease (handoff.queue's
# Redis consumer): every event of that conversation goes to that shard, and the lease (renewed
# while the process lives) lets one process at a time consume it, so the Redis lock would only
# repeat the guarantee at two round trips per event. Any other key still takes the Redis lock.
LEASED: contextvars.ContextVar[str | None] = contextvars.ContextVar("madoguchi_leased_key", default=None)


class ConversationLocks:
    def __init__(self, redis: Redis | None = None, timeout: float = 60.0) -> None:
        self._redis = redis
        self._timeout = timeout
        self._local: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        # Always serialize inside the process first (cheap, and keeps Redis calls down).
        lock = self._local.setdefault(key, asyncio.Lock())
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with lock:
                if self._redis is None or LEASED.get() == key:
                    yield
                else:
                    # keyed hash: the key names a resident (channel user id, mail address)
                    name = "madoguchi:lock:" + crypto.cipher().blind_index("lock:" + key)[:32]
                    async with self._redis.lock(name, timeout=self._timeout, blocking_timeout=self._timeout):
                        yield
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                self._local.pop(key, None)
