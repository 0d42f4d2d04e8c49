"""The one normalized inbound event every channel adapter produces."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field

EventKind = Literal["message", "follow", "unfollow", "media"]
Channel = Literal["webchat", "line", "telegram", "email"]

# A message longer than this is cut before it reaches the dialog (the resident is told).
MAX_TEXT_CHARS = 10_000


MediaKind = Literal["image", "file", "audio", "video"]


class EventIgnored(Exception):
    """Raised by a channel's `prepare` hook when the event, parsed in full in the consumer,
    is one the service does not handle (the channel logs why): nothing is stored or sent."""


class InboundMedia(BaseModel):
    """One attachment of an inbound event, in memory (a photo, a scanned letter, a PDF).

    A channel that has the bytes at hand (the web chat upload, a parsed mail) fills `data`.
    A queued channel (LINE, Telegram) must not put megabytes on the queue: it sends only
    `ref` (LINE message id, Telegram file_id) and the channel's `prepare` hook fetches the
    bytes in the consumer. Nothing here is trusted: the type is found from the bytes
    (casecore.media), `filename` and `declared_type` are only hints, and the size is
    checked against the caps. `unavailable` says why there are no bytes ("too_large",
    "external", "fetch_failed"): the counsellor is told, nothing is lost silently.
    """

    data: bytes = Field(default=b"", repr=False)
    filename: str | None = Field(default=None, max_length=1024)
    declared_type: str | None = Field(default=None, max_length=255)
    kind: MediaKind | None = None  # the channel's own word for it (a hint)
    ref: str | None = Field(default=None, max_length=1024)  # the channel's reference, fetched later
    declared_size: int | None = None
    unavailable: str | None = None


class MediaGroup(BaseModel):
    """Photos sent together (LINE imageSet, Telegram media_group_id): answered once."""

    id: str = Field(min_length=1, max_length=256)
    index: int | None = None
    total: int | None = None


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
    # Attachments with their bytes: never serialised (the queue must not carry megabytes).
    attachments: list[InboundMedia] = Field(default_factory=list, exclude=True)
    # What a queued channel's consumer fetches (references only; `data` stays empty).
    media_refs: list[InboundMedia] = Field(default_factory=list)
    media_group: MediaGroup | None = None

    @property
    def conversation_key(self) -> str:
        """Events with the same key are processed strictly in order."""
        return f"{self.profile_id}:{self.channel}:{self.external_user_id}"
