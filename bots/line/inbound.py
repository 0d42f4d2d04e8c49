"""LINE webhook events (SDK models) -> the service's InboundEvent. Pure: no I/O.

Only one-on-one chats with a user are served: group and room events carry other people's
messages and are ignored, as are events in `standby` mode (another module owns the chat).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
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
from handoff.events import EventIgnored, InboundEvent, InboundMedia, MediaGroup

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


# A user's message event is enqueued on its routing fields alone and parsed with the SDK's
# models in the consumer (`expand`): the SDK's validation was a third of the ack's CPU
# (issue 19). These keys carry the raw event (or the whole body, when it holds only this
# event: no second serialisation) and the ack's time in its reply_context.
RAW_EVENT = "line_raw_event"
RAW_BODY = "line_raw_body"
RECEIVED_AT = "line_received_at"
_MAX_ID = 512  # InboundEvent's limit on both ids


def deferred(raw: object, channel: LineChannel, received_at: float, *, marks: Mapping[str, str] | None = None,
             body: str | None = None) -> Accepted | None:
    """A one-on-one message event as it will be queued, read only for what the queue needs
    (the resident for the order, the ids for the dedupe: the same values `to_inbound` makes),
    with the ack's `marks` in its reply_context; or None: anything else is parsed at once, as
    before. `body` is the request's text when it holds this one event only."""
    if not isinstance(raw, dict) or raw.get("type") != "message":
        return None
    source, message = raw.get("source"), raw.get("message")
    if not isinstance(source, dict) or source.get("type") != "user" or not isinstance(message, dict):
        return None
    user, event_id, message_id = source.get("userId"), raw.get("webhookEventId"), message.get("id")
    if not (isinstance(user, str) and 0 < len(user) <= _MAX_ID and isinstance(event_id, str) and event_id
            and isinstance(message_id, str) and message_id):
        return None
    event_key = f"{event_id}:{message_id}"
    if len(event_key) > _MAX_ID:  # an id too long for the queue: the SDK path says what is wrong
        return None
    context = {RAW_BODY: body} if body is not None else {RAW_EVENT: json.dumps(raw, ensure_ascii=False)}
    context[RECEIVED_AT] = f"{received_at:.3f}"
    if marks:
        context.update(marks)
    # (validated: pydantic-core's validation costs less than model_construct's default handling)
    event = InboundEvent(channel="line", kind="message", channel_event_id=event_key, external_user_id=user,
                         profile_id=channel.profile_id, reply_context=context)
    return Accepted(event, wants_profile=False, wants_loading=True)


def expand(event: InboundEvent, channel: LineChannel | None) -> InboundEvent:
    """The queued event in full (the SDK's models and `to_inbound`), with the marks the ack
    left on it; an event `deferred` did not make is returned as it is. Raises EventIgnored
    for one the service does not handle (logged here, as the ack logged it before)."""
    context = event.reply_context
    if RAW_EVENT not in context and RAW_BODY not in context:
        return event
    if channel is None:
        log.warning("line_event_skipped_channel_no_longer_configured", profile=event.profile_id)
        raise EventIgnored
    try:
        raw = json.loads(context[RAW_BODY])["events"][0] if RAW_BODY in context else json.loads(context[RAW_EVENT])
        parsed = Event.from_dict(raw)
    except Exception as exc:  # the SDK raises ValueError, KeyError or TypeError
        log.warning("line_event_skipped_does_not_match_the_webhook_schema", event_type="message",
                    error=type(exc).__name__, channel=channel.key)
        raise EventIgnored from None
    item = to_inbound(parsed, channel, float(context[RECEIVED_AT]))
    if item is None:
        raise EventIgnored
    marks = {k: v for k, v in context.items() if k not in (RAW_EVENT, RAW_BODY, RECEIVED_AT)}
    full = item.event
    return full.model_copy(update={"reply_context": {**full.reply_context, **marks}, "received_at": event.received_at})
