"""POST /webhooks/telegram, and the update handling the polling mode shares.

- X-Telegram-Bot-Api-Secret-Token must equal a configured bot's webhook secret (constant-time
  compare); otherwise 401, nothing stored, a warning without the body.
- The body is parsed as an aiogram `Update`; not JSON or not an Update: 400.
- `update_id` (with the bot id) is the channel_event_id: the router drops repeats.
- Events are enqueued with `ctx.router.submit` before the 200; answering the callback query
  and the "typing" indicator run after it; a callback query is answered once, also when its
  update is redelivered.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import uuid
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import structlog
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Update
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from bots.common.adapter import BaseAdapter, Capabilities
from bots.telegram import media
from bots.telegram.bots import TelegramBot, TelegramBots
from bots.telegram.sender import MAX_BUTTON_TEXT, MAX_TEXT, TelegramSender
from bots.telegram.updates import MEDIA_FIELDS, to_inbound
from handoff.events import InboundEvent
from handoff.queue import QueueFull

if TYPE_CHECKING:
    from handoff.context import HandoffContext as AppContext

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 1_000_000
ANSWERED_KEPT = 10_000  # a callback query can only be answered within about 15 s anyway
EXTRAS_KEY = "telegram"


class TelegramAdapter(BaseAdapter):
    name = "telegram"
    capabilities = Capabilities(
        typing_indicator=True, buttons=True, max_button_label=MAX_BUTTON_TEXT,
        media_kinds=frozenset(kind for _, kind in MEDIA_FIELDS), max_text=MAX_TEXT, call_action=False,
    )

    def __init__(self, router: Any, bots: TelegramBots, sender: TelegramSender | None = None) -> None:
        self.router = router
        self.bots = bots
        self.sender = sender or TelegramSender(bots)
        self._background: set[asyncio.Task[None]] = set()
        # callback queries already answered: Telegram redelivers an update whose 200 it did
        # not see, and a second answer is refused ("query is too old … or invalid")
        self._answered: OrderedDict[str, None] = OrderedDict()

    @classmethod
    def from_context(cls, ctx: AppContext) -> TelegramAdapter:
        profiles = ctx.profiles.all() if hasattr(ctx.profiles, "all") else []
        adapter = cls(ctx.router, TelegramBots.from_config(ctx.settings, profiles))
        ctx.senders.register(adapter.sender)
        hooks = getattr(ctx.router, "hooks", None)
        if hooks is not None:  # the consumer calls prepare (the files behind a message)
            hooks["telegram"] = adapter
        ctx.extras[EXTRAS_KEY] = adapter
        return adapter

    # --- consumer side (called by the router before it processes an event) ----------------
    async def prepare(self, event: InboundEvent) -> InboundEvent:
        """The bytes of the files a message carries (getFile, then the file download)."""
        bot = self.bots.for_profile(event.profile_id)
        if not event.media_refs or bot is None:
            return event
        from handoff.actions.media import MediaLimits

        limit = MediaLimits.of(self.router).max_file_bytes
        got = [await media.fetch(self.bots.client(bot), self.bots.api_base_url, ref, limit) for ref in event.media_refs]
        return event.model_copy(update={"attachments": [*event.attachments, *got], "media_refs": []})

    def while_slow(self, event: InboundEvent) -> asyncio.TimerHandle | None:
        return None

    def parse(self, bot: TelegramBot, payload: Any) -> Update:
        return Update.model_validate(payload, context={"bot": self.bots.client(bot)})

    async def handle(self, bot: TelegramBot, update: Update) -> None:
        item = to_inbound(update, bot)
        if item is None:
            return
        if item.callback_query_id and self._first_answer(item.callback_query_id):
            self._spawn(self._answer_callback(bot, item.callback_query_id))
        if item.chat_id is not None and item.event is not None:
            self._spawn(self._typing(bot, item.chat_id))
        if item.event is not None:
            result = self.router.submit(item.event)
            if inspect.isawaitable(result):
                await result

    def _first_answer(self, callback_query_id: str) -> bool:
        """True the first time a callback query is seen (bounded memory, newest kept)."""
        if callback_query_id in self._answered:
            return False
        self._answered[callback_query_id] = None
        while len(self._answered) > ANSWERED_KEPT:
            self._answered.popitem(last=False)
        return True

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _answer_callback(self, bot: TelegramBot, callback_query_id: str) -> None:
        try:
            await self.bots.client(bot).answer_callback_query(callback_query_id)
        except TelegramAPIError as exc:  # expired (older than ~15 s) or already answered
            log.info("telegram_callback_answer_failed", error=type(exc).__name__, bot=bot.bot_id)

    async def _typing(self, bot: TelegramBot, chat_id: int) -> None:
        try:
            await self.bots.client(bot).send_chat_action(chat_id=chat_id, action="typing")
        except TelegramAPIError as exc:
            log.debug("telegram_typing_failed", error=type(exc).__name__)

    async def drain(self) -> None:
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    def routes(self) -> APIRouter:
        return _routes(self)

    async def aclose(self) -> None:
        await self.drain()
        await self.bots.aclose()


def telegram_router(ctx: AppContext) -> APIRouter:
    return (ctx.extras.get(EXTRAS_KEY) or TelegramAdapter.from_context(ctx)).routes()


def build_adapter(ctx: AppContext) -> TelegramAdapter:
    """Built (by `bots.telegram`'s factory) when a bot is configured."""
    return ctx.extras.get(EXTRAS_KEY) or TelegramAdapter.from_context(ctx)


def _routes(adapter: TelegramAdapter) -> APIRouter:
    router = APIRouter(tags=["channels"])

    @router.post(
        "/webhooks/telegram",
        summary="Telegram Bot API webhook (X-Telegram-Bot-Api-Secret-Token)",
        responses={
            200: {"description": "Accepted (also for updates that are ignored)"},
            400: {"description": "Body is not a Telegram Update"},
            401: {"description": "Missing or wrong secret token"},
            413: {"description": "Body too large"},
            503: {"description": "Could not enqueue; Telegram retries the update"},
        },
    )
    async def telegram_webhook(request: Request) -> JSONResponse:
        request_id = uuid.uuid4().hex[:12]
        bot = adapter.bots.by_secret(request.headers.get("x-telegram-bot-api-secret-token"))
        if bot is None:
            log.warning("telegram_webhook_refused_bad_secret", request_id=request_id)
            return JSONResponse({"detail": "invalid secret token"}, status_code=401)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return JSONResponse({"detail": "body too large"}, status_code=413)
        try:
            update = adapter.parse(bot, json.loads(body))
        except (ValueError, ValidationError, TypeError) as exc:  # JSONDecodeError is a ValueError
            log.warning("telegram_webhook_malformed", request_id=request_id, error=type(exc).__name__, bot=bot.bot_id)
            return JSONResponse({"detail": "not a Telegram Update"}, status_code=400)
        try:
            await adapter.handle(bot, update)
        except QueueFull:
            log.warning("telegram_webhook_inbox_full", request_id=request_id)
            return JSONResponse({"detail": "inbox full; retry later"}, status_code=503)
        except Exception:
            log.exception("telegram_webhook_could_not_enqueue", request_id=request_id)
            return JSONResponse({"detail": "could not enqueue; retry"}, status_code=503)
        return JSONResponse({}, status_code=200)

    return router
