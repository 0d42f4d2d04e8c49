"""Parsing a large mail in a worker process.

The stdlib's feed parser is pure Python: a 5 MB mail costs about a quarter of a second of
CPU, and in a thread it holds the GIL that long in 5 ms slices, so /healthz and every chat
slow down while it runs. Mails above LARGE go to one spawned worker process (started on first
use, light: it imports only the parser); smaller ones to a thread, where they cost little.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from bots.email.parse import ParsedMail, parse_mail

log = logging.getLogger(__name__)
LARGE = 512 * 1024
_pool: ProcessPoolExecutor | None = None


def _executor() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
    return _pool


async def parse(raw: bytes, **kwargs: Any) -> ParsedMail:
    """`parse_mail` off the event loop: in a process for a large mail, else in a thread."""
    if len(raw) > LARGE:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(_executor(), _parse, raw, kwargs)
        except (BrokenProcessPool, OSError, RuntimeError):
            log.warning("email.parse_process_failed")  # e.g. no process may be started here
            shutdown()
    return await asyncio.to_thread(parse_mail, raw, **kwargs)


def _parse(raw: bytes, kwargs: dict[str, Any]) -> ParsedMail:
    return parse_mail(raw, **kwargs)


def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=False, cancel_futures=True)
        _pool = None
