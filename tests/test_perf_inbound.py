"""The inbound step's statements, plans and delivery bookkeeping on the embedded default
(issue 19), as behaviour: how many statements an event runs, that each finds its rows by index,
that deliveries finishing together are recorded together and none is lost, and that the risk
encoder's cache answers a repeated text as the encoder did. No timings: bench/inbound_cpu.py."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select

from casecore.db import transaction
from casecore.models import Message
from handoff.events import InboundEvent
from tests.conftest import Running


class Sink:
    channel = "line"

    def __init__(self, fail: set[str] | None = None) -> None:
        self.sent: list[Any] = []
        self.fail = fail or set()

    async def send(self, target: Any, messages: Any) -> None:
        from handoff.delivery import DeliveryError

        await asyncio.sleep(0)
        if target.external_user_id in self.fail:
            raise DeliveryError("refused by the stand-in")
        self.sent.append(target)


def _event(user: str, text: str = "家賃が払えなくて困っています") -> InboundEvent:
    return InboundEvent(channel="line", channel_event_id=uuid.uuid4().hex, external_user_id=user,
                        profile_id="minato-tokyo", text=text, reply_context={"reply_token": uuid.uuid4().hex})


class Statements:
    def __init__(self, running: Running) -> None:
        self.engine = running.ctx.engine.sync_engine
        self.seen: list[tuple[str, Any]] = []

    def __enter__(self) -> Statements:
        self.task = asyncio.current_task()  # the caller's statements only (not a background job's)
        sa_event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc: object) -> None:
        sa_event.remove(self.engine, "before_cursor_execute", self._on)

    def _on(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if asyncio.current_task() is self.task:
            self.seen.append((statement, parameters))

    @property
    def dml(self) -> list[tuple[str, Any]]:
        return [(s, p) for s, p in self.seen if s.split()[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE")]


async def test_a_first_and_a_later_message_run_few_statements_each_by_index(running_sqlite: Running) -> None:
    running = running_sqlite
    running.ctx.senders.register(Sink())  # type: ignore[arg-type]
    router = running.ctx.router
    with Statements(running) as first:
        result = await router.process(_event("U-first"))
    assert result.messages and not result.duplicate
    with Statements(running) as later:
        again = await router.process(_event("U-first", "1"))
    assert again.conversation_id == result.conversation_id
    # A first message: no look-up of a conversation or of consents a brand-new contact cannot
    # have, the contact point's row comes back from its INSERT, the conversation is written once.
    first_sql = [s for s, _ in first.dml]
    assert not any("FROM consent_record" in s for s in first_sql), first_sql
    assert sum(s.startswith("SELECT conversation.") for s in first_sql) == 0
    assert sum(s.startswith("SELECT contact_point.") for s in first_sql) == 1
    assert sum(s.startswith("UPDATE conversation") for s in first_sql) == 1
    # one read in all: the contact point, its open conversation and "seen" (store.resident_of)
    assert sum(s.startswith("SELECT") for s in first_sql) == 1, first_sql
    assert len(first.dml) <= 8, first_sql
    later_sql = [s for s, _ in later.dml]
    assert sum(s.startswith("UPDATE conversation") for s in later_sql) == 1, later_sql
    # a later message reads once too, and not the consent ledger (only a withdrawal needs it)
    assert sum(s.startswith("SELECT") for s in later_sql) == 1, later_sql
    assert not any("FROM consent_record" in s for s in later_sql), later_sql
    assert len(later.dml) <= 7, later_sql
    # Every statement of a later message finds its rows by index: nothing grows with the rows stored.
    async with running.ctx.engine.connect() as conn:
        for statement, params in later.dml:
            if statement.startswith("INSERT"):
                continue
            plan = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, tuple(params or ()))).all()
            scans = [row[3] for row in plan if row[3].startswith("SCAN")]
            assert not scans, (statement, scans)


async def test_deliveries_finishing_together_are_all_recorded_and_a_failure_stays_its_own(running_sqlite: Running) -> None:
    running = running_sqlite
    running.ctx.senders.register(Sink(fail={"U-refused"}))  # type: ignore[arg-type]
    router = running.ctx.router
    users = [f"U-{i}" for i in range(6)] + ["U-refused"]
    results = await asyncio.gather(*(router.process(_event(u)) for u in users))
    async with transaction(running.ctx.sessions) as s:
        rows = (await s.execute(select(Message.conversation_id, Message.delivery_status)
                                .where(Message.direction == "out"))).all()
    by_conv: dict[int, set[str | None]] = {}
    for conv_id, status in rows:
        by_conv.setdefault(conv_id, set()).add(status)
    refused = results[-1].conversation_id
    for r in results[:-1]:
        assert by_conv[r.conversation_id] == {"sent"}
    assert by_conv[refused] == {"failed"}


async def test_sqlite_inbound_writers_take_turns_in_process(running_sqlite: Running) -> None:
    """One writing inbound transaction at a time on SQLite, handed over on the event loop (not
    through SQLite's sleeping busy handler); many conversations at once all complete."""
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from casecore.writer import writer_groups

    running = running_sqlite
    groups = writer_groups(running.ctx.sessions)
    assert groups is not None and writer_groups(running.ctx.sessions) is groups
    turn = groups.turn
    running.ctx.senders.register(Sink())  # type: ignore[arg-type]
    seen_locked: list[bool] = []
    original = running.ctx.router.profiles.get

    def spy(profile_id: str | None) -> Any:  # called inside the inbound transaction
        seen_locked.append(turn.locked())
        return original(profile_id)

    running.ctx.router.profiles.get = spy  # type: ignore[method-assign]
    try:
        results = await asyncio.gather(*(running.ctx.router.process(_event(f"U-turn-{i}")) for i in range(8)))
    finally:
        running.ctx.router.profiles.get = original  # type: ignore[method-assign]
    assert all(r.messages for r in results) and len({r.conversation_id for r in results}) == 8
    assert seen_locked and all(seen_locked)
    assert not turn.locked()
    pg = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:5432/test")  # never connected
    assert writer_groups(async_sessionmaker(pg)) is None
    await pg.dispose()


def test_the_encoder_is_asked_once_per_text_and_its_cached_scores_are_the_same() -> None:
    from i18n import risk
    from i18n.risk import learned

    model = learned.model(risk.KINDS)
    assert model is not None, learned.status(risk.KINDS)
    calls: list[str] = []
    real = model.encoder

    class Counting:
        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

        def query(self, text: str) -> Any:
            calls.append(text)
            return real.query(text)

    model.encoder = Counting()
    try:
        text = f"明日の午後に区役所へ行って家賃の相談をしたいと思っています ({uuid.uuid4().hex[:6]})"
        first = risk.screen(text, language="ja")
        second = risk.screen(text, language="ja")
        other = risk.screen(text + "。", language="ja")
    finally:
        model.encoder = real
    # the repeat came from the cache; the changed text went to the encoder
    assert first == second and len(calls) == 2 and not other


async def test_delivery_statuses_wait_their_turn_as_sqlite_writer(running_sqlite: Running) -> None:
    """The delivery-status write takes the same writer turn as the inbound step: it used to
    meet an inbound transaction holding SQLite's lock and sleep in SQLite's busy handler."""
    from casecore.writer import writer_groups
    from handoff.actions.messages import record_deliveries

    running = running_sqlite
    running.ctx.senders.register(Sink())  # type: ignore[arg-type]
    result = await running.ctx.router.process(_event("U-turn-status"))
    out_ids = result.message_ids[1:]
    groups = writer_groups(running.ctx.sessions)
    assert groups is not None
    turn = groups.turn
    held_while_writing: list[bool] = []

    def on_sql(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("UPDATE message SET delivery_status"):
            held_while_writing.append(turn.locked())

    engine = running.ctx.engine.sync_engine
    sa_event.listen(engine, "before_cursor_execute", on_sql)
    try:
        async with turn:  # an inbound step is writing: the status write waits on the event loop
            task = asyncio.create_task(record_deliveries(running.ctx, {"failed": out_ids}))
            await asyncio.sleep(0)
            assert not held_while_writing
        await asyncio.wait_for(task, 10)
    finally:
        sa_event.remove(engine, "before_cursor_execute", on_sql)
    assert held_while_writing == [True]  # written holding the turn (its own, after the step's)
    async with transaction(running.ctx.sessions) as s:
        statuses = set((await s.scalars(select(Message.delivery_status).where(Message.id.in_(out_ids)))).all())
    assert statuses == {"failed"}


async def _raw_texts(running: Running, conversation_id: int) -> list[tuple[str, str | None]]:
    from sqlalchemy import text

    async with running.ctx.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT direction, text FROM message WHERE conversation_id = :c ORDER BY id"),
                                   {"c": conversation_id})).all()
    return [(d, t) for d, t in rows]


