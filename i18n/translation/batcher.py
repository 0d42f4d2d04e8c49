"""Join concurrent translation requests for one model into CTranslate2 batches.

    batcher = Batcher(engine, executor)
    texts = await batcher.submit(sentences, deadline)   # loop time; raises Busy, TimeoutError

- Requests arriving within `window` seconds (a few ms) of each other, or while the model is
  busy with the previous batch, are joined into one batch, run in a worker thread so the
  event loop stays free. A lone request (none other arrived within `window` before it) goes
  to the model at once: it must not wait for a batch that is not coming.
- A batch is cut into buckets of similar token length (ModelEngine.buckets), one
  translate_batch call each, shortest first; each bucket's sentences are delivered as soon as
  it is done, so a long sentence neither truncates a short one nor makes it wait for the
  long one's decoding.
- Coalescing: a sentence already queued or being translated is not queued again; every
  requester gets the one result.
- Bounded: past `max_pending` queued sentences submit() raises Busy at once; a sentence whose
  requesters' deadlines have all passed, or who all gave up, is dropped before it reaches the
  model. The caller delivers the original, marked.
- Isolation: when a bucket's call fails, its sentences are retried one by one, so one bad
  sentence fails only the requests that contain it.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from i18n.translation.engine import ModelEngine


class Busy(Exception):
    """The translation queue is full: deliver the original now rather than wait."""


@dataclass(eq=False)
class _Entry:
    text: str
    future: asyncio.Future[str]
    deadline: float
    waiters: int = 1


def _consume(fut: asyncio.Future[str]) -> None:
    """Mark a shared future's exception as retrieved (its requesters may have left)."""
    if not fut.cancelled():
        fut.exception()


@dataclass
class BatcherStats:
    batches: int = 0  # batches formed (each one worker-thread job)
    calls: int = 0  # translate_batch calls (buckets, plus single retries)
    sentences: int = 0  # sentences sent to the model
    coalesced: int = 0  # sentences answered by a translation already queued or running
    rejected: int = 0  # submits refused because the queue was full
    expired: int = 0  # sentences dropped before the model: deadline passed or nobody waits
    largest: int = 0  # most sentences in one batch
    call_sizes: list[int] = field(default_factory=list)  # last calls' sizes (bounded)


