"""The inbox between channel webhooks and the router: ordered per conversation, bounded, and
durable once an event is acknowledged.

A webhook's answer means "we have it": `submit` returns only when the event is recorded
(appended to the journal, or added to a Redis stream) and raises `QueueFull` when the inbox
holds its limit, which the webhook answers 503 so the channel redelivers later. Processing is
done by consumers, never inside the request:

- In process (the embedded default): a fixed number of consumer tasks, each taking the next
  conversation with events waiting (so one conversation is never processed twice at once and
  order holds). Events are appended, sealed with the field cipher, to `<data dir>/inbox.journal`
  before the ack and marked done after processing; a process that dies in between replays the
  undone ones at its next start (the router's dedupe makes a replay of a processed one safe).
  The journal is written without fsync: it survives the process, not the machine's power.
- Redis Streams: events are sharded by conversation key onto N streams; each shard is consumed
  by exactly one process at a time (a renewed lease), so order per conversation holds with
  several web and `madoguchi worker` processes; live consumers announce themselves and each
  holds at most its fair share of the shards, so a second worker takes half of them. A shard
  whose process died is picked up, pending entries first.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import time
import uuid
import zlib
from collections import deque
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog
from prometheus_client import Counter, Gauge
from redis.asyncio import Redis
from redis.exceptions import NoScriptError, ResponseError
from sqlalchemy.exc import DBAPIError

from casecore import crypto
from handoff.events import InboundEvent
from handoff.locks import LEASED

log = structlog.get_logger(__name__)
Handler = Callable[[InboundEvent], Awaitable[object]]
PENDING = Gauge("madoguchi_inbox_pending", "Acknowledged inbound events not yet processed (this process)")
REFUSED = Counter("madoguchi_inbox_refused_total", "Inbound events refused with 503: inbox full")


class _InFlight:
    """Webhook requests this process is answering (madoguchi.priority counts them), an event
    set when there are none, and the gate consumers pass one at a time (one of each per event
    loop: tests run several)."""

    def __init__(self) -> None:
        self.n = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._quiet = asyncio.Event()
        self._gate = asyncio.Lock()
        # What the last event processed while webhooks were in flight leaves to the acks (s).
        self.owed = 0.0

    def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._loop, self._quiet, self._gate = loop, asyncio.Event(), asyncio.Lock()
            if self.n <= 0:
                self._quiet.set()

    def quiet(self) -> asyncio.Event:
        self._bind()
        return self._quiet

    def gate(self) -> asyncio.Lock:
        self._bind()
        return self._gate

    def enter(self) -> None:
        self.n += 1
        self.quiet().clear()

    def leave(self) -> None:
        self.n -= 1
        if self.n <= 0:
            self.quiet().set()


WEBHOOKS_IN_FLIGHT = _InFlight()
# While webhooks keep arriving, one event is taken per this many seconds at least (by all
# consumers together: they pass the gate in turn), so processing never starves and never
# crowds out acks ...
ACK_FIRST_MAX_WAIT = 0.05
# ... and processing takes at most this share of the time while they do (a 20 ms event leaves
# the acks 60 ms before the next), up to ACK_FIRST_MAX_WAIT_CAP between events: the webhook's
# ack and the consumers share one core, and an ack that queues behind processing is late.
PROCESSING_SHARE_UNDER_ACKS = 0.25
ACK_FIRST_MAX_WAIT_CAP = 0.15


def _processed(seconds: float) -> None:
    """An event took `seconds`: while webhooks are in flight, the acks get their share after it."""
    share = PROCESSING_SHARE_UNDER_ACKS
    WEBHOOKS_IN_FLIGHT.owed = seconds * (1 - share) / share if WEBHOOKS_IN_FLIGHT.n > 0 else 0.0


async def _acks_first() -> None:
    """Let the webhooks in flight answer first (bounded, so processing never starves)."""
    if WEBHOOKS_IN_FLIGHT.n <= 0:
        return
    wait = min(ACK_FIRST_MAX_WAIT_CAP, max(ACK_FIRST_MAX_WAIT, WEBHOOKS_IN_FLIGHT.owed))
    async with WEBHOOKS_IN_FLIGHT.gate():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                await WEBHOOKS_IN_FLIGHT.quiet().wait()


class QueueFull(Exception):
    """The inbox holds its limit: not acknowledged, the channel redelivers."""


def _seal(event: InboundEvent) -> str:
    # Residents' words and user ids never sit readable on disk or in Redis (issue 17).
    return crypto.cipher().encrypt(event.model_dump_json())


def _open(blob: bytes | str) -> InboundEvent:
    """An entry as sealed by submit() (a plain JSON entry left by an older version is read)."""
    raw = blob.decode() if isinstance(blob, bytes) else blob
    return InboundEvent.model_validate_json(raw if raw.startswith("{") else crypto.cipher().decrypt(raw))


class Journal:
    """Append-only record of acknowledged events: `+<seq> <sealed event>` when accepted,
    `-<seq>` when processed. Emptied whenever nothing is outstanding, so it stays small."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._seq = 0
        self._outstanding = 0

    def open(self) -> list[tuple[int, InboundEvent]]:
        """The undone events, in order; the file is rewritten with only those."""
        undone: dict[int, str] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="ascii", errors="replace").splitlines():
                with contextlib.suppress(ValueError):  # a line torn by a crash is skipped
                    if line.startswith("+"):
                        seq, sealed = line[1:].split(" ", 1)
                        undone[int(seq)] = sealed
                    elif line.startswith("-"):
                        undone.pop(int(line[1:]), None)
        events: list[tuple[int, InboundEvent]] = []
        for seq, sealed in undone.items():
            try:
                events.append((seq, _open(sealed)))
            except Exception as exc:  # unreadable (a torn line, a rotated-away key): say so, go on
                log.error("inbox_journal_entry_unreadable", seq=seq, error=type(exc).__name__)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(f"+{seq} {undone[seq]}\n" for seq, _ in events), encoding="ascii")
        os.replace(tmp, self.path)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._seq = max((seq for seq, _ in events), default=0)
        self._outstanding = len(events)
        return events

    def append(self, event: InboundEvent) -> int:
        assert self._fd is not None, "journal not opened"
        self._seq += 1
        os.write(self._fd, f"+{self._seq} {_seal(event)}\n".encode("ascii"))
        self._outstanding += 1
        return self._seq

    def done(self, seq: int) -> None:
        if self._fd is None:
            return
        self._outstanding -= 1
        if self._outstanding == 0:
            os.ftruncate(self._fd, 0)  # nothing outstanding: start afresh (O_APPEND writes at 0)
        else:
            os.write(self._fd, f"-{seq}\n".encode("ascii"))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class InProcessQueue:
    all_processed_here = True  # the router may drop a redelivery of an event still queued

    def __init__(self, max_pending: int = 10_000, consumers: int = 4, journal: Path | None = None) -> None:
        self.max_pending = max_pending
        self.consumers = consumers
        self._journal = Journal(journal) if journal is not None else None
        self._events: dict[str, deque[tuple[int, InboundEvent]]] = {}
        self._ready: asyncio.Queue[str] = asyncio.Queue()
        self._scheduled: set[str] = set()  # keys waiting in _ready or held by a consumer
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._tasks: list[asyncio.Task[None]] = []
        self._handler: Handler | None = None

    @property
    def pending(self) -> int:
        return self._pending

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        replay = self._journal.open() if self._journal is not None else []
        if replay:
            log.warning("inbox_replaying_unprocessed_events", events=len(replay))
        for seq, event in replay:
            self._put(seq, event)
        self._tasks = [asyncio.create_task(self._consume(), name=f"inbox-consumer-{i}") for i in range(self.consumers)]

    async def submit(self, event: InboundEvent) -> None:
        if self._pending >= self.max_pending:
            REFUSED.inc()
            raise QueueFull(f"{self._pending} events waiting")
        seq = self._journal.append(event) if self._journal is not None else 0
        self._put(seq, event)

    def _put(self, seq: int, event: InboundEvent) -> None:
        key = event.conversation_key
        self._events.setdefault(key, deque()).append((seq, event))
        self._pending += 1
        PENDING.inc()
        self._idle.clear()
        if key not in self._scheduled:
            self._scheduled.add(key)
            self._ready.put_nowait(key)

    async def _consume(self) -> None:
        while True:
            key = await self._ready.get()
            events = self._events[key]
            handled = 0
            while events and handled < 8:  # then let other conversations have a turn
                await _acks_first()
                seq, event = events.popleft()
                began = time.perf_counter()
                await _handle_safely(self._handler, event)
                _processed(time.perf_counter() - began)
                if self._journal is not None:
                    self._journal.done(seq)
                handled += 1
                self._pending -= 1
                PENDING.dec()
            if events:
                self._ready.put_nowait(key)
            else:
                del self._events[key]
                self._scheduled.discard(key)
            if self._pending == 0:
                self._idle.set()

    async def join(self) -> None:
        """Wait until everything submitted has been handled (tests, shutdown)."""
        await self._idle.wait()

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish what is queued (within `timeout`); what is left stays in the journal."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.join(), timeout)
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._journal is not None:
            self._journal.close()


