"""The inbox queue between channel webhooks and the router: ordered per conversation.

In process: one asyncio queue and worker per conversation key.
Redis Streams: events are sharded by conversation key onto N streams; each shard is consumed by
exactly one process at a time (a renewed lease), so order per conversation holds with several
app processes, and a shard whose process died is picked up, pending entries included.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
import zlib
from collections.abc import Awaitable, Callable

import structlog
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from casecore import crypto
from handoff.events import InboundEvent

log = structlog.get_logger(__name__)
Handler = Callable[[InboundEvent], Awaitable[object]]


class InProcessQueue:
    def __init__(self) -> None:
        self._queues: dict[str, asyncio.Queue[InboundEvent]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._handler: Handler | None = None

    async def start(self, handler: Handler) -> None:
        self._handler = handler

    async def submit(self, event: InboundEvent) -> None:
        key = event.conversation_key
        q = self._queues.setdefault(key, asyncio.Queue())
        q.put_nowait(event)
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._drain(key), name=f"inbox:{hash(key)}")

    async def _drain(self, key: str) -> None:
        q = self._queues[key]
        try:
            while not q.empty():
                event = q.get_nowait()
                await _handle_safely(self._handler, event)
        finally:
            del self._workers[key]
            if q.empty():
                self._queues.pop(key, None)
            else:  # an event arrived while we were finishing
                self._workers[key] = asyncio.create_task(self._drain(key))

    async def join(self) -> None:
        """Wait until everything submitted has been handled (tests, shutdown)."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def stop(self) -> None:
        await self.join()


class RedisStreamQueue:
    GROUP = "workers"

    def __init__(self, redis: Redis, shards: int = 8, lease_ms: int = 15_000, prefix: str = "madoguchi:inbox") -> None:
        self._r = redis
        self._shards = shards
        self._lease_ms = lease_ms
        self._prefix = prefix
        self._me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._tasks: list[asyncio.Task[None]] = []
        self._handler: Handler | None = None
        self._stopping = False

    def _stream(self, shard: int) -> str:
        return f"{self._prefix}:{shard}"

    def shard_of(self, key: str) -> int:
        return zlib.crc32(key.encode()) % self._shards

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        for shard in range(self._shards):
            with contextlib.suppress(ResponseError):  # BUSYGROUP: already there
                await self._r.xgroup_create(self._stream(shard), self.GROUP, id="0", mkstream=True)
            self._tasks.append(asyncio.create_task(self._consume(shard), name=f"inbox-shard-{shard}"))

    async def submit(self, event: InboundEvent) -> None:
        shard = self.shard_of(event.conversation_key)
        # Sealed with the field cipher: residents' words and user ids never sit readable in
        # Redis or its append-only file (issue 17).
        await self._r.xadd(self._stream(shard), {"e": crypto.cipher().encrypt(event.model_dump_json())})

    async def _hold_lease(self, shard: int) -> bool:
        key = f"{self._prefix}:lease:{shard}"
        if await self._r.set(key, self._me, nx=True, px=self._lease_ms):
            return True
        owner = await self._r.get(key)
        if owner is not None and owner.decode() == self._me:
            await self._r.pexpire(key, self._lease_ms)
            return True
        return False

    async def _consume(self, shard: int) -> None:
        stream = self._stream(shard)
        # A flag as well as cancel(): redis-py may absorb a cancellation during a blocking read.
        while not self._stopping:
            try:
                if not await self._hold_lease(shard):
                    await asyncio.sleep(self._lease_ms / 3000)
                    continue
                # Entries left pending by a process that died: take them over first, in order.
                pending = await self._r.xautoclaim(stream, self.GROUP, self._me, min_idle_time=0, start_id="0-0", count=100)
                entries = pending[1] if pending else []
                if not entries:
                    read = await self._r.xreadgroup(self.GROUP, self._me, {stream: ">"}, count=50, block=1000)
                    entries = read[0][1] if read else []
                for entry_id, fields in entries:
                    if not fields:  # deleted meanwhile
                        await self._r.xack(stream, self.GROUP, entry_id)
                        continue
                    event = _open(fields[b"e"])
                    await _handle_safely(self._handler, event)
                    await self._r.xack(stream, self.GROUP, entry_id)
                    await self._r.xdel(stream, entry_id)
                    await self._hold_lease(shard)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away: keep the entry pending, try again
                log.warning("inbox_consumer_error", shard=shard, error=type(exc).__name__)
                await asyncio.sleep(1)

    async def join(self, timeout: float = 30.0) -> None:
        """Wait until every stream is drained and acknowledged (tests)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            busy = 0
            for shard in range(self._shards):
                busy += await self._r.xlen(self._stream(shard))
            if busy == 0:
                return
            await asyncio.sleep(0.05)
        state = {
            shard: (await self._r.xlen(self._stream(shard)), await self._r.get(f"{self._prefix}:lease:{shard}"),
                    (await self._r.xpending(self._stream(shard), self.GROUP))["pending"],
                    self._tasks[shard].done() if shard < len(self._tasks) else None)
            for shard in range(self._shards)
        }
        raise TimeoutError(f"inbox not drained: {state} (me={self._me})")

    async def stop(self) -> None:
        self._stopping = True
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        for shard in range(self._shards):  # hand shards over at once instead of after the lease
            key = f"{self._prefix}:lease:{shard}"
            with contextlib.suppress(Exception):
                if (await self._r.get(key) or b"").decode() == self._me:
                    await self._r.delete(key)
        self._tasks.clear()


def _open(blob: bytes) -> InboundEvent:
    """An entry as written by submit(): sealed JSON (a plain JSON entry left by an older
    version before an upgrade is still read)."""
    raw = blob.decode()
    return InboundEvent.model_validate_json(raw if raw.startswith("{") else crypto.cipher().decrypt(raw))


async def _handle_safely(handler: Handler | None, event: InboundEvent) -> None:
    """A failing event is logged (ids only) and not retried forever; the channel's own
    redelivery and the dedupe key make a later retry safe."""
    if handler is None:
        raise RuntimeError("queue not started")
    try:
        await handler(event)
    except Exception:
        log.exception("inbound_event_failed", channel=event.channel, event_id=event.channel_event_id)
