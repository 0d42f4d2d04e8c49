"""The inbox of issue 19: nothing acknowledged is ever lost (a crash between the ack and the
processing, redelivery), a full inbox answers 503, processing runs in consumers (in process,
or `madoguchi worker` processes on Redis Streams with balanced shard leases)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select

from casecore import crypto
from casecore.models import Message
from handoff.events import InboundEvent
from handoff.queue import InProcessQueue, QueueFull, RedisStreamQueue
from tests.conftest import TEST_SECRET, Running, make_settings
from tests.requirements import require
from tests.standins import line_webhook as wh
from tests.standins.line_fixtures import ACCESS_TOKEN, CHANNEL_SECRET, line_api, line_server  # noqa: F401
from tests.standins.stack import running_channels, settle, with_channels

TEXTS = ["家賃が払えなくて困っています", "Tôi mất việc rồi 😢", "<b>help</b> & 'quotes'", "仕事を失いました", "🙏🙏"]


@pytest.fixture(autouse=True)
def _field_cipher() -> None:
    crypto.configure(crypto.FieldCipher.from_secrets(TEST_SECRET))


def _events(users: int, per_user: int) -> list[InboundEvent]:
    return [InboundEvent(channel="line", channel_event_id=f"ev-{u}-{i}", external_user_id=f"U{u:032x}",
                         profile_id="minato-tokyo", text=f"{i}:{TEXTS[(u + i) % len(TEXTS)]}")
            for i in range(per_user) for u in range(users)]


async def _until(predicate, seconds: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def _order(handled: list[InboundEvent]) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = {}
    for ev in handled:
        seen.setdefault(ev.external_user_id, []).append(int((ev.text or "0").split(":")[0]))
    return seen


# ── in process: the journal ─────────────────────────────────────────────────────────────
async def test_a_crash_between_ack_and_processing_loses_nothing(tmp_path: Path) -> None:
    journal = tmp_path / "inbox.journal"
    first = InProcessQueue(consumers=2, journal=journal)
    processed: list[str] = []
    stuck = asyncio.Event()  # never set: the process "dies" while these are being processed

    async def handler(ev: InboundEvent) -> None:
        if ev.external_user_id.endswith("0"):  # resident 0's events complete before the crash
            processed.append(ev.channel_event_id)
            return
        await stuck.wait()

    await first.start(handler)
    events = _events(3, 4)
    for ev in events:
        await first.submit(ev)  # acknowledged: recorded before submit returns
    await _until(lambda: len(processed) == 4 and first.pending == 8)
    raw = journal.read_bytes()
    assert "家賃".encode() not in raw and b"ev-1-0" not in raw  # sealed on disk, as in Redis
    for t in first._tasks:  # the crash: no clean stop, nothing more written
        t.cancel()
    await asyncio.gather(*first._tasks, return_exceptions=True)
    first._journal.close()  # type: ignore[union-attr]

    again = InProcessQueue(consumers=3, journal=journal)
    replayed: list[InboundEvent] = []

    async def record(ev: InboundEvent) -> None:
        await asyncio.sleep(0)
        replayed.append(ev)

    await again.start(record)
    await again.join()
    # the 8 events not processed are replayed, each once, in order per resident; the 4 done are not
    assert sorted(e.channel_event_id for e in replayed) == sorted(e.channel_event_id for e in events
                                                                   if not e.external_user_id.endswith("0"))
    assert all(v == [0, 1, 2, 3] for v in _order(replayed).values()) and len(_order(replayed)) == 2
    assert replayed[0].text and ":" in replayed[0].text  # the words came back intact
    await again.stop()
    assert journal.read_bytes() == b""  # nothing outstanding: emptied


async def test_a_full_inbox_refuses_then_recovers(tmp_path: Path) -> None:
    q = InProcessQueue(max_pending=3, consumers=1, journal=tmp_path / "inbox.journal")
    gate = asyncio.Event()
    handled: list[str] = []

    async def handler(ev: InboundEvent) -> None:
        await gate.wait()
        handled.append(ev.channel_event_id)

    await q.start(handler)
    events = _events(2, 3)
    for ev in events[:3]:
        await q.submit(ev)
    with pytest.raises(QueueFull):
        await q.submit(events[3])  # not acknowledged: the channel redelivers it later
    gate.set()
    await q.join()
    for ev in events[3:]:
        await q.submit(ev)
    await q.join()
    assert sorted(handled) == sorted(e.channel_event_id for e in events)
    await q.stop()


async def test_consumers_keep_order_per_conversation_and_bound_concurrency() -> None:
    q = InProcessQueue(consumers=3)
    busy, most = 0, 0
    handled: list[InboundEvent] = []

    async def handler(ev: InboundEvent) -> None:
        nonlocal busy, most
        busy += 1
        most = max(most, busy)
        await asyncio.sleep(0.001)
        handled.append(ev)
        busy -= 1

    await q.start(handler)
    for ev in _events(8, 10):
        await q.submit(ev)
    await q.join()
    assert most <= 3 and len(handled) == 80
    assert all(v == list(range(10)) for v in _order(handled).values())
    await q.stop()


# ── the LINE webhook: 503 when full, redelivery after ──────────────────────────────────
@pytest.fixture
async def line_app(line_api, tmp_path: Path) -> AsyncIterator[Running]:  # noqa: F811
    from bots.line import line_router

    settings = with_channels(make_settings(tmp_path), line_channel_secret=CHANNEL_SECRET,
                             line_channel_access_token=ACCESS_TOKEN, line_api_base_url=line_api.base_url)
    async with running_channels(settings, "/webhooks/line", line_router) as running:
        yield running


async def _post(running: Running, raw: bytes) -> int:
    r = await running.client.post("/webhooks/line", content=raw,
                                  headers={"Content-Type": "application/json", "X-Line-Signature": wh.sign(CHANNEL_SECRET, raw)})
    return r.status_code


async def _stored(running: Running) -> int:
    async with running.ctx.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Message).where(Message.direction == "in")) or 0)


async def test_line_webhook_answers_503_when_full_and_the_redelivery_is_processed_once(line_app: Running, line_api) -> None:  # noqa: F811
    user = "U" + uuid.uuid4().hex
    queue = line_app.ctx.router.queue
    event_id = uuid.uuid4().hex[:26].upper()
    first = wh.text_event(user, "家賃が払えません、どうしたらいいですか 🙇", line_api.issue_reply_token(user, access_token=ACCESS_TOKEN),
                          event_id=event_id)
    queue.max_pending = 0  # full
    assert await _post(line_app, wh.body(first)) == 503
    await settle(line_app.ctx, line_app.ctx.extras["line"])
    assert await _stored(line_app) == 0 and line_api.messages_to(user) == []
    queue.max_pending = 10_000
    redelivered = wh.text_event(user, "家賃が払えません、どうしたらいいですか 🙇", None, redelivery=True, event_id=event_id)
    assert await _post(line_app, wh.body(redelivered)) == 200
    assert await _post(line_app, wh.body(redelivered)) == 200  # LINE retried once more: dropped
    await settle(line_app.ctx, line_app.ctx.extras["line"])
    assert await _stored(line_app) == 1
    assert line_api.messages_to(user)  # answered (pushed: the redelivery carries no reply token)


async def test_the_ack_path_only_enqueues(line_app: Running, line_api) -> None:  # noqa: F811
    """No call to LINE and no processing before the 200: the consumers do both afterwards."""
    user = "U" + uuid.uuid4().hex
    line_api.add_profile(user, language="vi")
    adapter = line_app.ctx.extras["line"]
    consumers = line_app.ctx.router.queue._tasks
    for t in consumers:  # stop processing, to look at what the ack alone did
        t.cancel()
    await asyncio.gather(*consumers, return_exceptions=True)
    follow = wh.follow_event(user, line_api.issue_reply_token(user, access_token=ACCESS_TOKEN))
    assert await _post(line_app, wh.body(follow)) == 200
    await adapter.drain()
    assert line_api.calls == [] and await _stored(line_app) == 0 and line_app.ctx.router.queue.pending == 1
    # the consumer (restarted) asks for the language and answers in it
    line_app.ctx.router.queue._tasks = [asyncio.create_task(line_app.ctx.router.queue._consume())]
    await settle(line_app.ctx, adapter)
    assert line_api.calls_to("getProfile") and line_api.messages_to(user)


# ── Redis Streams: backpressure, balanced leases, separate workers ───────────────────────
async def test_redis_shard_full_refuses(redis_url: str) -> None:
    require("Redis", True)
    r = Redis.from_url(redis_url)
    q = RedisStreamQueue(r, shards=1, prefix=f"t:{uuid.uuid4().hex[:6]}", consume=False, max_pending=2)
    await q.start(lambda ev: asyncio.sleep(0))
    events = _events(1, 3)
    await q.submit(events[0])
    await q.submit(events[1])
    with pytest.raises(QueueFull):
        await q.submit(events[2])
    await q.stop()
    await r.aclose()


async def test_redis_leases_are_shared_fairly_between_workers(redis_url: str) -> None:
    require("Redis", True)
    prefix = f"t:{uuid.uuid4().hex[:6]}"
    r1, r2 = Redis.from_url(redis_url), Redis.from_url(redis_url)
    handled: list[InboundEvent] = []
    ids: set[str] = set()

    async def handler(ev: InboundEvent) -> None:
        if ev.channel_event_id not in ids:  # at least once: dedupe as the router does
            ids.add(ev.channel_event_id)
            handled.append(ev)

    a = RedisStreamQueue(r1, shards=8, lease_ms=900, prefix=prefix)
    b = RedisStreamQueue(r2, shards=8, lease_ms=900, prefix=prefix)
    await a.start(handler)
    await _until(lambda: len(a.held) == 8)
    await b.start(handler)
    try:
        await _until(lambda: len(a.held) == 4 and len(b.held) == 4)  # one process held all 8 before
    except AssertionError:
        raise AssertionError(f"a {sorted(a.held)} {a._members} b {sorted(b.held)} {b._members}") from None
    assert not a.held & b.held
    events = _events(6, 5)
    for ev in events:
        await a.submit(ev)
    await a.join()
    assert len(handled) == 30 and all(v == list(range(5)) for v in _order(handled).values())
    await b.stop()
    await _until(lambda: len(a.held) == 8)  # the leaver's shards come back at once
    await a.stop()
    await r1.aclose()
    await r2.aclose()


async def test_a_worker_dying_mid_batch_loses_nothing(redis_url: str) -> None:
    """A consumer that dies with entries read but not acknowledged (no XACK, no release, no
    heartbeat): once its lease lapses the next consumer claims them (XAUTOCLAIM) and every
    event is processed, in order per conversation."""
    require("Redis", True)
    prefix = f"t:{uuid.uuid4().hex[:6]}"
    r1, r2 = Redis.from_url(redis_url), Redis.from_url(redis_url)
    started: list[str] = []

    async def stuck(ev: InboundEvent) -> None:  # the process freezes mid-batch
        started.append(ev.channel_event_id)
        await asyncio.Event().wait()

    a = RedisStreamQueue(r1, shards=2, lease_ms=600, prefix=prefix)
    await a.start(stuck)
    events = _events(4, 3)
    for ev in events:
        await a.submit(ev)
    await _until(lambda: len(started) >= 1)
    await asyncio.sleep(0.3)  # the shards' first batches are read (and stuck)
    for t in a._tasks:  # dies: nothing acknowledged, nothing released
        t.cancel()
    await asyncio.gather(*a._tasks, return_exceptions=True)
    handled: list[InboundEvent] = []
    seen: set[str] = set()

    async def handler(ev: InboundEvent) -> None:
        if ev.channel_event_id not in seen:
            seen.add(ev.channel_event_id)
            handled.append(ev)

    b = RedisStreamQueue(r2, shards=2, lease_ms=600, prefix=prefix)
    await b.start(handler)
    try:
        await b.join(timeout=20)
        assert seen == {ev.channel_event_id for ev in events}
        assert set(started) <= seen  # the ones the dead worker had begun were claimed, not lost
        assert all(v == list(range(3)) for v in _order(handled).values())
    finally:
        await b.stop()
        await r1.aclose()
        await r2.aclose()


async def test_an_event_under_a_shard_lease_takes_no_redis_lock(redis_url: str) -> None:
    """The consumer's lease stands for the conversation's Redis lock (two round trips an
    event); a conversation processed outside the lease (the web chat) still takes it."""
    from handoff.locks import LEASED, ConversationLocks

    require("Redis", True)
    r = Redis.from_url(redis_url)
    locks = ConversationLocks(r)
    taken: list[str] = []
    real = r.lock

    def spy(name: str, **kw):  # type: ignore[no-untyped-def]
        taken.append(name)
        return real(name, **kw)

    r.lock = spy  # type: ignore[method-assign]
    async with locks.hold("webchat:1"):
        pass
    assert len(taken) == 1

    async def leased() -> None:
        LEASED.set("line:U1")
        async with locks.hold("line:U1"):
            pass
        async with locks.hold("line:U2"):  # another conversation: locked as before
            pass

    await asyncio.create_task(leased())
    assert len(taken) == 2
    await r.aclose()


async def test_web_acks_and_a_worker_process_answers(line_api, pg_database: str, redis_url: str, tmp_path: Path) -> None:  # noqa: F811
    """`serve` with MADOGUCHI_INBOX_IN_WEB=false only enqueues; `madoguchi worker` (here its
    coroutine) processes and delivers through the channel's sender."""
    from bots.line import line_router
    from madoguchi.worker import run_worker

    settings = with_channels(make_settings(tmp_path, database_url=pg_database, redis_url=redis_url, inbox_in_web=False),
                             line_channel_secret=CHANNEL_SECRET, line_channel_access_token=ACCESS_TOKEN,
                             line_api_base_url=line_api.base_url)
    user = "U" + uuid.uuid4().hex
    async with running_channels(settings, "/webhooks/line", line_router) as web:
        token = line_api.issue_reply_token(user, access_token=ACCESS_TOKEN)
        assert await _post(web, wh.body(wh.text_event(user, "こんにちは、相談したいです", token))) == 200
        await asyncio.sleep(0.3)
        assert await _stored(web) == 0  # the web process did not process it
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(settings.model_copy(update={"migrate_on_start": False}), stop))
        try:
            deadline = time.monotonic() + 20
            while not line_api.messages_to(user):
                assert time.monotonic() < deadline and not worker.done(), "the worker did not answer"
                await asyncio.sleep(0.05)
            assert await _stored(web) == 1 and line_api.delivered[0].via == "reply"
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(worker, 20)


async def test_consumers_defer_to_acks_but_never_starve() -> None:
    """While webhooks are in flight the consumers wait for them (bounded): a stream of acks
    that never pauses still lets the queued events through."""
    from handoff.queue import WEBHOOKS_IN_FLIGHT

    q = InProcessQueue(consumers=2)
    handled: list[str] = []

    async def handler(ev: InboundEvent) -> None:
        handled.append(ev.channel_event_id)

    await q.start(handler)
    WEBHOOKS_IN_FLIGHT.enter()  # a webhook that never finishes
    try:
        for ev in _events(2, 3):
            await q.submit(ev)
        await asyncio.wait_for(q.join(), 30)
    finally:
        WEBHOOKS_IN_FLIGHT.leave()
    assert len(handled) == 6 and WEBHOOKS_IN_FLIGHT.n == 0
    await q.stop()
