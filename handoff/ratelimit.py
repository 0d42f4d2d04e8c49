"""Flood limits: a sliding-window counter per (rule, identity).

Redis-backed when the app has Redis (every process shares the counts), in process otherwise.
The identity is an HMAC of the IP, session or contact with the app's secret, so no Redis key
names a person. The window is the usual two-bucket approximation: the previous bucket's count
weighted by how much of it still overlaps the window, plus the current bucket's.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int  # events allowed per window; 0 switches the rule off
    window: float  # seconds

    @classmethod
    def parse(cls, name: str, spec: str) -> Rule:
        """`"30/60"`: 30 per 60 seconds; `"0"` or `"off"`: no limit."""
        spec = spec.strip().lower()
        if spec in ("", "0", "off"):
            return cls(name, 0, 1.0)
        count, _, seconds = spec.partition("/")
        return cls(name, int(count), float(seconds or 60))


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int = 0  # whole seconds, for the Retry-After header


class RateLimiter:
    def __init__(self, secret: str, redis: Any | None = None, prefix: str = "madoguchi:rl:",
                 clock: Any = time.time) -> None:
        self._key = hmac.new(secret.encode(), b"rate-limit", hashlib.sha256).digest()
        self._redis = redis
        self._prefix = prefix
        self._clock = clock
        self._local: dict[str, tuple[float, int]] = {}

    def _ident(self, identity: str) -> str:
        return hmac.new(self._key, identity.encode(), hashlib.sha256).hexdigest()[:32]

    async def check(self, rule: Rule, identity: str) -> Verdict:
        """Would one more event pass? Counts nothing (e.g. failed logins are counted after)."""
        return await self.hit(rule, identity, count=False)

    async def hit(self, rule: Rule, identity: str, *, count: bool = True) -> Verdict:
        """Count one event; refuse it (not counted) when the window is full."""
        if rule.limit <= 0 or not identity:
            return Verdict(True)
        now = self._clock()
        bucket = math.floor(now / rule.window)
        into = (now - bucket * rule.window) / rule.window
        base = f"{self._prefix}{rule.name}:{self._ident(identity)}:"
        prev, cur = await self._counts(base, bucket)
        estimate = prev * (1 - into) + cur
        if estimate + 1 > rule.limit:
            # When enough of the previous bucket has slid out (or the next bucket starts).
            if prev > 0 and cur < rule.limit:
                need = (estimate + 1 - rule.limit) / prev
                wait = need * rule.window
            else:
                wait = (1 - into) * rule.window
            return Verdict(False, max(1, math.ceil(wait)))
        if count:
            await self._incr(base + str(bucket), rule.window)
        return Verdict(True)

    async def _counts(self, base: str, bucket: int) -> tuple[int, int]:
        keys = (base + str(bucket - 1), base + str(bucket))
        if self._redis is not None:
            raw = await self._redis.mget(keys)
            return tuple(int(x or 0) for x in raw)  # type: ignore[return-value]
        now = self._clock()
        out = []
        for k in keys:
            entry = self._local.get(k)
            out.append(entry[1] if entry and entry[0] > now else 0)
        return out[0], out[1]

    async def _incr(self, key: str, window: float) -> None:
        ttl = math.ceil(window * 2) + 1
        if self._redis is not None:
            async with self._redis.pipeline(transaction=True) as p:
                p.incr(key)
                p.expire(key, ttl)
                await p.execute()
            return
        now = self._clock()
        expires, n = self._local.get(key, (now + ttl, 0))
        self._local[key] = (expires, n + 1)
        if len(self._local) > 100_000:  # forget expired buckets now and then
            self._local = {k: v for k, v in self._local.items() if v[0] > now}


def limiter(ctx: Any) -> RateLimiter:
    """The app's one limiter (shared by web chat and login), made on first use."""
    existing = ctx.extras.get("ratelimit")
    if existing is None:
        existing = ctx.extras["ratelimit"] = RateLimiter(ctx.settings.resolved_secret_key(), ctx.redis)
    return existing


def rule(ctx: Any, name: str) -> Rule:
    """A rule from the settings (`limit_<name>`), off when rate limits are disabled."""
    if not ctx.settings.rate_limits_enabled:
        return Rule(name, 0, 1.0)
    return Rule.parse(name, getattr(ctx.settings, f"limit_{name}"))
