"""Safeguarding on every channel (issue 9): a crisis in a LINE sticker, a Telegram caption or an
email body is screened by the one dialog screen and flagged; LINE gets call buttons LINE accepts
(the stand-in validates every request against messaging-api.yml)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import select

from bots.email.channel import EXTRAS_KEY
from bots.line import line_router
from bots.telegram import telegram_router
from casecore.models import Conversation, Message
from madoguchi.context import AppContext
from tests.dovecot import Dovecot, dovecot_fixture  # noqa: F401  (fixture "dovecot")
from tests.handoff_helpers import first_suicide_line
from tests.smtp_sink import SmtpSink, smtp_sink_fixture  # noqa: F401  (fixture "smtp_sink")
from tests.standins import line_webhook as wh
from tests.standins.line_fixtures import ACCESS_TOKEN, CHANNEL_SECRET, line_api, line_server  # noqa: F401
from tests.standins.stack import running_channels, with_channels
from tests.standins.telegram_fixtures import (  # noqa: F401
    BOT_TOKEN,
    WEBHOOK_SECRET,
    message_update,
    telegram_api,
    telegram_server,
)
from tests.test_email_channel import CENTRE, email_app
from tests.test_line_webhook import USER, Line
from tests.test_telegram import USER as TG_USER
from tests.test_telegram import Tg


async def urgent_kinds(ctx: AppContext) -> list[list[str]]:
    async with ctx.sessions() as s:
        return [list(r) for r in (await s.scalars(select(Conversation.urgency_reasons).where(Conversation.urgent))).all()]


@pytest.fixture
async def line(line_api, stack) -> AsyncIterator[Line]:  # noqa: F811
    settings = with_channels(
        stack, line_channel_secret=CHANNEL_SECRET, line_channel_access_token=ACCESS_TOKEN, line_api_base_url=line_api.base_url
    )
    async with running_channels(settings, "/webhooks/line", line_router) as running:
        yield Line(running.ctx, running.client, line_api)


@pytest.fixture
async def tg(telegram_api, stack) -> AsyncIterator[Tg]:  # noqa: F811
    settings = with_channels(
        stack, telegram_bot_token=BOT_TOKEN, telegram_webhook_secret=WEBHOOK_SECRET, telegram_api_base_url=telegram_api.base_url
    )
    async with running_channels(settings, "/webhooks/telegram", telegram_router) as running:
        running.ctx.extras["telegram"].sender.base_delay = 0.01
        yield Tg(running.ctx, running.client, telegram_api)


def sticker_event(user: str, reply_token: str, *, text: str | None = None, keywords: list[str] | None = None) -> dict[str, Any]:
    event = wh.media_event(user, "sticker", reply_token)
    if text is not None:  # a message sticker: the resident typed this onto it
        event["message"]["stickerResourceType"] = "MESSAGE"
        event["message"]["text"] = text
    if keywords is not None:
        event["message"]["keywords"] = keywords
    return event


async def test_line_sticker_text_is_screened_and_answered_with_spec_valid_call_buttons(line: Line) -> None:
    await line.send(wh.follow_event(USER, line.token()))
    await line.send(sticker_event(USER, line.token(), text="もう死にたい"))
    assert await urgent_kinds(line.ctx) == [["suicide"]]
    sent = line.api.messages_to(USER)
    flex = [m for m in sent if m["type"] == "flex"]
    assert flex, sent
    buttons = [b["action"] for b in flex[-1]["contents"]["body"]["contents"]]
    assert {"type": "uri", "label": buttons[0]["label"], "uri": first_suicide_line(line.ctx)} == buttons[0]
    assert all(b["type"] == "uri" and b["uri"].startswith("tel:") and len(b["label"]) <= 20 for b in buttons)
    assert not line.api.violations  # LINE would have accepted every request
    assert line.offered() == ["human", "continue"]  # the two choices ride on the last message
    async with line.ctx.sessions() as s:
        row = (await s.scalars(select(Message).where(Message.media_type == "sticker"))).one()
        assert row.text == "もう死にたい"  # the counsellor sees what the sticker said


async def test_line_sticker_keywords_are_screened_too(line: Line) -> None:
    await line.send(sticker_event(USER, line.token(), keywords=["i want to die", "sad"]))
    assert await urgent_kinds(line.ctx) == [["suicide"]]
    await line.send(sticker_event("U" + "c" * 32, line.token(), keywords=["happy", "cat"]))
    assert len(await urgent_kinds(line.ctx)) == 1  # an ordinary sticker is only "we cannot read stickers"


async def test_medical_call_button_encodes_hash(line: Line) -> None:
    await line.send(wh.follow_event(USER, line.token()))
    await line.tap("ja")
    await line.tap("agree")
    await line.tap("medical")
    await line.tap("done")
    flex = [m for m in line.api.messages_to(USER) if m["type"] == "flex"]
    assert flex, [(m["type"], m.get("text", "")[:40]) for m in line.api.messages_to(USER)]
    uris = [b["action"]["uri"] for b in flex[-1]["contents"]["body"]["contents"]]
    assert uris == ["tel:119", "tel:%237119"] and not line.api.violations


async def test_telegram_caption_is_screened(tg: Tg) -> None:
    photo = [{"file_id": "AgAD1", "file_unique_id": "u1", "width": 90, "height": 90}]
    await tg.send(message_update(TG_USER, None, language="en", photo=photo, caption="i want to die"))
    assert await urgent_kinds(tg.ctx) == [["suicide"]]
    texts = [m["text"] for m in tg.api.sent_to(TG_USER)]
    assert any("0570-783-556" in t and "0120-279-338" in t for t in texts), texts  # numbers as text: tappable
    assert tg.offered() == ["human", "continue"]
    plain = [{"file_id": "AgAD2", "file_unique_id": "u2", "width": 90, "height": 90}]
    await tg.send(message_update(TG_USER + 1, None, language="en", photo=plain))
    assert len(await urgent_kinds(tg.ctx)) == 1


@pytest.mark.dovecot
async def test_email_body_is_screened_by_the_dialog(stack, dovecot: Dovecot, smtp_sink: SmtpSink) -> None:
    async with email_app(stack, dovecot, smtp_sink) as running:
        intake = running.ctx.extras[EXTRAS_KEY].intake
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "resident@example.jp", CENTRE, "相談"
        msg["Message-ID"] = "<crisis-1@example.jp>"
        msg.set_content("仕事をなくして、もう死にたいです。今夜泊まるところがない。", charset="utf-8")
        await intake.handle(msg.as_bytes())
        (answer,) = await smtp_sink.wait_for(1)
        assert "0570-783-556" in answer.text and "いのちの電話" in answer.text
        assert sorted(*(await urgent_kinds(running.ctx))) == ["no_shelter", "suicide"]
