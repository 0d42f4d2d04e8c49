"""SQLite's one writer, shared: a group commit for the hot writing actions (issue 19).

SQLite lets one transaction write at a time. The inbound step and the delivery-status write
used to take that turn one after another, each with its own session, BEGIN, COMMIT (an fsync)
and pool return: about 1 ms of a 7 ms event, twice per event. Here, a member that finishes
while others wait for the turn leaves the transaction open for them, and one commit ends the
group:

    result, committed = await writer_groups(sessions).run(work, sessions)   # work(session) -> result
    await committed                      # then run what waits for the commit

- Each member's work is flushed before the next one starts, so its own errors (a racing
  redelivery's unique key) are raised to it alone. The transaction is then rolled back, and
  the members before it, whose work went with it, get `GroupRolledBack`: they run again alone
  (`run(work, alone=True)`), so their work must be safe to repeat. It only changes rows in the
  session; what must wait for the commit waits for `committed`.
- A group is closed by whichever comes first: no member waiting, `max_members`, `max_age`
  since it began, or the commit queued behind the members that were waiting when the first
  one finished (so a busy stream of writers cannot keep one transaction open).
- Any other writer that takes the turn (`alone()`) commits an open group first: a transaction
  of its own beside the open one would wait in SQLite's busy handler for a commit queued behind
  it.

PostgreSQL needs none of it (`writer_groups` is None there): its writers run at once."""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

T = TypeVar("T")


class GroupRolledBack(Exception):
    """Another member of this write group failed (or the group's commit did): this member's
    work was rolled back with the group and was not committed."""


@dataclass(eq=False)
class _Group:
    session: AsyncSession
    began: float
    committed: asyncio.Future[None]
    members: int = 0
    closing: bool = False  # its commit is queued on the turn


@dataclass(eq=False)
class WriterGroups:
    """The writer turn of one SQLite engine in one event loop, and its open group."""

    # (no session factory held: this object is the value of a table weakly keyed by the engine,
    # which the factory holds; each member brings its own)
    loop: asyncio.AbstractEventLoop
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Bounds on one group: its members' events wait for the commit (their replies, their
    # delivery statuses), so a group is short.
    max_members: int = 16
    max_age: float = 0.05
    commits: int = 0  # groups committed (tests, benchmarks)
    _open: _Group | None = None
    _waiting: int = 0
    _closers: set[asyncio.Task[None]] = field(default_factory=set)  # held: the loop keeps only weak references

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]], sessions: async_sessionmaker[AsyncSession],
                  *, alone: bool = False) -> tuple[T, asyncio.Future[None]]:
        """`work` in the writer's transaction (a new group's session from `sessions`); returns its
        result and a future that is done when the transaction committed (or raises
        GroupRolledBack). Errors of `work` itself are raised here, after the roll-back."""
        self._waiting += 1
        try:
            await self.turn.acquire()
        finally:
            self._waiting -= 1
        try:
            if alone:
                await self._close_open()
            group = self._open or _Group(sessions(), time.monotonic(), self.loop.create_future())
            self._open = None
            try:
                result = await work(group.session)
                await group.session.flush()
            except BaseException:
                await self._roll_back(group)
                raise
            group.members += 1
            if not alone and self._waiting and group.members < self.max_members \
                    and time.monotonic() - group.began < self.max_age:
                self._open = group  # the next member takes the turn with it open
                if not group.closing:
                    group.closing = True
                    closer = asyncio.create_task(self._close_later(group), name="writer-group-commit")
                    self._closers.add(closer)
                    closer.add_done_callback(self._closers.discard)
            else:
                await self._commit(group)
        finally:
            self.turn.release()
        return result, group.committed

    @contextlib.asynccontextmanager
    async def alone(self) -> AsyncIterator[None]:
        """The turn for a writer with a transaction of its own (an open group is committed first)."""
        async with self.turn:
            await self._close_open()
            yield

    async def _close_open(self) -> None:
        group, self._open = self._open, None
        if group is not None:
            await self._commit(group)

    async def _close_later(self, group: _Group) -> None:
        try:
            async with self.turn:  # queued behind the members already waiting
                if self._open is group:
                    self._open = None
                    await self._commit(group)
        except asyncio.CancelledError:
            # The loop is stopping (its members were cancelled too, so their events stay in the
            # inbox's journal and run again): rolled back, and its connection given back, not
            # left holding SQLite's write lock until the garbage collector finds it.
            if self._open is group:
                self._open = None
                await self._roll_back(group)
            raise

    async def _commit(self, group: _Group) -> None:
        try:
            await group.session.commit()
        except BaseException as exc:
            await self._roll_back(group, exc)  # (closes the session)
            if not isinstance(exc, Exception):
                raise
            return
        await group.session.close()
        self.commits += 1
        if not group.committed.done():
            group.committed.set_result(None)

    async def _roll_back(self, group: _Group, cause: BaseException | None = None) -> None:
        with contextlib.suppress(Exception):
            await group.session.rollback()
        await group.session.close()
        if not group.committed.done():
            failed = GroupRolledBack("the write group was rolled back")
            failed.__cause__ = cause
            group.committed.set_exception(failed)
            group.committed.exception()  # retrieved: a group with no member left waiting warns nothing


_groups: weakref.WeakKeyDictionary[Any, WriterGroups] = weakref.WeakKeyDictionary()


def writer_groups(sessions: async_sessionmaker[AsyncSession]) -> WriterGroups | None:
    """The writer groups of this session factory's SQLite engine in the running loop; None on
    other databases (or a factory without one engine)."""
    bind = sessions.kw.get("bind")
    if bind is None or bind.dialect.name != "sqlite":
        return None
    loop = asyncio.get_running_loop()
    groups = _groups.get(bind.sync_engine)
    if groups is None or groups.loop is not loop:
        groups = WriterGroups(loop)
        _groups[bind.sync_engine] = groups
    return groups
