"""Live updates: publish/subscribe by topic. In process by default; Redis pub/sub when several
app processes serve one console (every process relays what Redis tells it to its sockets)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import structlog
from redis.asyncio import Redis

log = structlog.get_logger(__name__)
_PREFIX = "madoguchi:hub:"


def conversation_topic(conversation_id: int) -> str:
    return f"conversation:{conversation_id}"


QUEUE_TOPIC = "queue"
ALERT_TOPIC = "staff_alerts"  # login lockouts, for the admins' consoles (issue 11)


def staff_topic(counsellor_id: int) -> str:
    """One account's sessions: logout and disable close its console sockets at once."""
    return f"staff:{counsellor_id}"


class Hub:
    def __init__(self, redis: Redis | None = None) -> None:
        self._redis = redis
        self._subs: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._listener: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        if self._redis is not None and self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="hub-listener")
            await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        if self._listener:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        if self._redis is not None:
            await self._redis.publish(_PREFIX + topic, json.dumps(payload, ensure_ascii=False, default=str))
        else:
            self._fan_out(topic, payload)

    def _fan_out(self, topic: str, payload: dict[str, Any]) -> None:
        for q in list(self._subs.get(topic, ())):
            if q.full():  # a stalled socket must not hold up the others
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait(payload)

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=256)
        self._subs[topic].add(q)
        try:
            yield q
        finally:
            self._subs[topic].discard(q)
            if not self._subs[topic]:
                del self._subs[topic]

    async def _listen(self) -> None:
        assert self._redis is not None
        while True:
            try:
                pubsub = self._redis.pubsub()
                await pubsub.psubscribe(_PREFIX + "*")
                self._ready.set()
                async for msg in pubsub.listen():
                    if msg.get("type") != "pmessage":
                        continue
                    channel = msg["channel"].decode() if isinstance(msg["channel"], bytes) else msg["channel"]
                    self._fan_out(channel[len(_PREFIX):], json.loads(msg["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis restarted: resubscribe after a pause
                log.warning("hub_listener_error", error=type(exc).__name__)
                await asyncio.sleep(1)
