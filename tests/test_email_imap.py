"""The IMAP poller and the LMTP listener against real servers (Dovecot, smtplib)."""

from __future__ import annotations

import asyncio
import smtplib
import time
from collections.abc import Awaitable, Callable

import pytest

from bots.email.imap import DONE, FAILED, IGNORED, ImapConfig, ImapPoller
from bots.email.lmtp import DirectDelivery
from tests.dovecot import (  # noqa: F401  (fixtures "dovecot", "dovecot_tls")
    Dovecot,
    dovecot_fixture,
    dovecot_tls_fixture,
    free_port,
)

pytestmark = pytest.mark.dovecot


def mail(n: int, body: str = "本文") -> bytes:
    return f"From: r{n}@example.jp\r\nTo: soudan@example.lg.jp\r\nSubject: s{n}\r\nMessage-ID: <m{n}@example.jp>\r\n\r\n{body}\r\n".encode()


def poller(dovecot: Dovecot, handler: Callable[[bytes, int], Awaitable[str]], **kw: object) -> ImapPoller:
    options: dict[str, object] = {"poll_seconds": 1.0, "timeout": 10, **kw}
    cfg = ImapConfig(host=dovecot.host, port=dovecot.port, username=dovecot.user, password=dovecot.password,
                     ssl=False, **options)  # type: ignore[arg-type]
    return ImapPoller(cfg, handler)


