"""Translation cache: Redis when configured, an in-process LRU otherwise.

Cached translations are residents' words, so values are sealed: the lookup key and the
AES-GCM key are both derived from the source text (plus the pair, the model versions, the
glossary version and a service secret), so a Redis dump reveals nothing to someone who does
not already hold the original message. Keys never contain text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Protocol

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = structlog.get_logger(__name__)


class CacheKey:
    """Lookup id and sealing key for one (text, route) — derived, never stored together."""

    def __init__(self, text: str, route: str, secret: bytes) -> None:
        material = json.dumps([route, text], ensure_ascii=False).encode()
        self.id = hmac.new(secret, b"lookup\0" + material, hashlib.sha256).hexdigest()
        self._key = hmac.new(secret, b"seal\0" + material, hashlib.sha256).digest()

    def seal(self, value: dict[str, Any]) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(self._key).encrypt(nonce, json.dumps(value).encode(), None)

    def open(self, blob: bytes) -> dict[str, Any] | None:
        try:
            return json.loads(AESGCM(self._key).decrypt(blob[:12], blob[12:], None))
        except (InvalidTag, ValueError):
            return None


class TranslationCache(Protocol):
    async def get(self, key: CacheKey) -> dict[str, Any] | None: ...
    async def set(self, key: CacheKey, value: dict[str, Any]) -> None: ...


class MemoryCache:
    def __init__(self, max_entries: int = 4096) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[str, bytes] = OrderedDict()

    async def get(self, key: CacheKey) -> dict[str, Any] | None:
        blob = self._data.get(key.id)
        if blob is None:
            return None
        self._data.move_to_end(key.id)
        return key.open(blob)

    async def set(self, key: CacheKey, value: dict[str, Any]) -> None:
        self._data[key.id] = key.seal(value)
        self._data.move_to_end(key.id)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


class RedisCache:
    """Shared between app processes. Redis trouble degrades to no cache, never to an error."""

    def __init__(self, redis: Redis, ttl_seconds: int = 7 * 24 * 3600, prefix: str = "mt:") -> None:
        self.redis = redis
        self.ttl = ttl_seconds
        self.prefix = prefix

    async def get(self, key: CacheKey) -> dict[str, Any] | None:
        try:
            blob = await self.redis.get(self.prefix + key.id)
        except Exception as exc:  # connection errors, timeouts
            log.warning("translation_cache_read_failed", error=type(exc).__name__)
            return None
        if blob is None:
            return None
        try:  # base64 text, so clients with decode_responses=True work too
            return key.open(base64.b64decode(blob))
        except (binascii.Error, ValueError):
            return None

    async def set(self, key: CacheKey, value: dict[str, Any]) -> None:
        try:
            await self.redis.set(
                self.prefix + key.id, base64.b64encode(key.seal(value)).decode(), ex=self.ttl
            )
        except Exception as exc:
            log.warning("translation_cache_write_failed", error=type(exc).__name__)
