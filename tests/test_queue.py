"""The inbox queue keeps order per conversation, in process and on Redis Streams."""

from __future__ import annotations

import asyncio
import random

import pytest
from redis.asyncio import Redis

from casecore import crypto
from handoff.events import InboundEvent
from handoff.queue import InProcessQueue, RedisStreamQueue
from tests.conftest import TEST_SECRET
from tests.requirements import require


@pytest.fixture(autouse=True)
def _field_cipher() -> None:
    """Redis entries are sealed with the field cipher, as the app configures it."""
    crypto.configure(crypto.FieldCipher.from_secrets(TEST_SECRET))


def _events(users: int, per_user: int) -> list[InboundEvent]:
    evs = [InboundEvent(channel="line", channel_event_id=f"{u}-{i}", external_user_id=f"u{u}", profile_id="p", text=str(i))
           for u in range(users) for i in range(per_user)]
    return evs


async def _collect(queue, events: list[InboundEvent]) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = {}

    async def handler(ev: InboundEvent) -> None:
        await asyncio.sleep(random.random() / 500)  # interleave conversations
        seen.setdefault(ev.external_user_id, []).append(int(ev.text or 0))

    await queue.start(handler)
    for ev in events:
        await queue.submit(ev)
    await queue.join()
    return seen


async def test_in_process_queue_orders_per_conversation() -> None:
    q = InProcessQueue()
    seen = await _collect(q, _events(5, 30))
    assert all(v == list(range(30)) for v in seen.values()) and len(seen) == 5


async def test_failing_event_does_not_stop_the_queue() -> None:
    q = InProcessQueue()
    done: list[str] = []

    async def handler(ev: InboundEvent) -> None:
        if ev.text == "1":
            raise RuntimeError("boom")
        done.append(ev.text or "")

    await q.start(handler)
    for ev in _events(1, 3):
        await q.submit(ev)
    await q.join()
    assert done == ["0", "2"]


async def test_redis_streams_order_and_handover_between_processes(redis_url: str) -> None:
    require("Redis", True)
    r1, r2 = Redis.from_url(redis_url), Redis.from_url(redis_url)
    q1 = RedisStreamQueue(r1, shards=4, lease_ms=1500, prefix="t:inbox")
    q2 = RedisStreamQueue(r2, shards=4, lease_ms=1500, prefix="t:inbox")
    seen: dict[str, list[int]] = {}
    handled: set[str] = set()

    async def handler(ev: InboundEvent) -> None:
        # Delivery is at least once (an entry handled but not yet acknowledged when its process
        # stops is handled again); the router dedupes by event id, and so does this handler.
        if ev.channel_event_id in handled:
            return
        handled.add(ev.channel_event_id)
        seen.setdefault(ev.external_user_id, []).append(int(ev.text or 0))

    await q1.start(handler)
    await q2.start(handler)
    events = _events(6, 25)
    for ev in events[:75]:
        await q1.submit(ev)
    await q1.stop()  # one "process" goes away mid-run; the other takes its shards over
    for ev in events[75:]:
        await q2.submit(ev)
    await q2.join(timeout=20)
    await q2.stop()
    await r1.aclose()
    await r2.aclose()
    assert sorted(seen) == [f"u{i}" for i in range(6)]
    assert all(v == list(range(25)) for v in seen.values()), seen


async def test_redis_ack_is_one_round_trip_and_survives_a_lost_script(redis_url: str, monkeypatch) -> None:
    """A web process's acks: one pipeline of EVALSHA per batch, never a SCRIPT EXISTS first
    (redis-py's Script objects ask on every pipeline); a Redis that lost its scripts (restart,
    SCRIPT FLUSH) answers NOSCRIPT, the script is loaded again and each entry added once."""
    require("Redis", True)
    from redis.asyncio.client import Pipeline

    asked: list[object] = []
    original = Pipeline.immediate_execute_command

    async def recording(self, *args, **options):  # what a pipeline sends outside its batch
        asked.append(args[0])
        return await original(self, *args, **options)

    monkeypatch.setattr(Pipeline, "immediate_execute_command", recording)
    r = Redis.from_url(redis_url)
    q = RedisStreamQueue(r, shards=4, prefix="t:ack", consume=False)
    await q.start(lambda ev: asyncio.sleep(0))
    events = _events(8, 5)
    await asyncio.gather(*(q.submit(ev) for ev in events[:20]))
    assert asked == []  # no SCRIPT EXISTS, no SCRIPT LOAD: the batch alone
    await r.script_flush()
    await asyncio.gather(*(q.submit(ev) for ev in events[20:]))
    kept = [InboundEvent.model_validate_json(crypto.cipher().decrypt(fields[b"e"].decode()))
            for shard in range(4) for _, fields in await r.xrange(f"t:ack:{shard}")]
    await r.aclose()
    assert sorted(e.channel_event_id for e in kept) == sorted(e.channel_event_id for e in events)
