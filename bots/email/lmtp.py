"""Inbound by LMTP or SMTP (aiosmtpd), for sites whose mail server delivers to the service
directly (Postfix `mailbox_transport = lmtp:inet:127.0.0.1:2424`, or a relay over SMTP).

The server runs in the app's event loop. A mail is acknowledged (250) only after the
handler finished, so the delivering server keeps and retries it on any failure (451): nothing
is lost, and a redelivery dedupes by Message-ID. Mail over the size limit is refused with 552,
which the delivering server turns into a bounce the resident can read.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from bots.email.imap import Handler
from bots.email.parse import MAX_MAIL_BYTES

log = logging.getLogger(__name__)


class _DeliveryHandler:
    def __init__(self, handler: Handler, accept_locals: set[str] | None) -> None:
        self.handler = handler
        self.accept_locals = accept_locals

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        local = address.partition("@")[0].split("+", 1)[0].lower()
        if self.accept_locals is not None and local not in self.accept_locals:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        try:
            outcome = await self.handler(raw, len(raw))
        except Exception as exc:  # the type only: an exception's message may quote the mail
            log.warning("lmtp.handler_failed", extra={"error": type(exc).__name__})
            status = "451 4.3.0 Temporary failure, please retry"
        else:
            log.info("lmtp.handled", extra={"outcome": outcome})
            status = "250 2.0.0 OK"
        if isinstance(server, LMTP):  # LMTP answers once per recipient
            return "\r\n".join([status] * max(1, len(envelope.rcpt_tos)))
        return status


@dataclass
class DirectDelivery:
    """A running LMTP/SMTP listener; `await start()`, then `await stop()`."""

    handler: Handler
    host: str = "127.0.0.1"
    port: int = 2424
    lmtp: bool = True
    max_bytes: int = MAX_MAIL_BYTES
    accept_locals: set[str] | None = None  # local parts (before +) we accept; None = any
    _server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        handler = _DeliveryHandler(self.handler, self.accept_locals)
        cls = LMTP if self.lmtp else SMTP
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: cls(handler, data_size_limit=self.max_bytes, enable_SMTPUTF8=True, decode_data=False),
            host=self.host,
            port=self.port,
        )
        log.info("lmtp.listening", extra={"port": self.port, "lmtp": self.lmtp})

    @property
    def bound_port(self) -> int:
        assert self._server is not None and self._server.sockets
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
