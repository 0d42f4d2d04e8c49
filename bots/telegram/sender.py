"""Send dialog and counsellor messages to Telegram with aiogram's Bot.

Choices become an inline keyboard (callback_data "c:<choice id>", answered through callback
queries). Texts are sent without parse_mode, so HTML or Markdown in a message is shown as
typed, never interpreted. 429 waits the `retry_after` Telegram gives; 5xx and network errors
back off exponentially. Telegram has no idempotency key: a request whose answer was lost may
be delivered twice, which is preferred over losing a message.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

import structlog
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bots.common.text import marked_text, postback_data
from bots.common.textsplit import split_text, truncate_utf16
from bots.telegram.bots import TelegramBots
from dialogs.types import Choice, OutboundMessage
from handoff.delivery import DeliveryError, DeliveryTarget

log = structlog.get_logger(__name__)

MAX_TEXT = 4096
MAX_BUTTON_TEXT = 64  # Telegram shows long button texts cut; keep them readable
MAX_CALLBACK_DATA_BYTES = 64


def keyboard(choices: Sequence[Choice]) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(text=truncate_utf16(c.label.strip() or c.id, MAX_BUTTON_TEXT), callback_data=postback_data(c.id))
        for c in choices
        if len(postback_data(c.id).encode()) <= MAX_CALLBACK_DATA_BYTES
    ]
    # Short labels two to a row; anything longer gets a row of its own.
    per_row = 2 if all(len(b.text) <= 12 for b in buttons) else 1
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    return InlineKeyboardMarkup(inline_keyboard=rows)


class TelegramSender:
    channel = "telegram"

    def __init__(self, bots: TelegramBots, attempts: int = 8, base_delay: float = 0.5, max_delay: float = 30.0) -> None:
        self.bots = bots
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay

    async def send(self, target: DeliveryTarget, messages: Sequence[OutboundMessage]) -> None:
        bot = self.bots.for_profile(target.profile_id)
        if bot is None:
            raise DeliveryError(f"no Telegram bot configured for profile {target.profile_id}")
        client = self.bots.client(bot)
        for msg in messages:
            text = marked_text(msg, target.language) if msg.text.strip() else ("…" if msg.choices else "")
            if not text:
                continue
            chunks = split_text(text, MAX_TEXT)
            for i, chunk in enumerate(chunks):
                markup = keyboard(msg.choices) if msg.choices and i == len(chunks) - 1 else None
                await self._call(
                    lambda chunk=chunk, markup=markup: client.send_message(
                        chat_id=int(target.external_user_id), text=chunk, reply_markup=markup
                    ),
                    target,
                )

    async def _call(self, make: object, target: DeliveryTarget) -> None:
        last = "no attempt"
        for attempt in range(self.attempts):
            try:
                await make()  # type: ignore[operator]
                return
            except TelegramRetryAfter as exc:
                last, wait = "429", float(exc.retry_after)
            except (TelegramServerError, TelegramNetworkError) as exc:
                last = type(exc).__name__
                wait = min(self.max_delay, self.base_delay * 2**attempt) * (0.5 + random.random() / 2)
            except TelegramAPIError as exc:  # 400, 403 (blocked), 404: retrying will not help
                raise DeliveryError(f"Telegram refused the message: {type(exc).__name__}") from exc
            log.warning(
                "telegram_send_retrying", reason=last, attempt=attempt + 1, wait_s=round(wait, 2),
                conversation_id=target.conversation_id,
            )
            if attempt + 1 < self.attempts:
                await asyncio.sleep(wait)
        raise DeliveryError(f"Telegram send gave up after {self.attempts} attempts ({last})")
