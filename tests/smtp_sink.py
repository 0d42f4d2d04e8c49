"""An aiosmtpd SMTP server on loopback that keeps every mail it receives (the outbound sink).

It runs in the test's event loop. `fail_next` makes it refuse the next N transactions with a
temporary (451) or permanent (550) error, to exercise the sender's retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)  # type: ignore[return-value]

    @property
    def text(self) -> str:
        body = self.message.get_body(("plain",))
        assert body is not None
        return str(body.get_content())


@dataclass
class SmtpSink:
    host: str = "127.0.0.1"
    port: int = 0
    received: list[Received] = field(default_factory=list)
    fail_next: int = 0
    fail_code: str = "451 4.3.0 Try again later"
    attempts: int = 0
    # STARTTLS and AUTH as a real relay on the submission port asks for them
    tls_context: ssl.SSLContext | None = None
    credentials: tuple[str, str] | None = None
    logins: list[str] = field(default_factory=list)
    _server: asyncio.base_events.Server | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.attempts += 1
        if self.fail_next > 0:
            self.fail_next -= 1
            return self.fail_code
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), envelope.original_content or b""))
        self._arrived.set()
        return "250 OK"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, host=self.host, port=self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def _protocol(self) -> SMTP:
        if self.tls_context is None:
            return SMTP(self, enable_SMTPUTF8=True, decode_data=False)
        return SMTP(
            self, enable_SMTPUTF8=True, decode_data=False, tls_context=self.tls_context,
            require_starttls=True, auth_required=self.credentials is not None, auth_require_tls=True,
            authenticator=self._authenticate if self.credentials else None,
        )

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and self.credentials is not None and (
            auth_data.login.decode(), auth_data.password.decode()) == self.credentials
        if ok:
            self.logins.append(auth_data.login.decode())  # type: ignore[union-attr]
        return AuthResult(success=ok, handled=False)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        """Until `count` mails have arrived in total (fails the test on timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"expected {count} mails at the SMTP sink, got {len(self.received)}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 0.5))
        return self.received


@pytest.fixture(name="smtp_sink")
async def smtp_sink_fixture() -> AsyncIterator[SmtpSink]:
    sink = SmtpSink()
    await sink.start()
    try:
        yield sink
    finally:
        await sink.stop()
