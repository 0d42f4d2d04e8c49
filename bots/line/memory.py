"""Small per-conversation channel state that is not resident text: which choice ids a numbered
list offered (so "2" can be mapped back), and which reply tokens were already used.

Kept in Redis when the app has one (several processes share it), else in this process.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from typing import Any

from casecore import crypto

NUMBERED_TTL_SECONDS = 24 * 3600
_LOCAL_MAX = 50_000


class ChoiceMemory:
    def __init__(self, redis: Any | None = None, prefix: str = "madoguchi:line:numbered:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._local: OrderedDict[str, tuple[float, list[str]]] = OrderedDict()

    def _rkey(self, key: str) -> str:
        """The key names the LINE user: Redis gets a keyed hash of it (issue 17)."""
        return self._prefix + crypto.cipher().blind_index("line-numbered:" + key)[:32]

    async def remember(self, key: str, choice_ids: list[str]) -> None:
        if self._redis is not None:
            if choice_ids:
                await self._redis.set(self._rkey(key), json.dumps(choice_ids), ex=NUMBERED_TTL_SECONDS)
            else:
                await self._redis.delete(self._rkey(key))
            return
        self._local.pop(key, None)
        if choice_ids:
            self._local[key] = (time.monotonic() + NUMBERED_TTL_SECONDS, list(choice_ids))
            while len(self._local) > _LOCAL_MAX:
                self._local.popitem(last=False)

    async def numbered(self, key: str) -> list[str]:
        if self._redis is not None:
            raw = await self._redis.get(self._rkey(key))
            return list(json.loads(raw)) if raw else []
        entry = self._local.get(key)
        if entry is None or entry[0] < time.monotonic():
            return []
        return entry[1]


class UsedTokens:
    """Reply tokens are single-use: remember the ones this process spent (they expire in a
    minute anyway, so a bounded in-process set is enough)."""

    def __init__(self, ttl: float = 120.0) -> None:
        self._ttl = ttl
        self._seen: OrderedDict[str, float] = OrderedDict()

    def take(self, token: str) -> bool:
        """True the first time a token is seen."""
        now = time.monotonic()
        while self._seen and next(iter(self._seen.values())) < now:
            self._seen.popitem(last=False)
        if token in self._seen:
            return False
        self._seen[token] = now + self._ttl
        return True
