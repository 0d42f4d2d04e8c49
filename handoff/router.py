"""The inbound path every channel uses: per-conversation order (a lock), then the inbound
action (handoff.actions.inbound: dedupe, store, bot or counsellor, one transaction, events
after commit), and delivery through the channel's sender."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from prometheus_client import Counter, Histogram
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casecore.types import utcnow
from dialogs.profile import ProfileRegistry
from dialogs.types import OutboundMessage
from handoff.actions import inbound
from handoff.actions import messages as messages_actions
from handoff.actions.inbound import ProcessResult
from handoff.delivery import DeliveryError, DeliveryTarget, SenderRegistry
from handoff.events import EventIgnored, InboundEvent
from handoff.hub import Hub
from handoff.locks import ConversationLocks

__all__ = ["ProcessResult", "Router"]

log = structlog.get_logger(__name__)
EVENTS = Counter("madoguchi_inbound_events_total", "Inbound events", ["channel", "outcome"])
STEP_SECONDS = Histogram("madoguchi_inbound_step_seconds", "Inbound event processing time", ["channel"])
RECENT_IDS = 10_000
DELIVERY_FAILURES = Counter("madoguchi_delivery_failures_total", "Outbound deliveries given up", ["channel"])


class Queue(Protocol):
    async def start(self, handler: Callable[[InboundEvent], Awaitable[object]]) -> None: ...
    async def submit(self, event: InboundEvent) -> None: ...
    async def join(self) -> None: ...
    async def stop(self) -> None: ...


class ChannelHooks(Protocol):
    """What a channel does in the consumer around processing (LINE: the profile's language,
    the loading animation): work kept off the webhook's ack."""

    async def prepare(self, event: InboundEvent) -> InboundEvent: ...
    def while_slow(self, event: InboundEvent) -> asyncio.TimerHandle | None: ...


# Hooks filled in by i18n when available: (text) -> language code or None, and a translator.
Detector = Callable[[str], str | None]


class Router:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        profiles: ProfileRegistry,
        senders: SenderRegistry,
        hub: Hub,
        queue: Queue,
        locks: ConversationLocks,
        *,
        max_chars: int = 4000,
        resume_after: timedelta = timedelta(minutes=30),
        detector: Detector | None = None,
        translator: Any | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.profiles = profiles
        self.senders = senders
        self.hub = hub
        self.queue = queue
        self.locks = locks
        self.max_chars = max_chars
        self.resume_after = resume_after
        self.detector = detector
        self.translator = translator
        self.clock = clock
        self.hooks: dict[str, ChannelHooks] = {}
        # Event ids queued here and not yet processed: a redelivery of one is dropped at the ack.
        # Once processed (or failed) the id is forgotten, so a redelivery after a failure is
        # processed again; the database's unique key stays the guard across processes.
        self._recent: OrderedDict[str, None] = OrderedDict()
        # Each conversation's language as its last step left it (a hint: the inbound step
        # translates ahead of SQLite's writer turn with it; the step itself stays the truth).
        self._languages: OrderedDict[str, str] = OrderedDict()
        self._delivery_statuses = _DeliveryStatuses(self)

    async def start(self) -> None:
        await self.queue.start(self.process)

    async def submit(self, event: InboundEvent) -> None:
        """What webhooks call: enqueue and return; the queue keeps per-conversation order.
        Raises QueueFull when the inbox is full (the webhook answers 503)."""
        if not getattr(self.queue, "all_processed_here", False):  # Redis: another process may process it
            await self.queue.submit(event)
            return
        key = f"{event.channel}:{event.channel_event_id}"
        if key in self._recent:
            EVENTS.labels(event.channel, "duplicate").inc()
            return
        self._recent[key] = None
        if len(self._recent) > RECENT_IDS:
            self._recent.popitem(last=False)
        try:
            await self.queue.submit(event)
        except BaseException:
            self._recent.pop(key, None)
            raise

    async def process(self, event: InboundEvent) -> ProcessResult:
        try:
            return await self._process(event)
        finally:
            self._recent.pop(f"{event.channel}:{event.channel_event_id}", None)

    async def _process(self, event: InboundEvent) -> ProcessResult:
        started = time.perf_counter()
        hooks = self.hooks.get(event.channel)
        async with self.locks.hold(event.conversation_key):
            slow = hooks.while_slow(event) if hooks is not None else None
            try:
                if hooks is not None:
                    event = await hooks.prepare(event)
                result = await inbound.process(self, event)
            except EventIgnored:
                EVENTS.labels(event.channel, "ignored").inc()
                return ProcessResult(conversation_id=None)
            except IntegrityError:
                # Another process stored the same channel event first: it is a redelivery.
                EVENTS.labels(event.channel, "duplicate").inc()
                return ProcessResult(conversation_id=None, duplicate=True)
            finally:
                if slow is not None:
                    slow.cancel()
        if result.language:
            self._languages[event.conversation_key] = result.language
            self._languages.move_to_end(event.conversation_key)
            if len(self._languages) > RECENT_IDS:
                self._languages.popitem(last=False)
        STEP_SECONDS.labels(event.channel).observe(time.perf_counter() - started)
        EVENTS.labels(event.channel, "duplicate" if result.duplicate else "processed").inc()
        return result

    def known_language(self, conversation_key: str) -> str | None:
        """The conversation's language after its last step in this process, if any."""
        return self._languages.get(conversation_key)

    async def deliver(self, target: DeliveryTarget, messages: Sequence[OutboundMessage], message_ids: Sequence[int] = ()) -> bool:
        sender = self.senders.get(target.channel)
        status = "sent"
        if sender is None:
            log.error("no_sender_for_channel", channel=target.channel, conversation_id=target.conversation_id)
            status = "failed"
        else:
            try:
                await sender.send(target, messages)
            except DeliveryError as exc:
                DELIVERY_FAILURES.labels(target.channel).inc()
                log.warning("delivery_failed", channel=target.channel, conversation_id=target.conversation_id, error=str(exc)[:200])
                status = "failed"
        if message_ids:
            await self._delivery_statuses.record(message_ids, status)
        return status == "sent"


class _DeliveryStatuses:
    """Delivery statuses written together (a group commit): a delivery that finishes while
    another batch is being written waits for the next one, so N deliveries finishing together
    cost one transaction, not N. Each caller returns once its own status is committed."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self._waiting: dict[str, list[int]] = {}
        self._done: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    async def record(self, message_ids: Sequence[int], status: str) -> None:
        loop = asyncio.get_running_loop()
        if self._done is None or self._done.get_loop() is not loop:
            self._done = loop.create_future()
        self._waiting.setdefault(status, []).extend(message_ids)
        done = self._done
        if self._writer is None or self._writer.done() or self._writer.get_loop() is not loop:
            self._writer = asyncio.create_task(self._write(), name="delivery-statuses")
        await asyncio.shield(done)

    async def _write(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, {}
            done, self._done = self._done, asyncio.get_running_loop().create_future()
            assert done is not None
            try:
                await messages_actions.record_deliveries(self.router, batch)
            except Exception as exc:  # the senders' callers see it, as before
                if not done.done():
                    done.set_exception(exc)
                    done.exception()  # retrieved here too: no "never retrieved" warning when no one waits
                continue
            if not done.done():
                done.set_result(None)