class Batcher:
    def __init__(
        self,
        engine: ModelEngine,
        executor: Executor,
        *,
        max_batch: int = 32,
        max_pending: int = 256,
        window: float = 0.003,
        slots: asyncio.Semaphore | None = None,
    ) -> None:
        self.engine = engine
        self.executor = executor
        self.max_batch = max_batch
        self.max_pending = max_pending
        self.window = window
        self._pending: dict[str, _Entry] = {}  # queued, in arrival order
        self._running: dict[str, _Entry] = {}  # in a batch now
        self._wake = asyncio.Event()
        # Model calls allowed at once; shared by the batchers of every model on one machine's cores.
        self._slots = slots or asyncio.Semaphore(1)
        self._task: asyncio.Task[None] | None = None
        # Loop time of the latest submit with new work, and the gap to the one before it:
        # a wide gap means the request came alone, so the batch window would only delay it.
        self._last_arrival = float("-inf")
        self._gap = float("inf")
        self._jobs: set[asyncio.Task[None]] = set()
        self.stats = BatcherStats()

    @property
    def batches(self) -> int:
        return self.stats.batches

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def submit(self, sentences: list[str], deadline: float) -> list[str]:
        loop = asyncio.get_running_loop()
        unique = list(dict.fromkeys(sentences))
        new = [s for s in unique if s not in self._pending and s not in self._running]
        if new and len(self._pending) + len(new) > self.max_pending:
            self.stats.rejected += 1
            raise Busy(f"{len(self._pending)} sentences queued")
        entries: list[_Entry] = []
        for s in unique:
            e = self._pending.get(s) or self._running.get(s)
            if e is None:
                e = _Entry(s, loop.create_future(), deadline)
                e.future.add_done_callback(_consume)
                self._pending[s] = e
            else:
                e.waiters += 1
                e.deadline = max(e.deadline, deadline)
                self.stats.coalesced += 1
            entries.append(e)
        if new:
            now = loop.time()
            self._gap, self._last_arrival = now - self._last_arrival, now
            self._wake.set()
            if self._task is None or self._task.done():
                self._task = loop.create_task(self._run(), name=f"mt-batch-{self.engine.version}")
        try:
            results = await asyncio.gather(*(asyncio.shield(e.future) for e in entries))
        finally:
            for e in entries:
                e.waiters -= 1
        by_text = dict(zip(unique, results, strict=True))
        return [by_text[s] for s in sentences]

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        for e in [*self._pending.values(), *self._running.values()]:
            if not e.future.done():
                e.future.cancel()

    # ---- the loop -----------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
            if len(self._pending) < self.max_batch and self.window > 0 and self._bursty():
                await asyncio.sleep(self.window)  # let requests arriving together join
            await self._slots.acquire()  # the model is free (or a replica is)
            batch = self._take(loop.time())
            if not batch:
                self._slots.release()
                continue
            self.stats.batches += 1
            self.stats.largest = max(self.stats.largest, len(batch))
            job = loop.create_task(self._execute(batch))
            self._jobs.add(job)
            job.add_done_callback(self._jobs.discard)

    def _bursty(self) -> bool:
        """True when others may be about to join: the latest request came within `window`
        of the one before it. Requests submitted in the same loop tick are queued before this
        task runs, so they join the batch with or without the window."""
        return self._gap <= self.window

    def _take(self, now: float) -> list[_Entry]:
        batch: list[_Entry] = []
        for text, e in list(self._pending.items()):
            if len(batch) >= self.max_batch:
                break
            del self._pending[text]
            if e.future.done():
                continue
            if e.waiters <= 0:
                self.stats.expired += 1
                e.future.cancel()
                continue
            if e.deadline <= now:
                self.stats.expired += 1
                e.future.set_exception(TimeoutError("translation budget used in the queue"))
                continue
            self._running[text] = e
            batch.append(e)
        return batch

    async def _execute(self, batch: list[_Entry]) -> None:
        loop = asyncio.get_running_loop()

        def deliver(entries: list[_Entry], texts: list[str] | None, exc: BaseException | None):
            for i, e in enumerate(entries):
                self._running.pop(e.text, None)
                if e.future.done():
                    continue
                if texts is not None:
                    e.future.set_result(texts[i])
                else:
                    e.future.set_exception(exc or RuntimeError("translation failed"))

        def work() -> None:  # in the worker thread
            texts = [e.text for e in batch]
            try:
                groups = self.engine.buckets(texts)
            except Exception:
                groups = [[i] for i in range(len(texts))]  # tokenizing failed: one by one
            for idx in groups:
                part = [batch[i] for i in idx]
                if all(e.future.done() for e in part):
                    continue
                self._call(part, lambda *a: loop.call_soon_threadsafe(deliver, *a))

        try:
            await loop.run_in_executor(self.executor, work)
        except Exception as exc:
            deliver(batch, None, exc)
        finally:
            self._slots.release()
            # Anything the worker did not answer (it died): fail, never hang.
            leftover = [e for e in batch if not e.future.done()]
            if leftover:
                await asyncio.sleep(0)  # deliveries scheduled by the worker run first
                deliver([e for e in leftover if not e.future.done()], None, None)

    def _call(self, part: list[_Entry], deliver) -> None:
        """One translate_batch call for a bucket; on failure, each sentence alone."""
        texts = [e.text for e in part]
        self._count(len(texts))
        try:
            out = self.engine.translate(texts)
            if len(out) != len(texts):
                raise RuntimeError("model returned a different number of sentences")
            deliver(part, [t for t, _score in out], None)
            return
        except Exception as exc:
            if len(part) == 1:
                deliver(part, None, exc)
                return
        for e in part:
            self._call([e], deliver)

    def _count(self, n: int) -> None:
        s = self.stats
        s.calls += 1
        s.sentences += n
        s.call_sizes.append(n)
        del s.call_sizes[:-64]
