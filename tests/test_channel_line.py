"""LINE as residents really use it, against the stand-in that checks every request against
LINE's published OpenAPI spec: the bot leaves groups and rooms, a redelivered event's stale
reply token is never tried, an unblocking resident is welcomed back mid-intake, and after a
block a counsellor's message is not attempted and shows why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from bots.line import line_router
from casecore.models import AuditEvent, ContactPoint, Conversation, Message
from i18n.catalog import catalog
from tests.conftest import Running
from tests.handoff_helpers import counsellor_client
from tests.standins import line_webhook as wh
from tests.standins.line_fixtures import ACCESS_TOKEN, CHANNEL_SECRET, line_api, line_server  # noqa: F401
from tests.standins.stack import running_channels, settle, with_channels
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


@pytest.fixture
async def line_running(line_api, stack) -> AsyncIterator[tuple[Line, Running]]:  # noqa: F811
    settings = with_channels(
        stack, line_channel_secret=CHANNEL_SECRET, line_channel_access_token=ACCESS_TOKEN, line_api_base_url=line_api.base_url
    )
    async with running_channels(settings, "/webhooks/line", line_router) as running:
        yield Line(running.ctx, running.client, line_api), running


async def test_after_a_block_counsellor_messages_are_not_sent_and_show_it(
    line_running: tuple[Line, Running],
) -> None:
    resident, running = line_running
    await resident.send(wh.follow_event(USER, resident.token()))
    await resident.tap("human")
    async with running.ctx.sessions() as s:
        conv = await s.scalar(select(Conversation).where(Conversation.channel == "line"))
    assert conv is not None
    async with counsellor_client(running, "sato") as sato:
        assert (await sato.post(f"/api/conversations/{conv.id}/claim")).status_code == 200
        await resident.send(wh.unfollow_event(USER))  # the resident blocks the account
        pushes = len(resident.api.calls_to("pushMessage"))
        r = await sato.post(f"/api/conversations/{conv.id}/messages", json={"text": "まだいらっしゃいますか？"})
        assert r.status_code == 201 and r.json()["message"]["delivery_status"] == "blocked"
        await settle(running.ctx, resident.adapter)
        assert len(resident.api.calls_to("pushMessage")) == pushes  # never attempted
        last = (await sato.get(f"/api/conversations/{conv.id}")).json()["transcript"][-1]
        assert last["delivery_status"] == "blocked" and last["text"] == "まだいらっしゃいますか？"
    async with running.ctx.sessions() as s:
        audits = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "message_sent"))).all()
    assert audits[-1].detail.get("delivery") == "blocked"


async def test_an_unsent_message_leaves_the_transcript(line: Line) -> None:  # noqa: F811
    await line.send(wh.follow_event(USER, line.token()))
    said = wh.text_event(USER, "夫の名前は山田太郎です。やっぱり書かないほうがよかった", line.token())
    kept = wh.text_event(USER, "家賃の相談です", line.token())
    await line.send(said)
    await line.send(kept)
    unsend = wh._event("unsend", USER, None, False, None, unsend={"messageId": said["message"]["id"]})
    await line.send(unsend)
    await line.send(unsend)  # redelivered: nothing more happens
    async with line.ctx.sessions() as s:
        rows = (await s.scalars(select(Message).where(Message.direction == "in").order_by(Message.id))).all()
        audits = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "message_unsent"))).all()
    texts = [m.text for m in rows]
    assert "家賃の相談です" in texts and not any(t and "山田太郎" in t for t in texts)
    withdrawn = [m for m in rows if m.kind == "unsent"]
    assert len(withdrawn) == 1 and withdrawn[0].text is None and withdrawn[0].translation is None
    assert len(audits) == 2  # each unsend is recorded (the second found nothing new to remove)
