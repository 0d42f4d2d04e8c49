"""The one retry policy (bots.common.retry), alone and through the LINE and Telegram senders
against their spec-checking stand-ins, on a fake clock (no real waiting)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from bots.common.retry import (
    GIVE_UP,
    RetryPolicy,
    Verdict,
    back_off,
    parse_retry_after,
    retry_after,
)
from bots.line.channels import LineChannel, LineChannels
from bots.line.memory import ChoiceMemory
from bots.line.sender import LineApi, LineSender
from bots.telegram.bots import TelegramBot, TelegramBots
from bots.telegram.sender import TelegramSender
from dialogs.types import OutboundMessage
from handoff.delivery import DeliveryError, DeliveryTarget
from tests.standins.line_api import Fault
from tests.standins.line_fixtures import ACCESS_TOKEN, CHANNEL_SECRET, line_api, line_server  # noqa: F401
from tests.standins.telegram_api import TgFault
from tests.standins.telegram_fixtures import BOT_TOKEN, telegram_api, telegram_server  # noqa: F401

USER = "U" + "c" * 32
CHAT = 424242


class FakeClock:
    def __init__(self) -> None:
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


class Status(Exception):
    def __init__(self, status: int, after: float | None = None) -> None:
        super().__init__(status)
        self.status, self.after = status, after


def by_status(exc: BaseException) -> Verdict:
    if isinstance(exc, Status) and exc.status == 429:
        return retry_after(exc.after)
    if isinstance(exc, Status) and exc.status >= 500:
        return back_off(str(exc.status))
    return GIVE_UP


def scripted(*outcomes: Exception | str) -> tuple[list[int], object]:
    calls: list[int] = []

    async def fn() -> str:
        calls.append(1)
        outcome = outcomes[len(calls) - 1]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return calls, fn


async def test_429_waits_the_retry_after_then_succeeds() -> None:
    clock = FakeClock()
    calls, fn = scripted(Status(429, 7.0), Status(429, 0.5), "ok")
    assert await RetryPolicy(sleep=clock.sleep).call(fn, by_status) == "ok"
    assert clock.slept == [7.0, 0.5] and len(calls) == 3


async def test_retry_after_is_capped() -> None:
    clock = FakeClock()
    _, fn = scripted(Status(429, 3600.0), "ok")
    await RetryPolicy(max_retry_after=60.0, sleep=clock.sleep).call(fn, by_status)
    assert clock.slept == [60.0]


async def test_400_is_not_retried() -> None:
    clock = FakeClock()
    calls, fn = scripted(Status(400), "never")
    with pytest.raises(Status):
        await RetryPolicy(sleep=clock.sleep).call(fn, by_status)
    assert len(calls) == 1 and clock.slept == []


async def test_5xx_backs_off_doubling_up_to_the_cap_then_gives_up() -> None:
    clock = FakeClock()
    calls, fn = scripted(*[Status(503)] * 6)
    policy = RetryPolicy(attempts=6, base_delay=1.0, max_delay=4.0, jitter=False, sleep=clock.sleep)
    with pytest.raises(Status):
        await policy.call(fn, by_status)
    assert len(calls) == 6 and clock.slept == [1.0, 2.0, 4.0, 4.0, 4.0]


async def test_jitter_stays_within_half_to_full_backoff() -> None:
    clock = FakeClock()
    _, fn = scripted(*[Status(500)] * 4, "ok")
    await RetryPolicy(base_delay=2.0, max_delay=8.0, sleep=clock.sleep).call(fn, by_status)
    for slept, full in zip(clock.slept, [2.0, 4.0, 8.0, 8.0], strict=True):
        assert full / 2 <= slept <= full


async def test_deadline_stops_before_a_wait_that_would_pass_it() -> None:
    clock = FakeClock()
    calls, fn = scripted(Status(429, 30.0), "ok")
    with pytest.raises(Status):
        await RetryPolicy(sleep=clock.sleep).call(fn, by_status, deadline=time.time() + 10)
    assert len(calls) == 1 and clock.slept == []


def test_retry_after_header_values() -> None:
    assert parse_retry_after("3") == 3.0 and parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT") is None  # a date: back-off instead


# --- through the senders, against the stand-ins -------------------------------------------

@pytest.fixture
async def line(line_api) -> AsyncIterator[tuple[LineSender, FakeClock]]:  # noqa: F811
    clock = FakeClock()
    api = LineApi(line_api.base_url)
    channels = LineChannels([LineChannel("minato-tokyo", CHANNEL_SECRET, ACCESS_TOKEN)], "minato-tokyo")
    policy = RetryPolicy(attempts=5, base_delay=1.0, max_delay=2.0, jitter=False, sleep=clock.sleep)
    yield LineSender(channels, api, ChoiceMemory(), policy), clock
    await api.aclose()


def line_target() -> DeliveryTarget:
    return DeliveryTarget("minato-tokyo", "line", USER, 1, "ja", {})


async def test_line_push_429_retried_after_retry_after(line, line_api) -> None:  # noqa: F811
    sender, clock = line
    line_api.script("pushMessage", Fault(429, retry_after=3))
    await sender.send(line_target(), [OutboundMessage("待ってから届く")])
    assert clock.slept == [3.0]
    assert [d.message["text"] for d in line_api.delivered] == ["待ってから届く"]


async def test_line_push_400_not_retried(line, line_api) -> None:  # noqa: F811
    sender, clock = line
    line_api.script("pushMessage", Fault(400))
    with pytest.raises(DeliveryError, match="refused"):
        await sender.send(line_target(), [OutboundMessage("x")])
    assert len(line_api.calls_to("pushMessage")) == 1 and clock.slept == []


async def test_line_push_5xx_backs_off_to_the_cap_and_gives_up(line, line_api) -> None:  # noqa: F811
    sender, clock = line
    line_api.script("pushMessage", *[Fault(500)] * 5)
    with pytest.raises(DeliveryError, match="gave up after 5"):
        await sender.send(line_target(), [OutboundMessage("x")])
    assert clock.slept == [1.0, 2.0, 2.0, 2.0] and len(line_api.calls_to("pushMessage")) == 5
    assert not line_api.delivered


async def test_line_reply_429_longer_than_the_token_pushes_instead(line, line_api) -> None:  # noqa: F811
    sender, clock = line
    line_api.script("replyMessage", Fault(429, retry_after=120))
    token = line_api.issue_reply_token(USER)
    ctx = {"reply_token": token, "reply_token_at": f"{time.time():.3f}"}
    await sender.send(DeliveryTarget("minato-tokyo", "line", USER, 1, "ja", ctx), [OutboundMessage("押して届く")])
    assert clock.slept == []  # no wait past the token's life
    assert [d.via for d in line_api.delivered] == ["push"]


@pytest.fixture
async def telegram(telegram_api) -> AsyncIterator[tuple[TelegramSender, FakeClock]]:  # noqa: F811
    clock = FakeClock()
    bots = TelegramBots([TelegramBot("minato-tokyo", BOT_TOKEN)], telegram_api.base_url)
    policy = RetryPolicy(attempts=4, base_delay=1.0, max_delay=1.5, jitter=False, sleep=clock.sleep)
    yield TelegramSender(bots, policy), clock
    await bots.aclose()


def tg_target() -> DeliveryTarget:
    return DeliveryTarget("minato-tokyo", "telegram", str(CHAT), 1, "en", {})


async def test_telegram_429_retried_after_retry_after(telegram, telegram_api) -> None:  # noqa: F811
    sender, clock = telegram
    telegram_api.script("sendMessage", TgFault(429, retry_after=4))
    await sender.send(tg_target(), [OutboundMessage("after the wait")])
    assert clock.slept == [4.0]
    assert [m["text"] for m in telegram_api.sent_to(CHAT)] == ["after the wait"]


async def test_telegram_5xx_backs_off_to_the_cap_and_gives_up(telegram, telegram_api) -> None:  # noqa: F811
    sender, clock = telegram
    telegram_api.script("sendMessage", *[TgFault(500)] * 4)
    with pytest.raises(DeliveryError, match="gave up after 4"):
        await sender.send(tg_target(), [OutboundMessage("x")])
    assert clock.slept == [1.0, 1.5, 1.5] and telegram_api.sent_to(CHAT) == []
