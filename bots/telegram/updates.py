"""Telegram Update (aiogram types) -> the service's InboundEvent. Pure: no I/O.

Only private chats are served. `/start` is the Telegram way to begin: it becomes a follow.
A member update to `kicked` means the resident blocked the bot: an unfollow.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from aiogram.types import Update, User

from bots.common.language import hint_language
from bots.common.text import choice_from_postback
from bots.telegram.bots import TelegramBot
from bots.telegram.media import media_ref
from handoff.events import InboundEvent

log = structlog.get_logger(__name__)

# Message attribute -> media_type (the InboundEvent vocabulary)
MEDIA_FIELDS: tuple[tuple[str, str], ...] = (
    ("sticker", "sticker"),
    ("photo", "image"),
    ("animation", "video"),
    ("video", "video"),
    ("video_note", "video"),
    ("voice", "audio"),
    ("audio", "audio"),
    ("document", "file"),
    ("venue", "location"),
    ("location", "location"),
    ("contact", "file"),
    ("poll", "file"),
    ("dice", "sticker"),
)


@dataclass(frozen=True)
class Accepted:
    event: InboundEvent | None  # None: nothing to submit, but a callback still to answer
    callback_query_id: str | None = None  # to answer with answerCallbackQuery
    chat_id: int | None = None  # to show "typing" while the answer is prepared


def _language(user: User | None) -> str | None:
    return hint_language(user.language_code) if user else None


def to_inbound(update: Update, bot: TelegramBot) -> Accepted | None:
    base = {"channel": "telegram", "channel_event_id": f"{bot.bot_id}:{update.update_id}", "profile_id": bot.profile_id}
    if update.message is not None:
        msg = update.message
        if msg.chat.type != "private":
            log.info("telegram_update_ignored_not_private", chat_type=msg.chat.type)
            return None
        common = {**base, "external_user_id": str(msg.chat.id), "language_hint": _language(msg.from_user)}
        if msg.text is not None:
            command = msg.text.strip().split(maxsplit=1)[0].split("@")[0] if msg.text.strip() else ""
            if command == "/start":
                return Accepted(InboundEvent(kind="follow", **common), chat_id=msg.chat.id)
            return Accepted(InboundEvent(kind="message", text=msg.text, **common), chat_id=msg.chat.id)
        for attr, media_type in MEDIA_FIELDS:
            if getattr(msg, attr, None):
                # A photo, video or document may carry a caption: the resident's words, screened.
                caption = (msg.caption or "").strip() or None
                refs, group = media_ref(msg)
                return Accepted(InboundEvent(kind="media", media_type=media_type, text=caption, media_refs=refs,
                                             media_group=group, **common), chat_id=msg.chat.id)
        log.info("telegram_message_ignored_no_content")
        return None
    if update.callback_query is not None:
        cq = update.callback_query
        chat = cq.message.chat if cq.message is not None else None
        choice = choice_from_postback(cq.data or "")
        if chat is None or chat.type != "private" or choice is None:
            # Still answered by the adapter so the button stops spinning.
            log.info("telegram_callback_ignored_not_a_choice")
            return Accepted(None, callback_query_id=cq.id)
        common = {**base, "external_user_id": str(chat.id), "language_hint": _language(cq.from_user)}
        return Accepted(InboundEvent(kind="message", choice=choice, **common), callback_query_id=cq.id, chat_id=chat.id)
    if update.my_chat_member is not None:
        change = update.my_chat_member
        if change.chat.type == "private" and change.new_chat_member.status == "kicked":
            return Accepted(InboundEvent(kind="unfollow", external_user_id=str(change.chat.id), **base))
        return None
    log.info("telegram_update_ignored_type")
    return None
