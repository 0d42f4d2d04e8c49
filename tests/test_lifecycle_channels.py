"""Withdrawal in every channel (issue 12): LINE (typed Japanese), Telegram (/withdraw, in
Vietnamese) and email (a reply with the word the mail names) each get a `withdrawn` ledger
row with their channel, the conversation ends, and the retention job then erases the
resident with their data key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bots.line import line_router
from bots.telegram import telegram_router
from casecore.models import ConsentRecord, ContactPoint, Conversation
from handoff.actions import retention
from madoguchi.context import AppContext
from tests.conftest import make_settings
from tests.dovecot import Dovecot, dovecot_fixture  # noqa: F401  (fixture "dovecot")
from tests.smtp_sink import SmtpSink, smtp_sink_fixture  # noqa: F401  (fixture "smtp_sink")
from tests.standins.line_fixtures import ACCESS_TOKEN, CHANNEL_SECRET, line_api, line_server  # noqa: F401
from tests.standins.stack import running_channels, with_channels
from tests.standins.telegram_fixtures import (  # noqa: F401
    BOT_TOKEN,
    WEBHOOK_SECRET,
    callback_update,
    message_update,
    telegram_api,
    telegram_server,
)
from tests.test_email_channel import DOCOMO, email_app, reply_to
from tests.test_line_webhook import Line
from tests.test_telegram import USER as TG_USER
from tests.test_telegram import Tg


async def withdrawn_and_erased(ctx: AppContext, channel: str) -> None:
    """The ledger says withdrawn in this channel, the conversation ended; retention erases."""
    async with ctx.sessions() as s:
        rows = (await s.execute(select(ConsentRecord.kind, ConsentRecord.decision, ConsentRecord.channel)
                                .order_by(ConsentRecord.id))).all()
        assert rows[-1] == ("use", "withdrawn", channel), rows
        assert (await s.scalars(select(Conversation.status))).all() == ["closed"]
        kid = await s.scalar(select(ContactPoint.data_key_id))
    done = await retention.run(ctx, ctx.profiles.all(), default_unconsented_days=30)
    assert done["minato-tokyo"]["withdrawn_residents"] == 1
    async with ctx.sessions() as s:
        assert (await s.scalars(select(ContactPoint))).all() == []
    from casecore import keys

    assert kid not in keys.ring().kids()


@pytest.fixture
async def line(line_api, tmp_path: Path) -> AsyncIterator[Line]:  # noqa: F811
    settings = with_channels(make_settings(tmp_path), line_channel_secret=CHANNEL_SECRET,
                             line_channel_access_token=ACCESS_TOKEN, line_api_base_url=line_api.base_url)
    async with running_channels(settings, "/webhooks/line", line_router) as running:
        yield Line(running.ctx, running.client, line_api)


@pytest.fixture
async def tg(telegram_api, tmp_path: Path) -> AsyncIterator[Tg]:  # noqa: F811
    settings = with_channels(make_settings(tmp_path), telegram_bot_token=BOT_TOKEN,
                             telegram_webhook_secret=WEBHOOK_SECRET, telegram_api_base_url=telegram_api.base_url)
    async with running_channels(settings, "/webhooks/telegram", telegram_router) as running:
        running.ctx.extras["telegram"].sender.base_delay = 0.01
        yield Tg(running.ctx, running.client, telegram_api)


async def test_line_typed_withdrawal(line: Line) -> None:
    await line.say("こんにちは")
    if "ja" in line.offered():
        await line.tap("ja")
    await line.tap("agree")
    await line.say("同意を取り消したいです")
    assert line.offered() == ["withdraw_use", "withdraw_cancel"]
    await line.tap("withdraw_use")
    assert "同意の取り消しを受け付けました" in line.last()["text"]
    await withdrawn_and_erased(line.ctx, "line")


async def test_telegram_command_withdrawal_in_vietnamese(tg: Tg) -> None:
    await tg.send(message_update(TG_USER, "Xin chào", language="vi"))
    if "vi" in tg.offered():
        await tg.send(callback_update(tg.api, TG_USER, "c:vi", language="vi"))
    await tg.send(callback_update(tg.api, TG_USER, "c:agree", language="vi"))
    await tg.send(message_update(TG_USER, "/withdraw", language="vi"))
    assert tg.offered() == ["withdraw_use", "withdraw_cancel"]
    await tg.send(callback_update(tg.api, TG_USER, "c:withdraw_use", language="vi"))
    assert "Sự đồng ý của bạn đã được rút lại" in tg.last()["text"]
    await withdrawn_and_erased(tg.ctx, "telegram")


@pytest.mark.dovecot
async def test_email_reply_withdraws(tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink) -> None:
    from email.message import EmailMessage

    async with email_app(make_settings(tmp_path), dovecot, smtp_sink) as running:
        first = EmailMessage()
        first["From"], first["To"], first["Subject"] = DOCOMO, "soudan@example.lg.jp", "家賃の相談"
        first["Message-ID"] = "<life-1@docomo.ne.jp>"
        first.set_content("家賃が払えません。相談したいです。", charset="utf-8")
        dovecot.deliver(first.as_bytes())
        (form,) = await smtp_sink.wait_for(1)
        assert "同意を取り消すには、本文に「同意を取り消す」とだけ書いて返信してください。" in form.text
        dovecot.deliver(reply_to(form, DOCOMO, "同意します。\nQ2: 1\nQ5: 40代\nQ6: 麻布\nQ10: 高橋"))
        handed = (await smtp_sink.wait_for(2))[1]
        assert "受付番号" in handed.text
        dovecot.deliver(reply_to(handed, DOCOMO, "同意を取り消す"))
        asked = (await smtp_sink.wait_for(3))[2]
        assert "どちらを取り消しますか" in asked.text and "1. 相談への利用をやめて消去する" in asked.text
        dovecot.deliver(reply_to(asked, DOCOMO, "1"))
        done = (await smtp_sink.wait_for(4))[3]
        assert "同意の取り消しを受け付けました" in done.text
        await withdrawn_and_erased(running.ctx, "email")
