"""The whole app (the lead's `create_app`, on the `stack` fixture's SQLite or PostgreSQL +
Redis) with the channel routers mounted if the app does not mount them yet."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter
from pydantic import SecretStr

from madoguchi.context import AppContext
from madoguchi.settings import Settings
from tests.conftest import Running, start_app


def with_channels(settings: Settings, **values: Any) -> Settings:
    """`settings` plus channel credentials (secrets wrapped as the Settings fields expect)."""
    update = {k: SecretStr(v) if isinstance(v, str) and ("secret" in k or "token" in k) else v for k, v in values.items()}
    if "line_api_base_url" in values and "line_data_api_base_url" not in values:
        # The stand-in serves both hosts (api.line.me and api-data.line.me): never the real one.
        update["line_data_api_base_url"] = values["line_api_base_url"]
    return settings.model_copy(update=update)


@contextlib.asynccontextmanager
async def running_channels(settings: Settings, path: str, factory: Callable[[AppContext], APIRouter]) -> AsyncIterator[Running]:
    async with contextlib.asynccontextmanager(start_app)(settings) as running:
        if path not in running.app.openapi()["paths"]:  # the app mounts every registered channel
            running.app.include_router(factory(running.ctx))
        try:
            yield running
        finally:
            for extra in list(running.ctx.extras.values()):
                close = getattr(extra, "aclose", None)
                if close is not None:
                    await close()


async def settle(ctx: AppContext, adapter: Any = None, rounds: int = 3) -> None:
    """Wait until every accepted event has been processed and its answer sent."""
    for _ in range(rounds):
        if adapter is not None:
            await adapter.drain()
        await ctx.router.queue.join()
