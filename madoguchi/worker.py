"""`madoguchi worker`: a process that only consumes the inbox (Redis Streams) and delivers the
answers; web processes acknowledge and enqueue. Shard leases are balanced over the live
consumers, so each worker added takes its share."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import structlog

from bots.common.adapter import load_channels
from madoguchi.app import build_context
from madoguchi.settings import Settings

log = structlog.get_logger(__name__)


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    ctx = await build_context(settings, consume=True)
    adapters = load_channels().build(ctx)  # their senders deliver the answers; no routes, no pollers
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await ctx.hub.start()
    await ctx.router.start()
    log.info("worker_started", channels=[a.name for a in adapters])
    try:
        await stop.wait()
    finally:
        await ctx.router.queue.stop()
        for adapter in adapters:
            await adapter.aclose()
        await ctx.hub.stop()
        if ctx.redis is not None:
            await ctx.redis.aclose()
        await ctx.engine.dispose()
        log.info("worker_stopped")
