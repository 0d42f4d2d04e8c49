"""Build LINE webhook bodies as webhook.yml defines them, checked against it, and signed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from tests.standins.line_spec import webhook_spec


def ulid_like() -> str:
    return uuid.uuid4().hex[:26].upper()


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _event(kind: str, user_id: str, reply_token: str | None, redelivery: bool, event_id: str | None, **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": kind,
        "timestamp": int(time.time() * 1000),
        "mode": "active",
        "webhookEventId": event_id or ulid_like(),
        "deliveryContext": {"isRedelivery": redelivery},
        "source": {"type": "user", "userId": user_id},
        **extra,
    }
    if reply_token:
        event["replyToken"] = reply_token
    return event


def text_event(user_id: str, text: str, reply_token: str | None = None, *, redelivery: bool = False, event_id: str | None = None) -> dict[str, Any]:
    message = {"type": "text", "id": str(uuid.uuid4().int)[:18], "text": text, "quoteToken": uuid.uuid4().hex}
    return _event("message", user_id, reply_token, redelivery, event_id, message=message)


def postback_event(user_id: str, data: str, reply_token: str | None = None, *, event_id: str | None = None) -> dict[str, Any]:
    return _event("postback", user_id, reply_token, False, event_id, postback={"data": data})


def follow_event(user_id: str, reply_token: str | None = None, *, event_id: str | None = None) -> dict[str, Any]:
    return _event("follow", user_id, reply_token, False, event_id, follow={"isUnblocked": False})


def unfollow_event(user_id: str, *, event_id: str | None = None) -> dict[str, Any]:
    return _event("unfollow", user_id, None, False, event_id)


MEDIA_CONTENT: dict[str, dict[str, Any]] = {
    "sticker": {"packageId": "446", "stickerId": "1988", "stickerResourceType": "STATIC", "quoteToken": "q"},
    "image": {"contentProvider": {"type": "line"}, "quoteToken": "q"},
    "video": {"duration": 1000, "contentProvider": {"type": "line"}, "quoteToken": "q"},
    "audio": {"duration": 1000, "contentProvider": {"type": "line"}},
    "file": {"fileName": "a.pdf", "fileSize": 10},
    "location": {"latitude": 35.65, "longitude": 139.74, "address": "東京都港区"},
}


def media_event(user_id: str, media: str, reply_token: str | None = None) -> dict[str, Any]:
    message = {"type": media, "id": str(uuid.uuid4().int)[:18], **MEDIA_CONTENT[media]}
    return _event("message", user_id, reply_token, False, None, message=message)


def body(*events: dict[str, Any], destination: str | None = None, check: bool = True) -> bytes:
    document = {"destination": destination or "U" + uuid.uuid4().hex, "events": list(events)}
    if check:
        problems = webhook_spec().callback_errors(document)
        assert not problems, f"test built a webhook body LINE would never send: {problems}"
    return json.dumps(document, ensure_ascii=False).encode()
