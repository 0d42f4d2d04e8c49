"""LINE webhook events (SDK models) -> the service's InboundEvent. Pure: no I/O.

Only one-on-one chats with a user are served: group and room events carry other people's
messages and are ignored, as are events in `standby` mode (another module owns the chat).
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from linebot.v3.webhooks import (
    AudioMessageContent,
    Event,
    FileMessageContent,
    FollowEvent,
    ImageMessageContent,
    LocationMessageContent,
    MessageEvent,
    PostbackEvent,
    StickerMessageContent,
    TextMessageContent,
    UnfollowEvent,
    UserSource,
    VideoMessageContent,
)

from bots.line.channels import LineChannel
from bots.line.render import choice_from_postback
from handoff.events import InboundEvent, InboundMedia, MediaGroup

log = structlog.get_logger(__name__)

MEDIA_TYPES: dict[type, str] = {
    StickerMessageContent: "sticker",
    ImageMessageContent: "image",
    AudioMessageContent: "audio",
    VideoMessageContent: "video",
    FileMessageContent: "file",
    LocationMessageContent: "location",
}


@dataclass(frozen=True)
class Accepted:
    event: InboundEvent
    wants_profile: bool  # a follow: ask LINE for the user's language before submitting
    wants_loading: bool  # the resident waits for an answer: show the loading animation


def sticker_text(message: StickerMessageContent) -> str | None:
    """What a sticker says, for the risk screen: a message sticker's own text (typed by the
    resident) and the sticker's keywords ("sad", "help"), which LINE sends with the event."""
    parts = [message.text or "", *(message.keywords or [])]
    text = "\n".join(p.strip() for p in parts if p and p.strip())
    return text[:1000] or None


def media_ref(message: object, media_type: str) -> tuple[list[InboundMedia], MediaGroup | None]:
    """What the consumer fetches from LINE's content API (the bytes never ride the queue).
    Content LINE only points to (`contentProvider.type == "external"`, a URL of the sender's
    choosing) is not fetched: an arbitrary URL is not ours to request (SSRF)."""
    if media_type not in ("image", "video", "audio", "file"):
        return [], None
    provider = getattr(message, "content_provider", None)
    external = provider is not None and str(getattr(provider.type, "value", provider.type)) == "external"
    ref = InboundMedia(ref=str(message.id), kind=media_type,  # type: ignore[attr-defined]
                       filename=getattr(message, "file_name", None), declared_size=getattr(message, "file_size", None),
                       unavailable="external" if external else None)
    image_set = getattr(message, "image_set", None)
    group = MediaGroup(id=image_set.id, index=image_set.index, total=image_set.total) if image_set and image_set.id else None
    return [ref], group


def _mode(event: Event) -> str:
    mode = getattr(event, "mode", None)
    return str(getattr(mode, "value", mode) or "active")


def to_inbound(event: Event, channel: LineChannel, received_at: float) -> Accepted | None:
    """The InboundEvent for a LINE event, or None when the service does not handle it."""
    kind_name = type(event).__name__
    source = getattr(event, "source", None)
    if not isinstance(source, UserSource) or not source.user_id:
        log.info("line_event_ignored_not_a_one_on_one_chat", event_type=kind_name)
        return None
    if _mode(event) != "active":
        log.info("line_event_ignored_channel_in_standby_mode", event_type=kind_name)
        return None
    reply_context: dict[str, str] = {}
    reply_token = getattr(event, "reply_token", None)
    if reply_token:
        reply_context = {"reply_token": reply_token, "reply_token_at": f"{received_at:.3f}"}
    if event.delivery_context and event.delivery_context.is_redelivery:
        reply_context["redelivery"] = "1"
    base = {
        "channel": "line",
        "channel_event_id": event.webhook_event_id,
        "external_user_id": source.user_id,
        "profile_id": channel.profile_id,
        "reply_context": reply_context,
    }
    if isinstance(event, FollowEvent):
        return Accepted(InboundEvent(kind="follow", **base), wants_profile=True, wants_loading=True)
    if isinstance(event, UnfollowEvent):
        return Accepted(InboundEvent(kind="unfollow", **base), wants_profile=False, wants_loading=False)
    if isinstance(event, PostbackEvent):
        choice = choice_from_postback(event.postback.data or "") if event.postback else None
        if choice is None:
            log.info("line_postback_ignored_not_a_choice", event_type=kind_name)
            return None
        return Accepted(InboundEvent(kind="message", choice=choice, **base), False, True)
    if isinstance(event, MessageEvent):
        message = event.message
        # LINE's message id too: an unsend event names the message by it (a redelivery
        # carries both ids unchanged, so the dedupe holds)
        base["channel_event_id"] = f"{event.webhook_event_id}:{message.id}"
        if isinstance(message, TextMessageContent):
            return Accepted(InboundEvent(kind="message", text=message.text, **base), False, True)
        media_type = MEDIA_TYPES.get(type(message))
        if media_type is None:
            log.info("line_message_ignored_unknown_content", event_type=kind_name)
            return None
        text = sticker_text(message) if isinstance(message, StickerMessageContent) else None
        refs, group = media_ref(message, media_type)
        return Accepted(InboundEvent(kind="media", media_type=media_type, text=text, media_refs=refs,
                                     media_group=group, **base), False, True)
    log.info("line_event_ignored_type_not_handled", event_type=kind_name)
    return None
