"""Mail loops and huge mail end to end, against a real Dovecot and an SMTP sink: an
auto-responder that sets no header gets a bounded number of mails, and a 5 MB mail is handled
while /healthz keeps answering within 100 ms."""

from __future__ import annotations

import asyncio
import statistics
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from casecore.models import AuditEvent, Message
from tests.conftest import make_settings
from tests.dovecot import Dovecot, dovecot_fixture  # noqa: F401  (fixture "dovecot")
from tests.smtp_sink import SmtpSink, smtp_sink_fixture  # noqa: F401  (fixture "smtp_sink")
from tests.test_email_channel import CENTRE, count, email_app, settle

pytestmark = pytest.mark.dovecot


def resident_mail(sender: str, n: int, text: str, subject: str = "相談") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, CENTRE, subject
    msg["Message-ID"] = f"<loop-{n}-{time.monotonic_ns()}@example.co.jp>"
    msg.set_content(text, charset="utf-8")
    return msg.as_bytes()


async def wait_outcomes(running: object, action: str, n: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    stmt = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    while await count(running, stmt) < n:  # type: ignore[arg-type]
        assert time.monotonic() < deadline, action
        await asyncio.sleep(0.1)


async def test_auto_responders_and_unconsenting_residents_get_few_mails(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    """A ticket system answering every bot mail with the same text (a new number each time)
    gets two answers, then its mails are kept for the counsellor and answered no more; a
    resident writing five different mails without consenting gets three intake mails."""
    responder = "support@vendor.example.co.jp"
    texts = [
        "家賃のことで相談したいです。", "先ほどのメールの続きです。仕事が見つかりません。",
        "同意の意味がよくわかりません。", "電話で話せますか？", "子どもが2人います。食費が足りません。",
    ]
    async with email_app(make_settings(tmp_path), dovecot, smtp_sink) as running:
        for n in range(6):
            dovecot.append(resident_mail(
                responder, n, f"お問い合わせありがとうございます。受付番号 {40210 + n} で承りました。"
                "担当者より折り返しご連絡いたします。", subject=f"Re: 相談 [#{40210 + n}]",
            ))
        await wait_outcomes(running, "email_not_answered", 4)
        await settle(smtp_sink, 2, seconds=0.5)
        assert {r.rcpt_tos[0] for r in smtp_sink.received} == {responder}
        kept = await count(running, select(func.count()).select_from(Message).where(
            Message.direction == "in", Message.channel == "email", Message.sender == "resident",
        ))
        assert kept >= 6  # every mail is in the transcript

        for n, text in enumerate(texts):
            dovecot.append(resident_mail("kato.yumi@example.ne.jp", n, text))
            if n < 3:
                await smtp_sink.wait_for(2 + n + 1, timeout=20)
        await wait_outcomes(running, "email_form_capped", 2)
        await settle(smtp_sink, 5, seconds=0.5)


async def test_a_5mb_mail_is_handled_while_healthz_stays_fast(tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink) -> None:
    big = EmailMessage()
    big["From"], big["To"], big["Subject"] = "nguyen.lan@example.vn", CENTRE, "Tôi cần giúp đỡ 🙏"
    big["Message-ID"] = "<five-mb-1@example.vn>"
    # photos of a dunning letter and a rent notice, and a few lines (the 200,000-character
    # line that froze the app is timed in test_mail_defences: the parse runs in a thread)
    big.set_content(
        "Xin chào. Tôi không trả được tiền nhà ba tháng rồi. Chủ nhà gửi thư này.\n"
        "家賃を3か月払えていません。大家さんから手紙が来ました。写真を送ります。\n" * 8, charset="utf-8",
    )
    for n in range(2):
        big.add_attachment(b"\xff\xd8\xff" + bytes(range(256)) * 7_250, maintype="image", subtype="jpeg",
                           filename=f"letter-{n}.jpg")
    raw = big.as_bytes()
    assert 4_900_000 < len(raw) < 5 * 1024 * 1024
    async with email_app(make_settings(tmp_path), dovecot, smtp_sink) as running:
        for _ in range(5):  # the first /healthz after start waits for the app's warm-up
            await running.client.get("/healthz")
        worst, times = 0.0, []
        appending = asyncio.create_task(asyncio.to_thread(dovecot.append, raw))  # the MTA, not the app
        deadline = time.monotonic() + 60
        while not smtp_sink.received:
            assert time.monotonic() < deadline
            started = time.perf_counter()
            response = await running.client.get("/healthz")
            worst = max(worst, time.perf_counter() - started)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200
            await asyncio.sleep(0.01)
        await appending
        assert smtp_sink.received[0].rcpt_tos == ["nguyen.lan@example.vn"]
        slow = [t for t in times if t >= 0.1]
        print(f"\n5 MB mail: /healthz p50 {statistics.median(times) * 1000:.1f} ms, worst {worst * 1000:.1f} ms, "
              f"{len(slow)} of {len(times)} polls ≥ 100 ms")
        # Under 100 ms; a shared test machine's scheduler alone stalls a poll now and then
        # (bench/email_channel.py measures the idle floor beside it), and the regression this
        # guards against froze the app for seconds.
        assert len(slow) <= max(2, len(times) * 3 // 100) and worst < 1.0
