"""No mail loops: automatic mail is recognised; the per-address rate limit holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots.email.loops import RateLimiter, address_key, classify
from bots.email.parse import parse_mail
from tests.conftest import redis_available
from tests.requirements import require

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
OWN = ["soudan@example.lg.jp"]


def mail(headers: str, body: str = "本文") -> bytes:
    return (headers.strip().replace("\n", "\r\n") + "\r\n\r\n" + body).encode()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("out_of_office.eml", "auto-submitted:auto-replied"),
        ("bounce_dsn.eml", "auto-submitted:auto-replied"),
        ("mailing_list.eml", "precedence:list"),
    ],
)
def test_fixtures_are_automatic(name: str, reason: str) -> None:
    verdict = classify(parse_mail((FIXTURES / name).read_bytes()), OWN)
    assert verdict.automatic and verdict.reason == reason


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("From: a@example.jp\nAuto-Submitted: auto-generated", "auto-submitted:auto-generated"),
        ("From: a@example.jp\nX-Auto-Response-Suppress: OOF", "x-auto-response-suppress"),
        ("From: a@example.jp\nPrecedence: bulk", "precedence:bulk"),
        ("From: a@example.jp\nPrecedence: junk", "precedence:junk"),
        ("From: a@example.jp\nList-Id: <x.example.jp>", "mailing-list"),
        ("From: a@example.jp\nList-Unsubscribe: <mailto:u@example.jp>", "mailing-list"),
        ("From: a@example.jp\nX-Autoreply: yes", "x-autoreply"),
        ("From: a@example.jp\nReturn-Path: <>", "null-return-path"),
        ("From: a@example.jp\nContent-Type: multipart/report; report-type=delivery-status; boundary=x", "report"),
        ("From: MAILER-DAEMON@mx.example.jp", "system-sender"),
        ("From: postmaster@example.jp", "system-sender"),
        ("From: no-reply@service.example.jp", "system-sender"),
        ("From: list-bounces@lists.example.jp", "system-sender"),
        ("From: soudan@example.lg.jp", "own-address"),
        ("From: soudan+1-abc@example.lg.jp", "own-address"),
        ("From: a@example.jp\nSubject: 自動応答: 不在です", "auto-subject"),
        ("From: a@example.jp\nSubject: Automatic reply: away", "auto-subject"),
        ("From: a@example.jp\nSubject: Undeliverable: hello", "auto-subject"),
        ("Subject: no sender", "no-sender"),
    ],
)
def test_automatic_mail_is_recognised(headers: str, reason: str) -> None:
    verdict = classify(parse_mail(mail(headers)), OWN)
    assert verdict.automatic and verdict.reason == reason


@pytest.mark.parametrize(
    "headers",
    [
        "From: resident@example.jp\nSubject: 相談したいです",
        "From: resident@example.jp\nAuto-Submitted: no",
        "From: resident@example.jp\nPrecedence: first-class",
        "From: resident@example.jp\nSubject: 自動車の借金について",  # not an auto-reply subject
        "From: soudan@other.example.jp",  # same local part, other domain
    ],
)
def test_people_are_answered(headers: str) -> None:
    assert not classify(parse_mail(mail(headers)), OWN).automatic


async def test_in_process_rate_limit_per_address() -> None:
    limiter = RateLimiter(limit=3, window=3600)
    assert [await limiter.allow("a@example.jp") for _ in range(4)] == [True, True, True, False]
    assert await limiter.allow("b@example.jp")  # another address has its own budget
    assert await limiter.allow("A@Example.jp") is False  # case does not make a new address


async def test_in_process_rate_limit_window_passes() -> None:
    limiter = RateLimiter(limit=1, window=0.05)
    assert await limiter.allow("a@example.jp")
    assert not await limiter.allow("a@example.jp")
    import asyncio

    await asyncio.sleep(0.06)
    assert await limiter.allow("a@example.jp")


async def test_redis_rate_limit_is_shared_and_keeps_no_address(redis_url: str) -> None:
    require("Redis", redis_available(), "127.0.0.1:6379")
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    try:
        one, two = RateLimiter(limit=2, redis=client), RateLimiter(limit=2, redis=client)
        assert await one.allow("a@example.jp") and await two.allow("a@example.jp")
        assert not await one.allow("a@example.jp")  # the second process's count is seen
        keys = [k.decode() for k in await client.keys("madoguchi:email:rate:*")]
        assert keys and all("example" not in k for k in keys)
        assert address_key("a@example.jp") in keys[0]
        assert 0 < await client.ttl(keys[0]) <= 3660
    finally:
        await client.aclose()


@pytest.mark.parametrize("sender", ["x" * 300 + "@example.jp", "a b@example.jp"])
def test_unanswerable_senders(sender: str) -> None:
    verdict = classify(parse_mail(mail(f"From: <{sender}>")), OWN)
    assert verdict.automatic and verdict.reason in ("bad-sender", "no-sender")
