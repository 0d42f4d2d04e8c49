"""Inbound by IMAP (aioimaplib): poll the centre's mailbox, IDLE where offered.

A mail is marked only after its handler finished: `\\Seen` plus the keyword `$MadoguchiDone`
(and `$MadoguchiIgnored` for automatic mail), so a crash or a dropped connection between
reading and marking means it is read again — and the router dedupes it by Message-ID. Mail is
never deleted. A mail whose handler fails three times is flagged `$MadoguchiFailed` for the
staff and skipped, so one bad mail cannot stall the mailbox.

Servers that keep no custom keywords (PERMANENTFLAGS without `\\*`, e.g. some hosted
mailboxes) fall back to `\\Seen` alone: then the service must be the mailbox's only reader,
and a failed mail is left `\\Flagged`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aioimaplib

from bots.email.parse import MAX_MAIL_BYTES

log = logging.getLogger(__name__)

DONE = "$MadoguchiDone"
IGNORED = "$MadoguchiIgnored"
FAILED = "$MadoguchiFailed"
MAX_FAILURES = 3

# handler(raw bytes, full size) -> outcome code ("answered", "ignored:<reason>", ...)
Handler = Callable[[bytes, int], Awaitable[str]]

_FETCH_UID = re.compile(rb"UID (\d+)")
_FETCH_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


class ImapError(Exception):
    pass


@dataclass
class ImapConfig:
    host: str
    port: int = 993
    username: str = ""
    password: str = ""
    ssl: bool = True
    mailbox: str = "INBOX"
    poll_seconds: float = 30.0
    timeout: float = 30.0
    max_bytes: int = MAX_MAIL_BYTES
    reconnect_max_seconds: float = 60.0
    ssl_context: ssl.SSLContext | None = None
    use_keywords: bool | None = None  # None: as the server's PERMANENTFLAGS allow


@dataclass
class ImapPoller:
    config: ImapConfig
    handler: Handler
    processed: int = 0
    _failures: dict[int, int] = field(default_factory=dict)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _lost: asyncio.Event = field(default_factory=asyncio.Event)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    keywords: bool = True  # decided at each SELECT

    def stop(self) -> None:
        self._stopping.set()

    def _done(self) -> bool:
        """Stopped, or cancelled: Python 3.11's wait_for can swallow a cancellation that races
        with its inner future finishing, so the task's pending cancel count is checked too."""
        task = asyncio.current_task()
        return self._stopping.is_set() or (task is not None and task.cancelling() > 0)

    async def run(self) -> None:
        """Forever: connect, drain, wait for news; reconnect with back-off on any failure."""
        delay = 1.0
        while not self._done():
            client: aioimaplib.IMAP4 | None = None
            try:
                client = await self._connect()
                delay = 1.0
                while not self._done():
                    await self.drain(client)
                    await self._wait_for_news(client)
                    if self._lost.is_set():
                        raise ImapError("connection lost")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # dropped connections, server restarts, timeouts
                log.warning("imap.reconnect", extra={"error": type(exc).__name__, "delay": delay})
                self.connected.clear()
                await self._close(client)
                client = None
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)
                delay = min(delay * 2, self.config.reconnect_max_seconds)
            finally:
                if client is not None and self._done():
                    await self._close(client)
        self.connected.clear()
        task = asyncio.current_task()
        if task is not None and task.cancelling() and not self._stopping.is_set():
            raise asyncio.CancelledError  # a swallowed cancellation still ends as one

    async def run_once(self) -> int:
        """Connect, handle everything pending, disconnect (for a CLI or cron)."""
        client = await self._connect()
        try:
            return await self.drain(client)
        finally:
            await self._close(client)

    # -- connection ----------------------------------------------------------------------
    async def _connect(self) -> aioimaplib.IMAP4:
        cfg = self.config
        self._lost = asyncio.Event()
        lost = self._lost

        def on_lost(_exc: Exception | None) -> None:
            lost.set()

        # IMAP4 with a context is what IMAP4_SSL does, and it keeps the connection-lost hook
        context = (cfg.ssl_context or ssl.create_default_context()) if cfg.ssl else None
        client = aioimaplib.IMAP4(
            host=cfg.host, port=cfg.port, timeout=cfg.timeout, conn_lost_cb=on_lost, ssl_context=context
        )
        await client.wait_hello_from_server()
        resp = await client.login(cfg.username, cfg.password)
        if resp.result != "OK":
            raise ImapError("IMAP login refused")
        resp = await client.select(cfg.mailbox)
        if resp.result != "OK":
            raise ImapError("IMAP mailbox cannot be selected")
        self.keywords = cfg.use_keywords if cfg.use_keywords is not None else keywords_allowed(resp.lines)
        self.connected.set()
        log.info("imap.connected", extra={"idle": client.has_capability("IDLE")})
        return client

    async def _close(self, client: aioimaplib.IMAP4 | None) -> None:
        if client is None:
            return
        try:
            if client.has_pending_idle():
                client.idle_done()
            await asyncio.wait_for(client.logout(), 5)
        except Exception:
            pass

    async def _wait_for_news(self, client: aioimaplib.IMAP4) -> None:
        """IDLE until the server says something (or the poll interval passes); else sleep."""
        poll = self.config.poll_seconds
        stopping = asyncio.ensure_future(self._stopping.wait())
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            if client.has_capability("IDLE"):
                idle = await client.idle_start(timeout=poll)
                push = asyncio.ensure_future(client.wait_server_push(timeout=poll + 5))
                await asyncio.wait({push, stopping, lost}, return_when=asyncio.FIRST_COMPLETED)
                push.cancel()
                if not self._lost.is_set():
                    client.idle_done()
                    await asyncio.wait_for(idle, self.config.timeout)
            else:
                await asyncio.wait({stopping, lost}, timeout=poll)
                if not self._lost.is_set():
                    await client.noop()
        finally:
            stopping.cancel()
            lost.cancel()

    # -- work ------------------------------------------------------------------------------
    async def drain(self, client: aioimaplib.IMAP4) -> int:
        """Handle every mail not yet marked, oldest first. Returns how many were handled."""
        criteria = ("UNKEYWORD", DONE, "UNKEYWORD", FAILED) if self.keywords else ("UNSEEN", "UNFLAGGED")
        resp = await self._command(client.uid_search(*criteria, charset=None))
        if resp.result != "OK":
            raise ImapError("IMAP search failed")
        uids = sorted(int(u) for line in resp.lines[:1] for u in line.split() if u.isdigit())
        handled = 0
        for uid in uids:
            if self._done():
                break
            handled += await self._handle_uid(client, uid)
        return handled

    async def _command(self, coro: Awaitable[aioimaplib.Response]) -> aioimaplib.Response:
        """A command, abandoned at once if the connection drops (aioimaplib would otherwise
        wait for its timeout)."""
        command = asyncio.ensure_future(coro)
        lost = asyncio.ensure_future(self._lost.wait())
        try:
            await asyncio.wait({command, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if not command.done():
            command.cancel()
            raise ImapError("connection lost")
        return command.result()

    async def _fetch(self, client: aioimaplib.IMAP4, uid: int, part: str) -> tuple[bytes | None, int]:
        resp = await self._command(client.uid("fetch", str(uid), f"(RFC822.SIZE {part})"))
        if resp.result != "OK":
            raise ImapError("IMAP fetch failed")
        size, raw = 0, None
        for i, line in enumerate(resp.lines):
            if isinstance(line, bytes | bytearray) and b"FETCH" in line and _FETCH_SIZE.search(line):
                m = _FETCH_SIZE.search(line)
                size = int(m.group(1)) if m else 0
                if i + 1 < len(resp.lines) and isinstance(resp.lines[i + 1], bytearray):
                    raw = bytes(resp.lines[i + 1])
                break
        return raw, size

    async def _handle_uid(self, client: aioimaplib.IMAP4, uid: int) -> int:
        _, size = await self._fetch(client, uid, "FLAGS")
        part = "BODY.PEEK[]" if size <= self.config.max_bytes else "BODY.PEEK[HEADER]"
        raw, size = await self._fetch(client, uid, part)
        if raw is None:  # expunged meanwhile by someone else
            return 0
        try:
            outcome = await self.handler(raw, size)
        except Exception as exc:
            count = self._failures.get(uid, 0) + 1
            self._failures[uid] = count
            # the type only: an exception's message may quote the mail
            log.warning("imap.handler_failed", extra={"uid": uid, "failures": count, "error": type(exc).__name__})
            if count >= MAX_FAILURES:
                await self._store(client, uid, f"({FAILED})" if self.keywords else "(\\Flagged)")
            return 0
        self._failures.pop(uid, None)
        if not self.keywords:
            flags = "(\\Seen)"
        elif outcome.startswith("ignored"):
            flags = f"(\\Seen {DONE} {IGNORED})"
        else:
            flags = f"(\\Seen {DONE})"
        await self._store(client, uid, flags)
        self.processed += 1
        log.info("imap.handled", extra={"uid": uid, "outcome": outcome})
        return 1

    async def _store(self, client: aioimaplib.IMAP4, uid: int, flags: str) -> None:
        resp = await self._command(client.uid("store", str(uid), "+FLAGS.SILENT", flags))
        if resp.result != "OK":
            raise ImapError("IMAP store failed")


def keywords_allowed(select_lines: list[bytes | bytearray | str]) -> bool:
    """Whether the SELECT answer's PERMANENTFLAGS let us set our keywords."""
    for line in select_lines:
        text = line.decode(errors="replace") if isinstance(line, bytes | bytearray) else str(line)
        m = re.search(r"PERMANENTFLAGS \(([^)]*)\)", text)
        if m:
            flags = m.group(1).split()
            return "\\*" in flags or all(k in flags for k in (DONE, IGNORED, FAILED))
    return False  # not announced: assume only the system flags persist
