"""Send dialog and counsellor messages to Telegram with aiogram's Bot.

Choices become an inline keyboard (callback_data "c:<choice id>", answered through callback
queries). Texts are sent without parse_mode, so HTML or Markdown in a message is shown as
typed, never interpreted. Retries follow the shared policy (bots.common.retry): 429 waits the
`retry_after` Telegram gives; 5xx and network errors back off exponentially. Telegram has no idempotency key: a request whose answer was
lost may be delivered twice, which is preferred over losing a message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bots.common.retry import GIVE_UP, RetryPolicy, Verdict, back_off, retry_after
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


def classify(exc: BaseException) -> Verdict:
    """429 waits Telegram's retry_after; 5xx and network errors back off; 400, 403 (blocked)
    and 404 give up: retrying will not help."""
    if isinstance(exc, TelegramRetryAfter):
        return retry_after(float(exc.retry_after))
    if isinstance(exc, TelegramServerError | TelegramNetworkError):
        return back_off(type(exc).__name__)
    return GIVE_UP


class TelegramSender:
    channel = "telegram"

    def __init__(self, bots: TelegramBots, policy: RetryPolicy | None = None) -> None:
        self.bots = bots
        self.policy = policy or RetryPolicy()

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
                if msg.link is not None and i == len(chunks) - 1:  # issue 16: the secure page
                    row = [InlineKeyboardButton(text=truncate_utf16(msg.link.label, MAX_BUTTON_TEXT), url=msg.link.uri)]
                    markup = InlineKeyboardMarkup(inline_keyboard=[*(markup.inline_keyboard if markup else []), row])
                await self._call(
                    lambda chunk=chunk, markup=markup: client.send_message(
                        chat_id=int(target.external_user_id), text=chunk, reply_markup=markup
                    ),
                    target,
                )

    async def send_document(self, target: DeliveryTarget, data: bytes, filename: str, caption: str) -> None:
        """A counsellor's document (a PDF form) as a Telegram document (issue 16)."""
        from aiogram.types import BufferedInputFile

        bot = self.bots.for_profile(target.profile_id)
        if bot is None:
            raise DeliveryError(f"no Telegram bot configured for profile {target.profile_id}")
        client = self.bots.client(bot)
        await self._call(lambda: client.send_document(
            chat_id=int(target.external_user_id), document=BufferedInputFile(data, filename=filename),
            caption=caption[:1024]), target)

    async def show_typing(self, target: DeliveryTarget) -> None:
        """"typing…" in the resident's chat (Telegram shows it for about 5 s or until the next
        message). One attempt: an indicator is not worth a retry."""
        bot = self.bots.for_profile(target.profile_id)
        if bot is None:
            raise DeliveryError(f"no Telegram bot configured for profile {target.profile_id}")
        await self.bots.client(bot).send_chat_action(chat_id=int(target.external_user_id), action="typing")

    async def _call(self, make: Callable[[], Awaitable[Any]], target: DeliveryTarget) -> None:
        try:
            await self.policy.call(make, classify, log_event="telegram_send_retrying",
                                   conversation_id=target.conversation_id)
        except TelegramAPIError as exc:
            if classify(exc).retry:
                raise DeliveryError(f"Telegram send gave up after {self.policy.attempts} attempts ({type(exc).__name__})") from exc
            raise DeliveryError(f"Telegram refused the message: {type(exc).__name__}") from exc
