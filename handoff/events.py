"""The one normalized inbound event every channel adapter produces."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

EventKind = Literal["message", "follow", "unfollow", "media"]
Channel = Literal["webchat", "line", "telegram", "email"]

# A message longer than this is cut before it reaches the dialog (the resident is told).
MAX_TEXT_CHARS = 10_000


class InboundEvent(BaseModel):
    channel: Channel
    # The channel's own id of this delivery (LINE webhookEventId, Telegram update_id, the
    # Message-ID of a mail, a client-generated id in the web chat): redeliveries share it.
    channel_event_id: str = Field(min_length=1, max_length=512)
    external_user_id: str = Field(min_length=1, max_length=512)
    profile_id: str
    kind: EventKind = "message"
    text: str | None = None
    # The whole text when the channel had to cut `text` (a very long mail): screened for risk
    # with it, never stored — a crisis in the last line of a long message must not be missed.
    screen_text: str | None = Field(default=None, max_length=200_000)
    choice: str | None = Field(default=None, max_length=64)
    media_type: str | None = None  # sticker, image, audio, video, file, location
    language_hint: str | None = None  # from the channel (LINE profile, Telegram, browser)
    # Channel data needed to answer: LINE reply token, mail Message-ID and subject, ...
    reply_context: dict[str, str] = Field(default_factory=dict)
    received_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    @property
    def conversation_key(self) -> str:
        """Events with the same key are processed strictly in order."""
        return f"{self.profile_id}:{self.channel}:{self.external_user_id}"