async def test_the_bots_replies_are_sealed_under_the_residents_key_and_follow_the_message(running_sqlite: Running) -> None:
    """The resident's message and the bot's replies (written in one flush) are each a v2 token
    under the resident's own data key, and the replies' ids follow the message they answer."""
    from casecore.models import ContactPoint, Conversation

    running = running_sqlite
    running.ctx.senders.register(Sink())  # type: ignore[arg-type]
    first = await running.ctx.router.process(_event("U-sealed", "山田花子です。家賃が払えません"))
    later = await running.ctx.router.process(_event("U-sealed", "1"))
    assert first.message_ids == sorted(first.message_ids) and later.message_ids[0] > first.message_ids[-1]
    async with transaction(running.ctx.sessions) as s:
        conv = await s.get(Conversation, first.conversation_id)
        kid = (await s.get(ContactPoint, conv.contact_point_id)).data_key_id
        texts = (await s.scalars(select(Message.text).where(Message.conversation_id == conv.id).order_by(Message.id))).all()
    assert kid and texts[0] == "山田花子です。家賃が払えません" and all(texts)
    raw = await _raw_texts(running, first.conversation_id)
    assert [d for d, _ in raw].count("out") >= 2
    assert all(t.startswith(f"v2.{kid}.") for _, t in raw), raw


