"""The email channel end to end against real servers: Dovecot (IMAP) on loopback holds the
centre's mailbox, an aiosmtpd sink stands in for the outbound relay, and the app runs on both
backends (SQLite, and PostgreSQL + Redis).

Done when: a resident's mail dropped into the mailbox gets the intake answer at the sink; their
reply completes a case that shows their original text; auto-replies and bounces get no answer;
restarting Dovecot mid-run loses and duplicates nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import smtplib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from email.utils import make_msgid
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from bots.email.channel import EXTRAS_KEY, start_email_channel, stop_email_channel
from bots.email.imap import DONE, IGNORED
from bots.email.lmtp import DirectDelivery
from bots.email.quotes import REPLY_MARKER
from casecore.models import AuditEvent, Case, ConsentRecord, Conversation, Message
from madoguchi.settings import Settings
from tests.conftest import Running, start_app
from tests.dovecot import Dovecot, dovecot_fixture, free_port  # noqa: F401  (fixture "dovecot")
from tests.handoff_helpers import counsellor_client
from tests.smtp_sink import Received, SmtpSink, smtp_sink_fixture  # noqa: F401  (fixture "smtp_sink")

pytestmark = pytest.mark.dovecot
FIXTURES = Path(__file__).parent / "fixtures" / "mail"
CENTRE = "soudan@example.lg.jp"
DOCOMO = "takahashi.h-0123@docomo.ne.jp"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@asynccontextmanager
async def email_app(settings: Settings, dovecot: Dovecot, sink: SmtpSink, **extra: object) -> AsyncIterator[Running]:
    settings = settings.model_copy(update={
        "imap_host": dovecot.host, "imap_port": dovecot.port, "imap_user": dovecot.user,
        "imap_password": SecretStr(dovecot.password), "imap_ssl": False, "imap_poll_seconds": 2.0,
        "smtp_host": sink.host, "smtp_port": sink.port, "smtp_starttls": False, "smtp_from": CENTRE,
        **extra,
    })
    async for running in start_app(settings):
        started_here = EXTRAS_KEY not in running.ctx.extras  # the app's lifespan may have done it
        if started_here:
            await start_email_channel(running.ctx)
        channel = running.ctx.extras[EXTRAS_KEY]
        channel.sender.smtp.backoff = 0.05
        try:
            yield running
        finally:
            if started_here:
                await stop_email_channel(running.ctx)


def reply_to(
    bot_mail: Received, sender: str, body: str, *, keep_headers: bool = True, to: str | None = None,
    subject: str | None = None,
) -> bytes:
    """What a mail client sends when the resident answers the bot: new text above the quote."""
    bot = bot_mail.message
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to or str(bot["Reply-To"])
    msg["Subject"] = subject or "Re: " + str(bot["Subject"]).removeprefix("Re: ")
    msg["Message-ID"] = make_msgid(domain=sender.partition("@")[2])
    if keep_headers:
        msg["In-Reply-To"] = str(bot["Message-ID"])
        msg["References"] = str(bot["Message-ID"])
    quoted = "\n".join("> " + line for line in bot_mail.text.splitlines())
    msg.set_content(f"{body}\n\n2026年11月22日(日) 9:00 {bot['From']}:\n{quoted}\n", charset="utf-8")
    return msg.as_bytes()


async def count(running: Running, stmt: object) -> int:
    async with running.ctx.sessions() as s:
        return int(await s.scalar(stmt))  # type: ignore[arg-type]


async def settle(sink: SmtpSink, expected: int, seconds: float = 3.0) -> None:
    """Give stray extra mails time to arrive, then insist on exactly `expected`."""
    await asyncio.sleep(seconds)
    assert len(sink.received) == expected, [r.message["Subject"] for r in sink.received]


async def test_first_mail_gets_the_intake_and_the_reply_completes_a_case(
    stack: Settings, dovecot: Dovecot, smtp_sink: SmtpSink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # what production logs (DEBUG of the DB drivers shows SQL)
    caplog.set_level(logging.DEBUG, logger="bots.email")
    async with email_app(stack, dovecot, smtp_sink) as running:
        dovecot.deliver(fixture("docomo_iso2022jp.eml"))
        (first,) = await smtp_sink.wait_for(1)
        msg = first.message
        assert first.rcpt_tos == [DOCOMO]
        assert msg["Auto-Submitted"] == "auto-replied"
        assert msg["In-Reply-To"] == "<2ef8c1a0b7.docomo.20261121234102@docomo.ne.jp>"
        token = str(msg["Reply-To"]).split("+", 1)[1].split("@", 1)[0]
        assert f"[#{token}]" in str(msg["Subject"]) and "家賃のこと" in str(msg["Subject"])
        assert token in str(msg["Message-ID"])
        body = first.text
        # service, purpose/consent wording, safety notice with emergency contacts, the questions
        for expected in ("港区生活・就労支援センター", "【相談窓口の利用について】", "同意します",
                         "0120-279-338", "Q1.", "Q13.", "Q11: ", REPLY_MARKER):
            assert expected in body, expected
        # nothing the resident wrote is echoed back
        assert "髙橋" not in body and "家賃が払えず" not in body
        assert "押して" not in body  # chat-button instructions do not belong in a mail

        reply = reply_to(first, DOCOMO, "同意します。\nQ2: 1\nQ5: 40代\nQ6: 麻布\nQ10: 髙橋\n\nドコモメールから送信")
        dovecot.deliver(reply)
        second = (await smtp_sink.wait_for(2))[1]
        assert second.rcpt_tos == [DOCOMO]
        assert "受付番号" in second.text, second.text
        assert second.message["In-Reply-To"] != first.message["In-Reply-To"]
        assert "髙橋" not in second.text  # the answer carries no personal detail back

        async with running.ctx.sessions() as s:
            case = (await s.scalars(select(Case))).one()
            assert case.channel == "email"
            assert "家賃が払えず" in (case.problem_text or "")  # the first mail, in their words
            assert {"housing", "job"} <= set(case.categories)
            assert case.age_band == "40s" and case.district == "麻布" and case.name == "髙橋"
            assert case.for_whom == "self" and case.contact_method == "this_channel"
            assert case.share_consent == "discuss"  # never assumed
            consents = (await s.scalars(select(ConsentRecord).where(ConsentRecord.kind == "use"))).all()
            assert [c.decision for c in consents] == ["granted"]
            originals = (await s.scalars(select(Message.text).where(
                Message.direction == "in", Message.channel_event_id.not_like("%#%")))).all()
            assert any("①家賃が払えず" in (t or "") for t in originals)  # the counsellor sees the original
        await settle(smtp_sink, 2)
        assert len(dovecot.search(f"KEYWORD {DONE}")) == 2
    # personal data never reaches the logs: not the address, not a word of the mail
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert any(r.name.startswith("bots.email") for r in caplog.records)
    for secret in ("takahashi", "docomo.ne.jp", "家賃", "髙橋", "派遣"):
        assert secret not in logged, secret


async def test_a_resident_writing_in_spanish_is_answered_and_consents_in_spanish(
    stack: Settings, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    sender = "maria.lopez@example.com"
    first_mail = EmailMessage()
    first_mail["From"], first_mail["To"] = sender, CENTRE
    first_mail["Subject"] = "Necesito ayuda con el alquiler"
    first_mail["Message-ID"] = make_msgid(domain="example.com")
    first_mail.set_content(
        "Hola. Perdí mi trabajo el mes pasado y no puedo pagar el alquiler. "
        "Vivo sola con mis dos hijos y no sé qué hacer.", charset="utf-8")
    async with email_app(stack, dovecot, smtp_sink) as running:
        dovecot.deliver(first_mail.as_bytes())
        (form,) = await smtp_sink.wait_for(1)
        assert form.message["Content-Language"] == "es"
        # the frame of the form is Spanish and asks for the Spanish labels, not "I agree"
        assert 'escriba "Estoy de acuerdo"' in form.text and "I agree" not in form.text, form.text
        assert "■ Preguntas" in form.text and "(su respuesta)" in form.text
        assert "este chat" not in form.text.split("Estoy de acuerdo", 1)[1]  # a mail, not a chat

        dovecot.deliver(reply_to(form, sender, "Estoy de acuerdo.\nQ2: 1\nQ5: 40"))
        answer = (await smtp_sink.wait_for(2))[1]
        assert "número de referencia" in answer.text, answer.text
        async with running.ctx.sessions() as s:
            case = (await s.scalars(select(Case))).one()
            assert "no puedo pagar el alquiler" in (case.problem_text or "")
            assert case.for_whom == "self" and case.age_band == "40s"
            consents = (await s.scalars(select(ConsentRecord).where(ConsentRecord.kind == "use"))).all()
            assert [(c.decision, c.language) for c in consents] == [("granted", "es")]
        await settle(smtp_sink, 2)


async def test_a_counsellor_answers_by_mail_in_the_residents_thread(
    stack: Settings, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    async with email_app(stack, dovecot, smtp_sink) as running:
        dovecot.deliver(fixture("docomo_iso2022jp.eml"))
        (form,) = await smtp_sink.wait_for(1)
        reply = reply_to(form, DOCOMO, "同意します。\nQ2: 1\nQ5: 40代")
        dovecot.deliver(reply)
        await smtp_sink.wait_for(2)
        async with running.ctx.sessions() as s:
            conv = (await s.scalars(select(Conversation).where(Conversation.channel == "email"))).one()
        assert conv.status == "waiting"

        async with counsellor_client(running, "sato") as sato:
            assert (await sato.post(f"/api/conversations/{conv.id}/claim")).status_code == 200
            r = await sato.post(f"/api/conversations/{conv.id}/messages", json={"text": "相談員の佐藤です。お電話できる時間を教えてください。"})
            assert r.status_code == 201 and r.json()["message"]["delivery_status"] == "sent", r.text
            mails = (await smtp_sink.wait_for(4))[2:]  # "a counsellor has joined", then the message
            assert all(m.rcpt_tos == [DOCOMO] for m in mails)
            last = mails[-1].message
            assert "お電話できる時間を教えてください" in mails[-1].text
            # threaded under the resident's last mail, and replies still find the conversation
            resident_id = str(BytesParser(policy=default).parsebytes(reply)["Message-ID"])
            assert last["In-Reply-To"] == resident_id and resident_id in str(last["References"])
            token = str(form.message["Reply-To"]).split("+", 1)[1].split("@", 1)[0]
            assert token in str(last["Reply-To"]) and f"[#{token}]" in str(last["Subject"])

            # the resident answers the counsellor: it reaches the console, and the bot stays silent
            dovecot.deliver(reply_to(mails[-1], DOCOMO, "平日の午後なら大丈夫です。"))
            for _ in range(50):
                t = (await sato.get(f"/api/conversations/{conv.id}")).json()
                if t["transcript"][-1]["sender"] == "resident":
                    break
                await asyncio.sleep(0.2)
            assert "平日の午後なら大丈夫です" in t["transcript"][-1]["text"]
        await settle(smtp_sink, 4)


async def test_auto_replies_bounces_and_lists_get_no_answer(
    stack: Settings, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    async with email_app(stack, dovecot, smtp_sink) as running:
        for name in ("out_of_office.eml", "bounce_dsn.eml", "mailing_list.eml"):
            dovecot.append(fixture(name))
        dovecot.append(fixture("html_only.eml"))  # a person, after them: proves they were read
        (answer,) = await smtp_sink.wait_for(1)
        assert answer.rcpt_tos == ["sato.mika@example.net"]
        await settle(smtp_sink, 1)
        assert len(dovecot.search(f"KEYWORD {IGNORED}")) == 3
        reasons = await count(running, select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "email_ignored"))
        assert reasons == 3
        conversations = await count(running, select(func.count()).select_from(Conversation))
        assert conversations == 1  # automatic mail never starts a conversation


async def test_dovecot_restart_mid_run_loses_and_duplicates_nothing(
    stack: Settings, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    senders = [f"resident{i}@example.jp" for i in range(6)]

    def mail(sender: str, n: int) -> bytes:
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = sender, CENTRE, f"相談 {n}"
        m["Message-ID"] = f"<restart-{n}@example.jp>"
        m.set_content(f"仕事がなくなって家賃が払えません。{n}", charset="utf-8")
        return m.as_bytes()

    async with email_app(stack, dovecot, smtp_sink) as running:
        for i in range(3):
            dovecot.append(mail(senders[i], i))
        await smtp_sink.wait_for(1)
        await asyncio.to_thread(dovecot.restart)  # the poller's connection drops mid-run
        for i in range(3, 6):
            dovecot.deliver(mail(senders[i], i))
        await smtp_sink.wait_for(6, timeout=40)
        await settle(smtp_sink, 6)
        assert sorted(r.rcpt_tos[0] for r in smtp_sink.received) == sorted(senders)
        assert len(dovecot.search(f"KEYWORD {DONE}")) == 6
        stored = await count(running, select(func.count()).select_from(Message).where(
            Message.direction == "in", Message.channel_event_id.like("restart-%")))
        assert stored == 6


async def test_a_reply_that_does_not_consent_is_answered_kindly_and_nothing_is_kept(
    stack: Settings, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    async with email_app(stack, dovecot, smtp_sink) as running:
        dovecot.deliver(fixture("outlook_shiftjis_reply.eml"))
        (first,) = await smtp_sink.wait_for(1)
        dovecot.deliver(reply_to(first, "yamada@example.co.jp", "同意しません。やはり電話にします。"))
        second = (await smtp_sink.wait_for(2))[1]
        assert "保存していません" in second.text  # declined.body
        async with running.ctx.sessions() as s:
            texts = (await s.scalars(select(Message.text))).all()
            assert all(t is None for t in texts), "no text is kept without consent"
            assert (await s.scalars(select(Case))).first() is None
            conv = (await s.scalars(select(Conversation))).one()
            assert conv.status == "closed" and conv.dialog_state is None
        await settle(smtp_sink, 2)


async def test_a_reply_from_another_address_lands_in_its_conversation(
    stack: Settings, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    async with email_app(stack, dovecot, smtp_sink) as running:
        dovecot.deliver(fixture("docomo_iso2022jp.eml"))
        (first,) = await smtp_sink.wait_for(1)
        # written from their PC, a client that keeps no thread headers: only the plus-address
        dovecot.deliver(reply_to(first, "takahashi.pc@example.net", "同意します。", keep_headers=False))
        second = (await smtp_sink.wait_for(2))[1]
        assert second.rcpt_tos == [DOCOMO], "answered at the conversation's address only"
        assert "受付番号" in second.text
        assert await count(running, select(func.count()).select_from(Conversation)) == 1
        # a forged token (a guessed conversation number) starts nothing in someone else's case
        forged = reply_to(first, "stranger@example.org", "同意します。", keep_headers=False,
                          to=f"soudan+1-aaaaaaaaaaaa@{CENTRE.split('@')[1]}", subject="Re: [#1-bbbbbbbbbbbb]")
        dovecot.deliver(forged)
        third = (await smtp_sink.wait_for(3))[2]
        assert third.rcpt_tos == ["stranger@example.org"]
        assert "受付番号" not in third.text
        await settle(smtp_sink, 3)


async def test_direct_delivery_over_smtp_is_answered(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    from tests.conftest import make_settings

    port = free_port()
    async with email_app(make_settings(tmp_path), dovecot, smtp_sink) as running:
        intake = running.ctx.extras[EXTRAS_KEY].intake
        direct = DirectDelivery(intake.handle, port=port, lmtp=False, accept_locals={"soudan"})
        await direct.start()
        try:
            def send() -> None:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                    client.sendmail("lan.tran@example.vn", [CENTRE], fixture("emoji_utf8.eml"))
                    try:
                        client.sendmail("x@example.vn", ["someone-else@example.lg.jp"], b"Subject: x\r\n\r\nx")
                    except smtplib.SMTPRecipientsRefused:
                        pass
                    else:
                        raise AssertionError("a mailbox that is not ours must be refused")

            await asyncio.to_thread(send)
            (answer,) = await smtp_sink.wait_for(1)
            assert answer.rcpt_tos == ["lan.tran@example.vn"]
            # Vietnamese was detected: the intake answers in Vietnamese (catalog), not Japanese
            assert "Q1." in answer.text
            assert answer.message["Content-Language"] == "vi"
        finally:
            await direct.stop()


async def test_attachments_are_kept_for_the_counsellor_and_the_resident_is_told(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    """Issue 16: the attachments are stored (sealed, for the counsellor); "IMG_0412.JPG" is not
    an image at all, so it is kept as an opaque file, never shown inline."""
    from casecore.media import OCTET, ChannelMedia
    from i18n.catalog import catalog
    from tests.conftest import make_settings

    async with email_app(make_settings(tmp_path), dovecot, smtp_sink) as running:
        dovecot.append(fixture("with_attachment.eml"))
        (answer,) = await smtp_sink.wait_for(1)
        assert catalog("ja", "media").text("received") in answer.text
        async with running.ctx.sessions() as s:
            rows = (await s.scalars(select(Message).where(Message.direction == "in").order_by(Message.id))).all()
            assert [r.kind for r in rows] == ["text", "media"]
            assert rows[1].media_type == "file" and rows[1].text is None
            assert "督促状の写真" in (rows[0].text or "")
            media = (await s.scalars(select(ChannelMedia).order_by(ChannelMedia.id))).all()
        assert [(m.status, m.kind, m.message_id) for m in media] == [("stored", "file", rows[1].id)] * 2
        assert media[0].filename == "IMG_0412.JPG" and media[0].content_type == OCTET


async def test_too_large_mail_gets_a_clear_answer(tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink) -> None:
    from tests.conftest import make_settings

    big = EmailMessage()
    big["From"], big["To"], big["Subject"] = "big@example.jp", CENTRE, "写真"
    big["Message-ID"] = "<big-1@example.jp>"
    big.set_content("写真を送ります")
    # 13 MB of attachment is ~18 MB of mail: past the 16 MB the channel reads
    big.add_attachment(b"\xff" * (13 * 1024 * 1024), maintype="image", subtype="jpeg", filename="a.jpg")
    async with email_app(make_settings(tmp_path), dovecot, smtp_sink):
        started = time.monotonic()
        dovecot.append(big.as_bytes())
        (answer,) = await smtp_sink.wait_for(1, timeout=30)
        assert "大きすぎる" in answer.text and "16.0MB" in answer.text
        assert time.monotonic() - started < 30


async def test_restart_between_answering_and_marking_sends_one_answer(
    stack: Settings, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    """The worst moment: the answer is out, then the server dies before the mail is marked.
    The mail is read again after reconnecting; every event dedupes and no second answer goes."""
    async with email_app(stack, dovecot, smtp_sink) as running:
        channel = running.ctx.extras[EXTRAS_KEY]
        calls: list[str] = []
        second_read = asyncio.Event()
        real = channel.intake.handle

        async def handle_then_crash(raw: bytes, size: int) -> str:
            outcome = await real(raw, size)
            calls.append(outcome)
            if len(calls) == 1:
                await asyncio.to_thread(dovecot.restart)
            else:
                second_read.set()
            return outcome

        channel.poller.handler = handle_then_crash
        dovecot.deliver(fixture("docomo_iso2022jp.eml"))
        await smtp_sink.wait_for(1)
        await asyncio.wait_for(second_read.wait(), 30)
        assert calls == ["answered", "duplicate"]
        await settle(smtp_sink, 1)
        assert len(dovecot.search(f"KEYWORD {DONE}")) == 1
        stored = await count(running, select(func.count()).select_from(Message).where(Message.direction == "in"))
        assert stored == 1


async def test_a_reply_days_later_resumes_and_completes(tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink) -> None:
    """Mail is slow: the dialog asks a returning resident whether to continue; the email
    intake answers "continue" for them and goes on with what their reply says."""
    from datetime import timedelta

    from casecore.types import utcnow
    from tests.conftest import make_settings

    async with email_app(make_settings(tmp_path), dovecot, smtp_sink) as running:
        dovecot.deliver(fixture("html_only.eml"))
        (first,) = await smtp_sink.wait_for(1)
        running.ctx.router.clock = lambda: utcnow() + timedelta(days=2)
        body = "同意します\nQ1: 3\nQ3: 1、7\nQ11: 2\nQ13: 1"
        dovecot.deliver(reply_to(first, "sato.mika@example.net", body))
        second = (await smtp_sink.wait_for(2))[1]
        assert "受付番号" in second.text
        assert "食料" in second.text or "食べる" in second.text  # the no-food notice is in the mail
        async with running.ctx.sessions() as s:
            case = (await s.scalars(select(Case))).one()
            assert case.urgent and "no_food" in case.urgency_reasons
            assert case.categories == ["money", "health"]  # the form answer wins over keywords
            assert case.contact_method == "phone" and case.contact_detail is None
            assert case.share_consent == "granted"
            assert "母が入院して" in (case.problem_text or "")


async def test_a_profile_with_its_own_mailbox(
    tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two municipalities served at once: each mailbox's mail becomes its profile's
    conversation and is answered from its own address."""
    import shutil
    import tempfile

    import yaml

    from dialogs.profile import PROFILE_DIR
    from tests.conftest import make_settings

    root = Path(tempfile.mkdtemp(prefix="madoguchi-dovecot-"))
    os.chmod(root, 0o755)
    other = Dovecot(root=root)
    await asyncio.to_thread(other.start)
    try:
        profile = yaml.safe_load((PROFILE_DIR / "minato-tokyo.yaml").read_text(encoding="utf-8"))
        profile["id"] = "test-ward"
        profile["centre_name"] = {"ja": "テスト区くらし相談センター", "en": "Test Ward Centre"}
        monkeypatch.setenv("TEST_WARD_IMAP_PASSWORD", other.password)
        profile["channels"] = {"email": {
            "imap_host": other.host, "imap_port": str(other.port), "imap_user": other.user,
            "imap_password_env": "TEST_WARD_IMAP_PASSWORD", "imap_ssl": "false", "imap_poll_seconds": "1",
            "smtp_host": smtp_sink.host, "smtp_port": str(smtp_sink.port), "smtp_starttls": "false",
            "smtp_from": "soudan@test-ward.example.lg.jp",
        }}
        profiles = tmp_path / "profiles"
        profiles.mkdir()
        (profiles / "test-ward.yaml").write_text(yaml.safe_dump(profile, allow_unicode=True), encoding="utf-8")
        async with email_app(make_settings(tmp_path, profiles_dir=profiles), dovecot, smtp_sink) as running:
            other.deliver(fixture("docomo_iso2022jp.eml"))
            (answer,) = await smtp_sink.wait_for(1)
            assert answer.mail_from == "soudan@test-ward.example.lg.jp"
            assert "テスト区くらし相談センター" in answer.text
            dovecot.deliver(fixture("eucjp.eml"))
            second = (await smtp_sink.wait_for(2))[1]
            assert second.mail_from == CENTRE and "港区生活・就労支援センター" in second.text
            async with running.ctx.sessions() as s:
                convs = {c.profile_id for c in (await s.scalars(select(Conversation))).all()}
            assert convs == {"test-ward", "minato-tokyo"}
            # a counsellor's message to the test-ward resident leaves through test-ward's relay
            from dialogs.types import OutboundMessage
            from handoff.delivery import DeliveryTarget

            sender = running.ctx.senders.get("email")
            assert sender is not None
            await sender.send(DeliveryTarget("test-ward", "email", DOCOMO, 1, "ja"), [OutboundMessage("相談員です。")])
            third = (await smtp_sink.wait_for(3))[2]
            assert third.mail_from == "soudan@test-ward.example.lg.jp" and "相談員です。" in third.text
    finally:
        other.stop()
        shutil.rmtree(root, ignore_errors=True)


async def test_two_pollers_on_one_mailbox_answer_each_mail_once(
    stack: Settings, dovecot: Dovecot, smtp_sink: SmtpSink
) -> None:
    """As with several app processes: every poller sees every mail; one answer each."""
    from bots.email.imap import ImapConfig, ImapPoller

    async with email_app(stack, dovecot, smtp_sink) as running:
        channel = running.ctx.extras[EXTRAS_KEY]
        assert channel.poller is not None
        twin = ImapPoller(ImapConfig(host=dovecot.host, port=dovecot.port, username=dovecot.user,
                                     password=dovecot.password, ssl=False, poll_seconds=1.0), channel.intake.handle)
        task = asyncio.create_task(twin.run())
        try:
            await asyncio.wait_for(twin.connected.wait(), 10)
            dovecot.deliver(fixture("docomo_iso2022jp.eml"))
            (first,) = await smtp_sink.wait_for(1)
            await settle(smtp_sink, 1, seconds=2)
            dovecot.deliver(reply_to(first, DOCOMO, "同意します。"))
            await smtp_sink.wait_for(2)
            await settle(smtp_sink, 2)
            assert await count(running, select(func.count()).select_from(Case)) == 1
        finally:
            twin.stop()
            await asyncio.wait_for(task, 15)
