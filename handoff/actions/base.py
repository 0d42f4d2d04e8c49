"""What every action shares: one transaction, its audit rows, and hub events held until
the commit succeeded (as Zulip's `transaction.on_commit(send_event)`).

    async with atomic(ctx) as (s, after):
        ...change rows, audit.record(s, ...)...
        after.publish(topic, event)      # published only once the commit succeeded
        after.call(deliver, target, ...)  # e.g. send to the channel, after the commit too

A failed transaction (an exception inside, or a failed commit) publishes and calls nothing.
The hot writing actions (the inbound step, delivery statuses) use `grouped` instead: on
SQLite they share one writer transaction with the ones waiting beside them (casecore.writer).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casecore.db import transaction, writer_turn
from casecore.lifecycle import CONVERSATION, InvalidTransition
from casecore.writer import GroupRolledBack, writer_groups
from handoff.hub import QUEUE_TOPIC, Hub, conversation_topic

log = structlog.get_logger(__name__)
T = TypeVar("T")


class ActionError(Exception):
    """Refused. `status` is the HTTP status to answer; `extra` goes into the error body
    (e.g. `holder`: who holds the conversation)."""

    def __init__(self, status: int, message: str, *, plain: bool = False, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.plain = plain  # answered as `{"detail": message}` (routes that always did so)
        self.extra = {k: v for k, v in extra.items() if v is not None}

    @property
    def holder(self) -> dict[str, Any] | None:
        return self.extra.get("holder")


@dataclass
class OnCommit:
    """Hub events and calls an action queues while its transaction is open, run in the order
    queued (a closing message reaches the page before the "closed" status)."""

    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    _steps: list[Callable[[_Hosts], Awaitable[Any]]] = field(default_factory=list)

    def publish(self, topic: str, event: dict[str, Any]) -> None:
        self.events.append((topic, event))
        self._steps.append(lambda ctx: ctx.hub.publish(topic, event))

    def call(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> None:
        self._steps.append(lambda _ctx: fn(*args, **kwargs))

    def status_changed(self, conversation_id: int, status: str) -> None:
        """The resident's page and every console watching learn the owner changed."""
        self.publish(conversation_topic(conversation_id), {
            "type": "conversation_status", "conversation_id": conversation_id, "conversation_status": status,
        })

    def queue_changed(self, conversation_id: int) -> None:
        self.publish(QUEUE_TOPIC, {"type": "queue_changed", "conversation_id": conversation_id})

    async def flush(self, ctx: _Hosts) -> None:
        steps, self._steps, self.events = self._steps, [], []
        for step in steps:
            await step(ctx)


class _Hosts(Protocol):
    """What an action needs of its host: the session factory and the hub (the app context,
    or the router for the inbound step)."""

    sessions: async_sessionmaker[AsyncSession]
    hub: Hub


@asynccontextmanager
async def atomic(ctx: _Hosts, *, writer: bool = False) -> AsyncIterator[tuple[AsyncSession, OnCommit]]:
    """One action's unit of work; what it queued on `OnCommit` runs after the commit.
    `writer`: a hot writing path (the inbound step) that takes its turn as SQLite's one writer
    (casecore.db.writer_turn) until the commit, not through the after-commit calls."""
    after = OnCommit()
    async with writer_turn(ctx.sessions) if writer else contextlib.nullcontext(), transaction(ctx.sessions) as s:
        yield s, after
    await after.flush(ctx)


async def grouped(ctx: _Hosts, work: Callable[[AsyncSession, OnCommit], Awaitable[T]]) -> T:
    """A hot writing action: `work(session, after)` changes rows only (it may run twice), and
    what it queued on `after` runs once its transaction committed. On SQLite it is a member of
    the writer's group commit (casecore.writer) and runs again alone if another member's failure
    rolled the group back; elsewhere it is `atomic`."""
    groups = writer_groups(ctx.sessions)
    if groups is None:
        async with atomic(ctx) as (s, after):
            return await work(s, after)
    after = OnCommit()
    try:
        result, committed = await groups.run(lambda s: work(s, after), ctx.sessions)
        await committed
    except GroupRolledBack:
        log.info("write_group_rolled_back_running_alone")
        after = OnCommit()
        result, committed = await groups.run(lambda s: work(s, after), ctx.sessions, alone=True)
        try:
            await committed
        except GroupRolledBack as failed:  # its own commit failed: the database's error
            raise failed.__cause__ or failed from None
    await after.flush(ctx)
    return result


def conversation_next(current: str, trigger: str) -> str:
    """The conversation machine's answer, as a 409 the API can pass on."""
    try:
        return CONVERSATION.next(current, trigger)
    except InvalidTransition as exc:
        raise ActionError(409, str(exc)) from None
