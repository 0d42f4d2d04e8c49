"""An unsend that overtakes its message (the inbox, LINE's redelivery; issue 16): it is
remembered as a keyed-hash tombstone, and the message that lands later is stored `unsent`
with its text never kept and nothing answered. SQLite and PostgreSQL + Redis (`stack`)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from casecore.models import AuditEvent, Message
from handoff.actions import unsend
from tests.standins import line_webhook as wh
from tests.standins.line_fixtures import line_api, line_server  # noqa: F401
from tests.test_line_webhook import USER, Line, line  # noqa: F401  (fixture "line")

SECRET_WORDS = "元夫の住所は大阪市北区です。やっぱり消します"


async def test_an_unsend_before_its_message_is_stored_wins(line: Line) -> None:  # noqa: F811
    await line.send(wh.follow_event(USER, line.token()))
    said = wh.text_event(USER, SECRET_WORDS, line.token())
    early = wh._event("unsend", USER, None, False, None, unsend={"messageId": said["message"]["id"]})
    await line.send(early)  # the unsend is processed first: nothing to remove yet
    async with line.ctx.sessions() as s:
        stones = (await s.scalars(select(AuditEvent).where(AuditEvent.target_type == unsend.TOMBSTONE))).all()
    assert len(stones) == 1 and stones[0].action == "message_unsent_early"
    assert said["message"]["id"] not in stones[0].target_id and len(stones[0].target_id) == 64  # a keyed hash
    answered = len(line.api.messages_to(USER))

    await line.send(said)  # the message lands late
    kept = wh.text_event(USER, "家賃の相談です", line.token())
    await line.send(kept)
    async with line.ctx.sessions() as s:
        rows = (await s.scalars(select(Message).where(Message.direction == "in").order_by(Message.id))).all()
        audits = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "message_unsent"))).all()
    late = [m for m in rows if m.channel_event_id and m.channel_event_id.endswith(":" + said["message"]["id"])]
    assert len(late) == 1 and late[0].kind == "unsent" and late[0].text is None and late[0].translation is None
    assert not any(m.text and "大阪市北区" in m.text for m in rows)
    assert any(m.text == "家賃の相談です" for m in rows)  # other messages are untouched
    assert [a.detail.get("late") for a in audits] == [True]
    # the withdrawn message was not answered: only the next one was
    texts = [m.get("text") or "" for m in line.api.messages_to(USER)[answered:]]
    assert texts and not any("大阪市北区" in t for t in texts)
    assert len(line.api.calls_to("replyMessage")) >= 1


async def test_a_tombstone_expires(line: Line) -> None:  # noqa: F811
    await line.send(wh.follow_event(USER, line.token()))
    said = wh.text_event(USER, "家賃を払えません", line.token())
    await line.send(wh._event("unsend", USER, None, False, None, unsend={"messageId": said["message"]["id"]}))
    async with line.ctx.sessions() as s:
        stone = await s.scalar(select(AuditEvent).where(AuditEvent.target_type == unsend.TOMBSTONE))
        assert stone is not None
        await s.execute(update(AuditEvent).where(AuditEvent.id == stone.id).values(
            at=stone.at - unsend.TOMBSTONE_TTL - timedelta(minutes=1)))
        await s.commit()
    await line.send(said)  # long after: an ordinary message (LINE does not redeliver this late)
    async with line.ctx.sessions() as s:
        row = await s.scalar(select(Message).where(Message.channel_event_id.like(f"%:{said['message']['id']}")))
    assert row is not None and row.kind == "text" and row.text == "家賃を払えません"


def test_only_line_message_ids_have_tombstones() -> None:
    assert unsend.channel_message_id("line", "01HXYZ:123456") == "123456"
    assert unsend.channel_message_id("line", "01HXYZ") is None
    assert unsend.channel_message_id("telegram", "5:6") is None
