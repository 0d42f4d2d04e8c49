"""One retry policy for every channel sender (tenacity).

A sender says, per exception, what it means (`classify`): retry after the delay the channel
named (HTTP 429 Retry-After, Telegram's retry_after), retry with back-off (5xx, network), or
give up (a refusal retrying cannot fix: 400, 403, an SMTP 5xx). Back-off doubles from
`base_delay` up to `max_delay`, with jitter so many senders do not retry in step; a named
delay is honoured up to `max_retry_after`. `deadline` (a time.time() instant) stops before a
wait that would end after it (a LINE reply token's life).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

log = structlog.get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Verdict:
    retry: bool
    after: float | None = None  # the delay the channel asked for, in seconds
    reason: str = ""


GIVE_UP = Verdict(False)


def retry_after(after: float | None, reason: str = "429") -> Verdict:
    return Verdict(True, after, reason)


def back_off(reason: str) -> Verdict:
    return Verdict(True, None, reason)


Classify = Callable[[BaseException], Verdict]
Sleep = Callable[[float], Awaitable[None]]


def parse_retry_after(value: object) -> float | None:
    """Retry-After in seconds; None when absent or an HTTP date (then back-off applies)."""
    if value is None:
        return None
    try:
        return max(0.0, float(str(value).strip()))
    except ValueError:
        return None


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 300.0
    request_timeout: float = 20.0
    jitter: bool = True
    sleep: Sleep = field(default=asyncio.sleep, repr=False, compare=False)  # tests pass a fake clock

    def delay(self, attempt: int, after: float | None) -> float:
        """The wait before retry number `attempt` (0 = the first retry)."""
        if after is not None:
            return min(after, self.max_retry_after)
        backoff = min(self.max_delay, self.base_delay * 2**attempt)
        return backoff * (0.5 + random.random() / 2) if self.jitter else backoff

    async def call(
        self,
        fn: Callable[[], Awaitable[T]],
        classify: Classify,
        *,
        deadline: float | None = None,
        clock: Callable[[], float] = time.time,
        log_event: str = "send_retrying",
        **log_fields: object,
    ) -> T:
        """Await `fn()` until it succeeds, the verdict is GIVE_UP, the attempts are spent or
        the next wait would pass `deadline`; the last exception is raised unchanged."""

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            verdict = classify(exc) if exc is not None else back_off("")
            return self.delay(state.attempt_number - 1, verdict.after)

        def stop(state: RetryCallState) -> bool:
            if state.attempt_number >= self.attempts:
                return True
            return deadline is not None and clock() + (state.upcoming_sleep or 0.0) >= deadline

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            reason = classify(exc).reason if exc is not None else ""
            log.warning(log_event, reason=reason or type(exc).__name__, attempt=state.attempt_number,
                        wait_s=round(state.upcoming_sleep, 2), **log_fields)

        retrying = AsyncRetrying(
            retry=retry_if_exception(lambda e: classify(e).retry),
            wait=wait, stop=stop, sleep=self.sleep, before_sleep=before_sleep, reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await fn()
        raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover
