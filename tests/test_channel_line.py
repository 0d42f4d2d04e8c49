"""LINE as residents really use it, against the stand-in that checks every request against
LINE's published OpenAPI spec: the bot leaves groups and rooms, a redelivered event's stale
reply token is never tried, and an unblocking resident is welcomed back mid-intake."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from casecore.models import ContactPoint, Message
from i18n.catalog import catalog
from tests.standins import line_webhook as wh
from tests.standins.line_fixtures import line_api, line_server  # noqa: F401
from tests.test_line_webhook import USER, Line, count, line  # noqa: F401  (fixture "line")


def join_event(source: dict[str, Any], reply_token: str) -> dict[str, Any]:
    event = wh._event("join", USER, reply_token, False, None)
    event["source"] = source
    return event


async def test_the_bot_leaves_groups_and_rooms_and_keeps_nothing(line: Line) -> None:  # noqa: F811
    group, room = "C" + "1" * 32, "R" + "2" * 32
    await line.send(join_event({"type": "group", "groupId": group}, line.token()))
    await line.send(join_event({"type": "room", "roomId": room}, line.token()))
    member = wh._event("memberJoined", USER, line.token(), False, None,
                       joined={"members": [{"type": "user", "userId": USER}]})
    member["source"] = {"type": "group", "groupId": group, "userId": USER}
    await line.send(member)
    # a message in the group before the bot could leave: not a consultation, not kept
    said = wh.text_event(USER, "みんな見てる？", line.token())
    said["source"] = {"type": "group", "groupId": group, "userId": USER}
    await line.send(said)
    assert line.api.left == [("group", group), ("room", room), ("group", group)]
    assert await count(line.ctx, select(func.count()).select_from(Message)) == 0
    assert await count(line.ctx, select(func.count()).select_from(ContactPoint)) == 0
    assert not line.api.delivered  # nothing said in the group


async def test_a_redelivered_events_reply_token_is_not_tried(line: Line) -> None:  # noqa: F811
    await line.send(wh.follow_event(USER, line.token()))
    replies = len(line.api.calls_to("replyMessage"))
    # LINE redelivers an event it saw no 200 for, minutes later: its reply token is stale
    await line.send(wh.text_event(USER, "家賃が払えません", line.token(), redelivery=True))
    assert len(line.api.calls_to("replyMessage")) == replies  # never tried
    assert line.api.calls_to("pushMessage")  # the answer was pushed
    assert line.api.delivered[-1].via == "push"


async def test_an_unblocking_resident_is_welcomed_back_at_the_current_question(line: Line) -> None:  # noqa: F811
    await line.send(wh.follow_event(USER, line.token()))
    question, offered = line.last()["text"], line.offered()
    await line.send(wh.unfollow_event(USER))
    unblock = wh.follow_event(USER, line.token())
    unblock["follow"] = {"isUnblocked": True}
    await line.send(unblock)
    cat = catalog("ja")
    assert cat.text("resume.ask") in line.last()["text"]
    assert cat.text("unknown_input")[:10] not in line.last()["text"]
    assert set(line.offered()) == {"continue", "restart"}
    await line.tap("continue")
    assert line.last()["text"] == question and line.offered() == offered