async def until(cond: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_marks_handled_mail_and_keeps_it(dovecot: Dovecot) -> None:
    seen: list[bytes] = []

    async def handler(raw: bytes, size: int) -> str:
        seen.append(raw)
        return "ignored:auto" if b"s1" in raw else "answered"

    for n in range(3):
        dovecot.append(mail(n))
    p = poller(dovecot, handler)
    assert await p.run_once() == 3
    assert await p.run_once() == 0  # nothing twice
    assert [r.split(b"Message-ID: ")[1][:5] for r in seen] == [b"<m0@e", b"<m1@e", b"<m2@e"]  # in order
    assert len(dovecot.search("ALL")) == 3  # never deleted
    assert len(dovecot.search(f"KEYWORD {DONE}")) == 3 and len(dovecot.search("SEEN")) == 3
    assert len(dovecot.search(f"KEYWORD {IGNORED}")) == 1


async def test_failing_handler_is_retried_then_flagged_and_skipped(dovecot: Dovecot) -> None:
    calls: dict[bytes, int] = {}

    async def handler(raw: bytes, size: int) -> str:
        key = raw.split(b"Subject: ")[1][:2]
        calls[key] = calls.get(key, 0) + 1
        if key == b"s0":
            raise RuntimeError("database down")
        return "answered"

    dovecot.append(mail(0))
    dovecot.append(mail(1))
    p = poller(dovecot, handler)
    for _ in range(4):
        await p.run_once()
    assert calls == {b"s0": 3, b"s1": 1}
    assert len(dovecot.search(f"KEYWORD {FAILED}")) == 1
    assert dovecot.search("UNSEEN") == dovecot.search(f"KEYWORD {FAILED}")  # left unread for staff


async def test_idle_picks_up_new_mail_and_survives_a_restart(dovecot: Dovecot) -> None:
    got: list[bytes] = []

    async def handler(raw: bytes, size: int) -> str:
        got.append(raw)
        return "answered"

    p = poller(dovecot, handler, poll_seconds=30.0)  # a long poll: only IDLE can be this quick
    task = asyncio.create_task(p.run())
    try:
        await asyncio.wait_for(p.connected.wait(), 10)
        await asyncio.sleep(0.3)
        t0 = time.monotonic()
        dovecot.deliver(mail(0))
        await until(lambda: len(got) == 1)
        assert time.monotonic() - t0 < 5
        await asyncio.to_thread(dovecot.restart)
        dovecot.deliver(mail(1))
        await until(lambda: len(got) == 2, timeout=30)
        await asyncio.sleep(1.5)
        assert len(got) == 2
    finally:
        p.stop()
        await asyncio.wait_for(task, 15)


async def test_large_mail_hands_over_headers_and_full_size(dovecot: Dovecot) -> None:
    got: list[tuple[bytes, int]] = []

    async def handler(raw: bytes, size: int) -> str:
        got.append((raw, size))
        return "answered"

    big = mail(0, "x" * 50_000)
    dovecot.append(big)
    await poller(dovecot, handler, max_bytes=10_000).run_once()
    ((raw, size),) = got
    assert size >= 50_000 and len(raw) < 1_000 and b"Message-ID: <m0@example.jp>" in raw


async def test_lmtp_acknowledges_only_after_handling() -> None:
    got: list[bytes] = []
    fail = {"on": False}

    async def handler(raw: bytes, size: int) -> str:
        if fail["on"]:
            raise RuntimeError("not now")
        got.append(raw)
        return "answered"

    port = free_port()
    server = DirectDelivery(handler, port=port, lmtp=True, accept_locals={"soudan"})
    await server.start()
    try:
        def deliver() -> dict[str, tuple[int, bytes]]:
            with smtplib.LMTP("127.0.0.1", port) as client:
                return client.sendmail("a@example.jp", ["soudan+x-1@example.lg.jp"], mail(0))

        assert await asyncio.to_thread(deliver) == {}
        assert len(got) == 1
        fail["on"] = True
        with pytest.raises(smtplib.SMTPDataError) as err:
            await asyncio.to_thread(deliver)
        assert err.value.smtp_code == 451  # the delivering server keeps it and retries
    finally:
        await server.stop()


async def test_imap_over_tls_checks_the_certificate(dovecot_tls: Dovecot) -> None:
    import ssl

    got: list[bytes] = []

    async def handler(raw: bytes, size: int) -> str:
        got.append(raw)
        return "answered"

    dovecot_tls.append(mail(0))
    assert dovecot_tls.certificate is not None
    base = {"host": dovecot_tls.host, "port": dovecot_tls.port, "username": dovecot_tls.user,
            "password": dovecot_tls.password, "ssl": True, "timeout": 10}
    trusted = ImapPoller(ImapConfig(**base, ssl_context=dovecot_tls.certificate.client_context()), handler)  # type: ignore[arg-type]
    assert await trusted.run_once() == 1 and len(got) == 1
    untrusted = ImapPoller(ImapConfig(**base), handler)  # type: ignore[arg-type]  (system CAs)
    with pytest.raises(ssl.SSLCertVerificationError):
        await untrusted.run_once()


@pytest.mark.parametrize(
    ("line", "allowed"),
    [
        (rb"OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted.", True),
        (rb"OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft)] Limited", False),
        (b"OK [PERMANENTFLAGS (\\Seen $MadoguchiDone $MadoguchiIgnored $MadoguchiFailed)] ok", True),
        (b"OK [UIDVALIDITY 1] UIDs valid", False),
    ],
)
def test_keywords_allowed_reads_permanentflags(line: bytes, allowed: bool) -> None:
    from bots.email.imap import keywords_allowed

    assert keywords_allowed([b"FLAGS (\\Seen)", line]) is allowed


async def test_servers_without_keywords_use_seen_and_flagged(dovecot: Dovecot) -> None:
    calls: list[bytes] = []

    async def handler(raw: bytes, size: int) -> str:
        calls.append(raw)
        if b"s1" in raw:
            raise RuntimeError("broken")
        return "answered"

    for n in range(3):
        dovecot.append(mail(n))
    p = poller(dovecot, handler, use_keywords=False)
    for _ in range(4):
        await p.run_once()
    assert not p.keywords
    assert len(calls) == 2 + 3  # s0 and s2 once; s1 three times, then left flagged
    assert dovecot.search(f"KEYWORD {DONE}") == []
    assert len(dovecot.search("SEEN")) == 2 and len(dovecot.search("FLAGGED UNSEEN")) == 1