# Renew each lease still ours (a list of 1/0, one per key).
_RENEW_IF_MINE = """
local kept = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    kept[i] = 1
  else
    kept[i] = 0
  end
end
return kept
"""
_RELEASE_IF_MINE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# Refuse when the shard's stream holds its share of the limit; else add (one round trip).
_ADD_UNLESS_FULL = """
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
return redis.call('XADD', KEYS[1], '*', 'e', ARGV[2])
"""


class RedisStreamQueue:
    GROUP = "workers"

    def __init__(self, redis: Redis, shards: int = 8, lease_ms: int = 15_000, prefix: str = "madoguchi:inbox",
                 *, consume: bool = True, max_pending: int = 100_000, batch: int = 50, concurrency: int = 8) -> None:
        self._r = redis
        self._shards = shards
        self._lease_ms = lease_ms
        self._prefix = prefix
        self._consume_here = consume
        self._per_shard = max(1, max_pending // shards)
        self._batch = batch
        self._me = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._tasks: list[asyncio.Task[None]] = []
        self._held: set[int] = set()
        self._members = 1
        self._handler: Handler | None = None
        self._stopping = False
        self._add = redis.register_script(_ADD_UNLESS_FULL)
        self._renew = redis.register_script(_RENEW_IF_MINE)
        self._release_if_mine = redis.register_script(_RELEASE_IF_MINE)
        self._slots = asyncio.Semaphore(concurrency)  # events processed at once, over all shards
        self._outbox: list[tuple[str, str, asyncio.Future[object]]] = []
        self._flusher: asyncio.Task[None] | None = None

    def _stream(self, shard: int) -> str:
        return f"{self._prefix}:{shard}"

    def _lease(self, shard: int) -> str:
        return f"{self._prefix}:lease:{shard}"

    def shard_of(self, key: str) -> int:
        return zlib.crc32(key.encode()) % self._shards

    @property
    def held(self) -> set[int]:
        return set(self._held)

    async def start(self, handler: Handler) -> None:
        self._handler = handler
        await self._r.script_load(_ADD_UNLESS_FULL)  # acks call it by its hash (self._add.sha)
        for shard in range(self._shards):
            with contextlib.suppress(ResponseError):  # BUSYGROUP: already there
                await self._r.xgroup_create(self._stream(shard), self.GROUP, id="0", mkstream=True)
        if not self._consume_here:  # a web process with separate `madoguchi worker` processes
            return
        await self._announce()
        self._tasks.append(asyncio.create_task(self._heartbeat(), name="inbox-heartbeat"))
        self._tasks += [asyncio.create_task(self._consume(s), name=f"inbox-shard-{s}") for s in range(self._shards)]

    async def submit(self, event: InboundEvent) -> None:
        """Acks arriving together share one round trip: each waits for the pipeline that
        carries its entry (a group commit), so Redis latency is paid once per batch."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[object] = loop.create_future()
        self._outbox.append((self._stream(self.shard_of(event.conversation_key)), _seal(event), done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="inbox-add")
        if await done is None:
            REFUSED.inc()
            raise QueueFull("shard stream full")

    async def _flush(self) -> None:
        while self._outbox:
            batch, self._outbox = self._outbox, []
            try:
                results = await self._add_all([(stream, sealed) for stream, sealed, _ in batch])
            except Exception as exc:  # not recorded: every ack of the batch answers 503
                for _, _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, _, done), result in zip(batch, results, strict=True):
                if done.done():
                    continue
                if isinstance(result, Exception):
                    done.set_exception(result)
                else:
                    done.set_result(result)

    async def _add_all(self, entries: list[tuple[str, str]]) -> list[object]:
        """One pipeline of EVALSHA calls: the add-unless-full script by its hash. redis-py's
        Script objects make every pipeline ask SCRIPT EXISTS first, a second round trip per
        ack batch (issue 19). A Redis that lost the script (a restart, SCRIPT FLUSH) answers
        NOSCRIPT and adds nothing for that entry, so sending those entries again after loading
        it cannot add one twice."""
        answers = await self._evalsha_each(entries)
        lost = [i for i, answer in enumerate(answers) if isinstance(answer, NoScriptError)]
        if lost:
            await self._r.script_load(_ADD_UNLESS_FULL)
            for i, answer in zip(lost, await self._evalsha_each([entries[i] for i in lost]), strict=True):
                answers[i] = answer
        return answers

    async def _evalsha_each(self, entries: list[tuple[str, str]]) -> list[object]:
        async with self._r.pipeline(transaction=False) as p:
            for stream, sealed in entries:
                p.evalsha(self._add.sha, 1, stream, self._per_shard, sealed)
            return list(await p.execute(raise_on_error=False))

    # --- leases, balanced over the live consumers -----------------------------------------
    async def _announce(self) -> None:
        """Say we are alive and renew the leases we hold, in one round trip; a lease found
        taken by another process (ours expired while Redis was away) is dropped here."""
        now = time.time() * 1000
        members = f"{self._prefix}:members"
        held = sorted(self._held)
        async with self._r.pipeline(transaction=False) as p:
            p.zadd(members, {self._me: now})
            p.zremrangebyscore(members, 0, now - self._lease_ms)
            p.zcard(members)
            if held:
                await self._renew(keys=[self._lease(s) for s in held], args=[self._me, self._lease_ms], client=p)
            results = await p.execute()
        self._members = max(1, results[2])
        if held:
            for shard, kept in zip(held, results[3], strict=True):
                if not kept:
                    self._held.discard(shard)

    async def _heartbeat(self) -> None:
        # Every third of the lease, whatever the consumers are doing (a slow event included),
        # so a live process never loses a lease it is using.
        while not self._stopping:
            await asyncio.sleep(self._lease_ms / 3000)
            with contextlib.suppress(Exception):
                await self._announce()

    def _fair_share(self) -> int:
        return math.ceil(self._shards / self._members)

    async def _hold_lease(self, shard: int) -> bool:
        """Whether this process consumes `shard` now. A held lease costs nothing here (the
        heartbeat renews it); one beyond our fair share is handed over; a free one is taken
        while we hold less than our share."""
        if shard in self._held:
            if sorted(self._held).index(shard) >= self._fair_share():
                await self._release(shard)  # a consumer joined: hand the shards beyond our share over
                return False
            return True
        if len(self._held) >= self._fair_share():
            return False
        if await self._r.set(self._lease(shard), self._me, nx=True, px=self._lease_ms):
            self._held.add(shard)
            return True
        return False

    async def _release(self, shard: int) -> None:
        self._held.discard(shard)
        with contextlib.suppress(Exception):
            await self._release_if_mine(keys=[self._lease(shard)], args=[self._me])

    async def _consume(self, shard: int) -> None:
        stream = self._stream(shard)
        claim = True  # entries left pending (by a process that died, or by us on an error) first
        # A flag as well as cancel(): redis-py may absorb a cancellation during a blocking read.
        while not self._stopping:
            try:
                if not await self._hold_lease(shard):
                    claim = True
                    await asyncio.sleep(self._lease_ms / 3000)
                    continue
                entries = []
                if claim:
                    pending = await self._r.xautoclaim(stream, self.GROUP, self._me, min_idle_time=0,
                                                       start_id="0-0", count=self._batch)
                    entries = pending[1] if pending else []
                    claim = bool(entries)
                if not entries:
                    # Block well within the lease, so an idle shard's lease is renewed in time.
                    read = await self._r.xreadgroup(self.GROUP, self._me, {stream: ">"}, count=self._batch,
                                                    block=max(1, min(1000, self._lease_ms // 3)))
                    entries = read[0][1] if read else []
                if entries:
                    await self._handle_batch(shard, stream, entries)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away: the entries stay pending, try again
                log.warning("inbox_consumer_error", shard=shard, error=type(exc).__name__)
                claim = True
                await asyncio.sleep(1)

    async def _handle_batch(self, shard: int, stream: str, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> None:
        """One batch of a shard: conversations side by side (each in its order, at most
        `concurrency` events at once over all shards), then one XACK + XDEL for what was done.
        Entries left when the lease is lost stay pending for the new holder."""
        by_key: dict[str, list[tuple[bytes, InboundEvent]]] = {}
        empty: list[bytes] = []
        for entry_id, fields in entries:
            if not fields:  # an empty entry was deleted meanwhile
                empty.append(entry_id)
                continue
            event = _open(fields[b"e"])
            by_key.setdefault(event.conversation_key, []).append((entry_id, event))
        done: list[bytes] = list(empty)

        async def conversation(key: str, items: list[tuple[bytes, InboundEvent]]) -> None:
            LEASED.set(key)  # this task's context only: the shard lease stands for the lock
            for entry_id, event in items:
                if shard not in self._held:
                    return
                async with self._slots:
                    await _acks_first()  # a web process that also consumes
                    await _handle_safely(self._handler, event)
                done.append(entry_id)

        await asyncio.gather(*(conversation(k, v) for k, v in by_key.items()))
        if done:
            async with self._r.pipeline(transaction=False) as p:  # one round trip for the batch
                p.xack(stream, self.GROUP, *done)
                p.xdel(stream, *done)
                await p.execute()

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
        state = {shard: (await self._r.xlen(self._stream(shard)), await self._r.get(self._lease(shard)))
                 for shard in range(self._shards)}
        raise TimeoutError(f"inbox not drained: {state} (me={self._me}, held={sorted(self._held)})")

    async def stop(self) -> None:
        self._stopping = True
        if self._flusher is not None:  # acks waiting on a batch get their answer first
            with contextlib.suppress(Exception):
                await self._flusher
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        for shard in list(self._held):  # hand shards over at once instead of after the lease
            await self._release(shard)
        with contextlib.suppress(Exception):
            await self._r.zrem(f"{self._prefix}:members", self._me)
        self._tasks.clear()


async def _handle_safely(handler: Handler | None, event: InboundEvent) -> None:
    """A failing event is logged (ids only) and not retried forever; the channel's own
    redelivery and the dedupe key make a later retry safe."""
    if handler is None:
        raise RuntimeError("queue not started")
    for attempt in (1, 2):
        try:
            await handler(event)
            return
        except DBAPIError as exc:
            # A pooled connection broken by a database restart (no pre-ping): it is dropped from
            # the pool, and the event is tried once more on a fresh one.
            if attempt == 1 and exc.connection_invalidated:
                log.warning("inbound_event_retried_after_lost_connection", channel=event.channel)
                continue
            log.exception("inbound_event_failed", channel=event.channel, event_id=event.channel_event_id)
            return
        except Exception:
            log.exception("inbound_event_failed", channel=event.channel, event_id=event.channel_event_id)
            return
