"""Development mode without a public URL: fetch updates with getUpdates long polling and hand
them to the same handling as the webhook. Telegram refuses getUpdates while a webhook is set,
so the webhook is removed first (pending updates are kept)."""

from __future__ import annotations

import asyncio

import structlog
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError

from bots.telegram.bots import TelegramBot
from bots.telegram.webhook import TelegramAdapter

log = structlog.get_logger(__name__)

ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]


async def poll(adapter: TelegramAdapter, bot: TelegramBot, stop: asyncio.Event, timeout: int = 25) -> int:
    """Poll until `stop` is set; returns how many updates were handled."""
    client = adapter.bots.client(bot)
    await client.delete_webhook(drop_pending_updates=False)
    offset: int | None = None
    handled = 0
    failures = 0
    while not stop.is_set():
        try:
            fetch = asyncio.create_task(
                client.get_updates(offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES, request_timeout=timeout + 10)
            )
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({fetch, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if fetch not in done:
                fetch.cancel()
                break
            updates = fetch.result()
            failures = 0
        except TelegramRetryAfter as exc:
            await asyncio.sleep(exc.retry_after)
            continue
        except (TelegramNetworkError, TelegramServerError) as exc:
            failures += 1
            log.warning("telegram_poll_failed", error=type(exc).__name__, attempt=failures)
            await asyncio.sleep(min(30.0, 0.5 * 2**failures))
            continue
        for update in updates:
            await adapter.handle(bot, update)
            offset = update.update_id + 1  # acknowledged on the next call
            handled += 1
    return handled
