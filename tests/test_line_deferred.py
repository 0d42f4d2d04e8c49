"""A LINE user's message queued on its routing fields (`deferred`) and parsed with the SDK in
the consumer (`expand`) is the very event the SDK path makes at once (`to_inbound`)."""

from __future__ import annotations

import time

import pytest
from linebot.v3.webhooks import Event

from bots.line.channels import LineChannel
from bots.line.inbound import RAW_BODY, RAW_EVENT, deferred, expand, to_inbound
from casecore import crypto
from handoff.events import EventIgnored, InboundEvent
from handoff.queue import _open, _seal
from tests.conftest import TEST_SECRET
from tests.standins import line_webhook as wh

CHANNEL = LineChannel("demo-city", "s" * 32, "token")
USER = "U" + "c" * 32


@pytest.fixture(autouse=True)
def _field_cipher() -> None:
    crypto.configure(crypto.FieldCipher.from_secrets(TEST_SECRET))  # queue entries are sealed


def _image_set() -> dict:  # type: ignore[type-arg]
    event = wh.media_event(USER, "image", "r1")
    event["message"]["imageSet"] = {"id": "E005D41A7288F41B6", "index": 2, "total": 3}
    return event


def _external_video() -> dict:  # type: ignore[type-arg]
    event = wh.media_event(USER, "video", "r2")
    event["message"]["contentProvider"] = {"type": "external", "originalContentUrl": "https://example.com/v.mp4"}
    return event


CASES = {
    "text": lambda: wh.text_event(USER, "家賃が払えません 😢 <script>alert(1)</script>", "tok"),
    "redelivery": lambda: wh.text_event(USER, "もう一度", None, redelivery=True),
    "sticker": lambda: {**wh.media_event(USER, "sticker", "r3"),
                        "message": {**wh.media_event(USER, "sticker")["message"], "keywords": ["sad", "help"]}},
    "image set": _image_set,
    "external video": _external_video,
    "file": lambda: wh.media_event(USER, "file", "r4"),
    "location": lambda: wh.media_event(USER, "location", "r5"),
}


@pytest.mark.parametrize("whole_body", [False, True], ids=["event", "one-event body"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_deferred_then_expanded_equals_the_sdk_path(name: str, whole_body: bool) -> None:
    raw = CASES[name]()
    received = time.time()
    body = wh.body(raw).decode() if whole_body else None
    quick = deferred(raw, CHANNEL, received, body=body)
    assert quick is not None and (RAW_BODY if whole_body else RAW_EVENT) in quick.event.reply_context
    assert InboundEvent.model_validate(quick.event.model_dump()) == quick.event  # valid as built
    direct = to_inbound(Event.from_dict(raw), CHANNEL, received)
    assert direct is not None
    # what the queue keys and dedupes on is known at the ack
    assert quick.event.conversation_key == direct.event.conversation_key
    assert quick.event.channel_event_id == direct.event.channel_event_id
    assert quick.wants_loading == direct.wants_loading and not quick.wants_profile
    # through the queue's sealing, with a mark the ack left, then expanded in the consumer
    marked = quick.event.model_copy(update={"reply_context": {**quick.event.reply_context, "loading": "1"}})
    full = expand(_open(_seal(marked)), CHANNEL)
    want = direct.event.model_copy(update={"reply_context": {**direct.event.reply_context, "loading": "1"},
                                           "received_at": marked.received_at})
    assert full == want


def test_events_that_are_not_a_users_message_are_parsed_at_once() -> None:
    group = {**wh.text_event(USER, "x"), "source": {"type": "group", "groupId": "C1", "userId": USER}}
    no_id = wh.text_event(USER, "x")
    del no_id["message"]["id"]
    numeric_user = {**wh.text_event(USER, "x"), "source": {"type": "user", "userId": 123}}
    too_long = {**wh.text_event(USER, "x"), "webhookEventId": "E" * 600}
    long_user = {**wh.text_event(USER, "x"), "source": {"type": "user", "userId": "U" * 600}}
    for raw in (wh.follow_event(USER, "t"), wh.postback_event(USER, "c:yes", "t"), wh.unfollow_event(USER),
                group, no_id, numeric_user, too_long, long_user, "not an object", {"type": "message"}):
        assert deferred(raw, CHANNEL, time.time()) is None, raw


def test_expand_ignores_what_the_sdk_refuses_or_the_service_does_not_handle() -> None:
    unknown = wh.text_event(USER, "x")
    unknown["message"] = {"type": "somethingNew", "id": "1"}
    standby = {**wh.text_event(USER, "x"), "mode": "standby"}
    bad_mode = {**wh.text_event(USER, "x"), "mode": 7}
    for raw in (unknown, standby, bad_mode):
        quick = deferred(raw, CHANNEL, time.time())
        assert quick is not None
        with pytest.raises(EventIgnored):
            expand(quick.event, CHANNEL)
    quick = deferred(wh.text_event(USER, "x"), CHANNEL, time.time())
    assert quick is not None
    with pytest.raises(EventIgnored):  # the channel was removed between the ack and the consumer
        expand(quick.event, None)
    plain = InboundEvent(channel="line", channel_event_id="e", external_user_id=USER, profile_id="demo-city", text="x")
    assert expand(plain, CHANNEL) is plain  # an event parsed at the ack passes through