async def test_a_resident_from_before_per_resident_keys_gets_one_for_the_bots_replies_too(running_sqlite: Running) -> None:
    from sqlalchemy import text

    from casecore import crypto
    from casecore.models import ContactPoint

    running = running_sqlite
    running.ctx.senders.register(Sink())  # type: ignore[arg-type]
    cipher = crypto.cipher()
    # A contact point as revision 0009 found them: no key. Made just now, so the retention sweep
    # (which removes old contact points with nothing open) leaves it alone.
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    async with running.ctx.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO contact_point (id, profile_id, channel, external_id, external_id_index, blocked, created_at) "
            "VALUES (88, 'minato-tokyo', 'line', :ext, :idx, 0, :now)"),
            {"ext": cipher.encrypt("U-legacy"), "idx": cipher.blind_index("line:U-legacy"), "now": now})
    result = await running.ctx.router.process(_event("U-legacy"))
    assert result.messages
    async with transaction(running.ctx.sessions) as s:
        kid = (await s.get(ContactPoint, 88)).data_key_id
    raw = await _raw_texts(running, result.conversation_id)
    assert kid and [d for d, _ in raw].count("out") >= 1
    assert all(t.startswith(f"v2.{kid}.") for _, t in raw), raw


async def test_a_message_being_translated_holds_no_one_elses_step(running_sqlite: Running) -> None:
    """Translation (100-300 ms) runs before the SQLite writer turn, in the conversation's
    language as its last step left it: another resident's message is answered meanwhile; the
    translated one is stored with its translation once the translator answers."""
    from casecore.models import Message
    from i18n.translation.translator import TranslationResult

    running = running_sqlite
    running.ctx.senders.register(Sink())  # type: ignore[arg-type]
    router = running.ctx.router
    gate, asked = asyncio.Event(), asyncio.Event()

    class SlowTranslator:
        slow = False

        async def translate(self, text: str, source: str, target: str, *, on_confidence: Any = None) -> Any:
            if self.slow and not gate.is_set():
                asked.set()
                await gate.wait()
            return TranslationResult(f"[{target}] {text}", source, target, "translated", confidence=0.9)

    translator = SlowTranslator()
    previous, router.translator = router.translator, translator
    try:
        first = InboundEvent(channel="line", channel_event_id=uuid.uuid4().hex, external_user_id="U-vi",
                             profile_id="minato-tokyo", text="Tôi cần giúp đỡ về tiền thuê nhà", language_hint="vi",
                             reply_context={"reply_token": uuid.uuid4().hex})
        assert (await router.process(first)).language == "vi"
        translator.slow = True
        later = first.model_copy(update={"channel_event_id": uuid.uuid4().hex, "text": "Tôi mất việc rồi",
                                         "reply_context": {"reply_token": uuid.uuid4().hex}})
        translated = asyncio.create_task(router.process(later))
        await asyncio.wait_for(asked.wait(), 10)
        other = await asyncio.wait_for(router.process(_event("U-ja-meanwhile")), 10)
        assert other.messages and not translated.done()
        gate.set()
        done = await asyncio.wait_for(translated, 10)
    finally:
        router.translator = previous
    async with transaction(running.ctx.sessions) as s:
        row = await s.get(Message, done.message_ids[0])
    assert row is not None and row.text == "Tôi mất việc rồi" and row.translation == "[ja] Tôi mất việc rồi"
