"""SQLite's group commit (casecore.writer): writers waiting together share one transaction and
one commit; a member's own error is its own, and the members rolled back with it run again
alone; a writer with a transaction of its own never waits behind an open group."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from casecore.db import make_engine, make_sessionmaker, transaction, writer_turn
from casecore.writer import writer_groups
from handoff.actions.base import OnCommit, grouped


@pytest.fixture
async def engine(tmp_path: Path) -> Any:
    eng = make_engine(f"sqlite:///{tmp_path / 'groups.db'}")
    async with eng.begin() as conn:
        await conn.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, label TEXT NOT NULL)"))
    yield eng
    await eng.dispose()


def _commits(engine: AsyncEngine) -> list[int]:
    seen: list[int] = []
    sa_event.listen(engine.sync_engine, "commit", lambda _conn: seen.append(1))
    return seen


async def _labels(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return [r[0] for r in (await conn.execute(text("SELECT label FROM item ORDER BY id"))).all()]


def _insert(item_id: int | None, label: str, trace: list[str] | None = None) -> Any:
    async def work(s: AsyncSession, after: OnCommit | None = None) -> str:
        if item_id is None:
            await s.execute(text("INSERT INTO item (label) VALUES (:label)"), {"label": label})
        else:
            await s.execute(text("INSERT INTO item (id, label) VALUES (:id, :label)"), {"id": item_id, "label": label})
        if trace is not None:
            trace.append(f"work {label}")
        if after is not None and trace is not None:
            after.call(_note, trace, f"after {label}")
        return label
    return work


async def _note(trace: list[str], what: str) -> None:
    trace.append(what)


async def test_writers_waiting_together_share_one_commit(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    groups = writer_groups(sessions)
    assert groups is not None and writer_groups(sessions) is groups
    commits = _commits(engine)
    first_done: list[bool] = []

    async def first() -> str:
        result, committed = await groups.run(_insert(None, "a"), sessions)
        first_done.append(committed.done())  # the others were waiting: the group stayed open
        await committed
        return result

    results = await asyncio.gather(first(), *(_member(groups, sessions, label) for label in "bcdefgh"))
    assert results == list("abcdefgh")
    assert first_done == [False]
    assert len(commits) == 1 and groups.commits == 1
    assert await _labels(engine) == list("abcdefgh")


async def _member(groups: Any, sessions: Any, label: str) -> str:
    result, committed = await groups.run(_insert(None, label), sessions)
    await committed
    return result


async def test_a_writer_with_no_one_waiting_commits_at_once(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    groups = writer_groups(sessions)
    assert groups is not None
    _, committed = await groups.run(_insert(None, "alone"), sessions)
    assert committed.done() and committed.exception() is None
    assert await _labels(engine) == ["alone"]


async def test_a_group_is_bounded_in_members(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    groups = writer_groups(sessions)
    assert groups is not None and writer_groups(make_sessionmaker(engine)) is groups  # one turn per engine
    groups.max_members = 3
    await asyncio.gather(*(_member(groups, sessions, f"m{i}") for i in range(9)))
    assert groups.commits == 3
    assert len(await _labels(engine)) == 9


async def test_a_failing_member_raises_its_own_error_and_the_ones_before_it_run_again_alone(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    ctx = SimpleNamespace(sessions=sessions, hub=None)
    trace: list[str] = []
    outcomes = await asyncio.gather(
        grouped(ctx, _insert(1, "first", trace)),  # type: ignore[arg-type]
        grouped(ctx, _insert(1, "clash", trace)),  # type: ignore[arg-type]  # the same key: its own flush fails
        grouped(ctx, _insert(3, "third", trace)),  # type: ignore[arg-type]
        return_exceptions=True,
    )
    assert outcomes[0] == "first" and outcomes[2] == "third"
    assert isinstance(outcomes[1], IntegrityError)
    assert await _labels(engine) == ["first", "third"]
    # "first" ran twice (rolled back with the clash, then alone); what waits for the commit ran once
    assert trace.count("work first") == 2 and trace.count("after first") == 1
    assert trace.count("after third") == 1 and "after clash" not in trace


async def test_a_failed_commit_runs_the_members_again_alone(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    sessions = make_sessionmaker(engine)
    ctx = SimpleNamespace(sessions=sessions, hub=None)
    real_commit = AsyncSession.commit
    failures = [OperationalError("COMMIT", {}, Exception("disk I/O error"))]

    async def flaky_commit(self: AsyncSession) -> None:
        if failures:
            raise failures.pop()
        await real_commit(self)

    monkeypatch.setattr(AsyncSession, "commit", flaky_commit)
    trace: list[str] = []
    results = await asyncio.gather(*(grouped(ctx, _insert(None, label, trace)) for label in "xyz"))  # type: ignore[arg-type]
    assert results == list("xyz")
    assert sorted(await _labels(engine)) == list("xyz")  # each once (in the order they ran again)
    assert sorted(t for t in trace if t.startswith("after")) == ["after x", "after y", "after z"]


async def test_a_commit_that_fails_alone_raises_the_database_error(engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    ctx = SimpleNamespace(sessions=make_sessionmaker(engine), hub=None)

    async def broken_commit(self: AsyncSession) -> None:
        raise OperationalError("COMMIT", {}, Exception("disk full"))

    monkeypatch.setattr(AsyncSession, "commit", broken_commit)
    with pytest.raises(OperationalError):
        await grouped(ctx, _insert(None, "never"))  # type: ignore[arg-type]
    monkeypatch.undo()
    assert await _labels(engine) == []


async def test_a_writer_alone_commits_an_open_group_before_its_own_transaction(engine: AsyncEngine) -> None:
    sessions = make_sessionmaker(engine)
    groups = writer_groups(sessions)
    assert groups is not None
    order: list[str] = []

    async def solo() -> None:
        async with writer_turn(sessions), transaction(sessions) as s:
            await s.execute(text("INSERT INTO item (label) VALUES ('solo')"))
            order.append("solo")

    started = time.monotonic()
    first = asyncio.create_task(_member(groups, sessions, "a"))
    await asyncio.sleep(0)  # "a" holds the turn
    alone = asyncio.create_task(solo())
    await asyncio.sleep(0)
    later = asyncio.create_task(_member(groups, sessions, "b"))  # waiting when "a" finishes: "a" leaves the group open
    await asyncio.wait_for(asyncio.gather(first, alone, later), 10)
    # Without the open group's commit first, "solo" met its write lock and slept in the busy handler.
    assert time.monotonic() - started < 5
    assert await _labels(engine) == ["a", "solo", "b"]


async def test_on_postgresql_there_are_no_groups_and_grouped_is_one_transaction(pg_database: str) -> None:
    eng = make_engine(pg_database)
    try:
        async with eng.begin() as conn:
            await conn.execute(text("CREATE TABLE item (id SERIAL PRIMARY KEY, label TEXT NOT NULL)"))
        sessions = make_sessionmaker(eng)
        assert writer_groups(sessions) is None
        ctx = SimpleNamespace(sessions=sessions, hub=None)
        trace: list[str] = []
        commits = _commits(eng)
        assert await asyncio.gather(*(grouped(ctx, _insert(None, x, trace)) for x in "pq")) == ["p", "q"]  # type: ignore[arg-type]
        assert len(commits) == 2 and sorted(await _labels(eng)) == ["p", "q"]
        assert sorted(t for t in trace if t.startswith("after")) == ["after p", "after q"]
    finally:
        await eng.dispose()


async def test_an_engine_is_not_kept_alive_by_its_writer_groups(tmp_path: Path) -> None:
    import gc
    import weakref

    eng = make_engine(f"sqlite:///{tmp_path / 'gone.db'}")
    sessions = make_sessionmaker(eng)
    assert writer_groups(sessions) is not None
    gone = weakref.ref(eng.sync_engine)
    await eng.dispose()
    del eng, sessions
    gc.collect()
    assert gone() is None


def test_an_open_group_is_rolled_back_when_its_loop_stops(tmp_path: Path) -> None:
    """The loop stops with a group open and its commit still queued (its members cancelled):
    the transaction is rolled back and its connection returned, so SQLite's write lock is not
    held until garbage collection."""
    import sqlite3

    path = tmp_path / "stopping.db"
    pools: list[Any] = []

    async def main() -> None:
        eng = make_engine(f"sqlite:///{path}")
        pools.append(eng.sync_engine.pool)
        async with eng.begin() as conn:
            await conn.execute(text("CREATE TABLE item (id INTEGER PRIMARY KEY, label TEXT NOT NULL)"))
        sessions = make_sessionmaker(eng)
        groups = writer_groups(sessions)
        assert groups is not None
        groups._waiting += 1  # as if a member waited: "a" leaves the group open, its commit queued
        _, committed = await groups.run(_insert(None, "a"), sessions)
        assert groups._closers and not committed.done()
        await groups.turn.acquire()  # a writer holds the turn: the commit still waits when the loop stops

    asyncio.run(main())
    assert pools[0].checkedout() == 0
    with sqlite3.connect(path, timeout=1) as db:  # no write lock left behind, and "a" rolled back
        db.execute("INSERT INTO item (label) VALUES ('after')")
        assert [r[0] for r in db.execute("SELECT label FROM item")] == ["after"]
