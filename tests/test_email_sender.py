"""Outbound mail through a real SMTP server (aiosmtpd sink): rendering, headers, retries."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots.email.quotes import REPLY_MARKER
from bots.email.sender import EmailSender, SmtpConfig, render_body
from bots.email.threading import ThreadKeys
from dialogs.types import Choice, OutboundMessage
from handoff.delivery import DeliveryError, DeliveryTarget
from tests.smtp_sink import SmtpSink, smtp_sink_fixture  # noqa: F401  (fixture "smtp_sink")
from tests.tls import self_signed

KEYS = ThreadKeys.from_secret("k")
CENTRE = "soudan@example.lg.jp"


def sender_for(sink: SmtpSink, attempts: int = 3) -> EmailSender:
    return EmailSender(
        smtp=SmtpConfig(host=sink.host, port=sink.port, starttls=False, attempts=attempts, backoff=0.01, timeout=5),
        from_addr=CENTRE, keys=KEYS, from_name="港区生活・就労支援センター",
    )


def target(**ctx: str) -> DeliveryTarget:
    return DeliveryTarget(profile_id="minato-tokyo", channel="email", external_user_id="resident@example.jp",
                          conversation_id=12, language="ja", reply_context=dict(ctx))


async def test_sends_one_utf8_mail_with_thread_and_loop_headers(smtp_sink: SmtpSink) -> None:
    sender = sender_for(smtp_sink)
    messages = [
        OutboundMessage("利用に同意しますか。", choices=(Choice("agree", "同意する"), Choice("decline", "同意しない"))),
        OutboundMessage("110番に電話してください。", kind="emergency"),
    ]
    await sender.send(target(message_id="orig@example.jp", subject="家賃 😢", references="<a@example.jp>"), messages)
    (got,) = await smtp_sink.wait_for(1)
    msg = got.message
    token = KEYS.token(12)
    assert got.rcpt_tos == ["resident@example.jp"] and got.mail_from == CENTRE
    assert msg["Auto-Submitted"] == "auto-replied" and msg["X-Auto-Response-Suppress"] == "All"
    assert msg["In-Reply-To"] == "<orig@example.jp>"
    assert str(msg["References"]).split() == ["<a@example.jp>", "<orig@example.jp>"]
    assert str(msg["Reply-To"]) == f"soudan+{token}@example.lg.jp"
    assert str(msg["Subject"]) == f"Re: 家賃 😢 [#{token}]"
    assert msg.get_content_charset() == "utf-8" and msg["Content-Language"] == "ja"
    text = got.text
    # safety first, then the question with a numbered list answerable by number or word
    assert text.index("110番") < text.index("利用に同意しますか。")
    assert "  1. 同意する\n  2. 同意しない" in text and "番号か言葉で" in text
    assert text.rstrip().endswith(REPLY_MARKER)


async def test_transient_failures_are_retried(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next = 2
    await sender_for(smtp_sink, attempts=3).send(target(), [OutboundMessage("こんにちは")])
    assert len(await smtp_sink.wait_for(1)) == 1 and smtp_sink.attempts == 3


async def test_permanent_refusal_is_not_retried(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next, smtp_sink.fail_code = 5, "550 5.1.1 No such user"
    with pytest.raises(DeliveryError, match="550"):
        await sender_for(smtp_sink, attempts=3).send(target(), [OutboundMessage("x")])
    assert smtp_sink.attempts == 1 and not smtp_sink.received


async def test_giving_up_raises_delivery_error() -> None:
    sender = EmailSender(smtp=SmtpConfig(host="127.0.0.1", port=1, starttls=False, attempts=2, backoff=0.01, timeout=2),
                         from_addr=CENTRE, keys=KEYS)
    with pytest.raises(DeliveryError, match="after 2 attempts"):
        await sender.send(target(), [OutboundMessage("x")])


async def test_collected_batches_are_held_back(smtp_sink: SmtpSink) -> None:
    sender = sender_for(smtp_sink)
    sender.collect("b1")
    await sender.send(target(batch="b1"), [OutboundMessage("one")])
    await sender.send(target(batch="b1"), [OutboundMessage("two")])
    assert [m.text for m in sender.collected("b1")] == ["one", "two"]
    assert not smtp_sink.received
    await sender.send(target(batch="b1"), [OutboundMessage("after")])  # batch closed: sent
    assert len(await smtp_sink.wait_for(1)) == 1


def test_render_body_marks_machine_translation_and_multi() -> None:
    body = render_body([
        OutboundMessage("Pick all", choices=(Choice("a", "A"), Choice("b", "B")), multi=True, machine_translated=True)
    ], "en")
    assert "  1. A\n  2. B" in body and "every one that applies" in body
    from i18n.catalog import catalog

    assert f"({catalog('en').text('machine_translated')})" in body


async def test_starttls_and_auth_where_configured(tmp_path: Path) -> None:
    cert = self_signed(tmp_path)
    ca_file = str(cert.cert_path)
    sink = SmtpSink(tls_context=cert.server_context(), credentials=("centre", "relay password"))
    await sink.start()
    try:
        def sender(password: str, **smtp: object) -> EmailSender:
            config = SmtpConfig(host=sink.host, port=sink.port, username="centre", password=password,
                                starttls=True, attempts=1, timeout=5, cert_bundle=ca_file)
            for k, v in smtp.items():
                setattr(config, k, v)
            return EmailSender(smtp=config, from_addr=CENTRE, keys=KEYS)

        await sender("relay password").send(target(), [OutboundMessage("暗号化して送ります")])
        (got,) = await sink.wait_for(1)
        assert sink.logins == ["centre"] and "暗号化して送ります" in got.text
        with pytest.raises(DeliveryError):
            await sender("wrong").send(target(), [OutboundMessage("x")])
        with pytest.raises(DeliveryError):  # the relay's certificate is checked
            await sender("relay password", cert_bundle=None).send(target(), [OutboundMessage("x")])
        assert len(sink.received) == 1
    finally:
        await sink.stop()
