"""The post-session survey in every channel (issue 15): sent when a counsellor closes,
answered one question at a time on web chat, LINE and Telegram (buttons or typed answers),
on a one-use form by mail; stored anonymously (no conversation or contact in the row, no
answer in the transcript); anything that is not an answer leaves the survey, and a crisis
written into it is never taken as an answer."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bots.line import LineAdapter, line_router
from bots.telegram import telegram_router
from casecore.db import transaction
from casecore.models import AuditEvent, ContactPoint, Conversation, Message
from casecore.reporting.models import SurveyAnswer
from dialogs.survey import NO_COMMENT, SKIP, START, survey_step
from handoff import survey_links
from i18n.catalog import catalog
from tests.conftest import Running, make_settings
from tests.dovecot import Dovecot, dovecot_fixture  # noqa: F401  (fixture "dovecot")
from tests.handoff_helpers import counsellor_client, resident_headers, waiting_in_english
from tests.helpers import new_session, send
from tests.smtp_sink import SmtpSink, smtp_sink_fixture  # noqa: F401  (fixture "smtp_sink")
from tests.standins import line_webhook as wh
from tests.standins.line_fixtures import ACCESS_TOKEN, CHANNEL_SECRET, line_api, line_server  # noqa: F401
from tests.standins.stack import running_channels, settle, with_channels
from tests.standins.telegram_fixtures import (  # noqa: F401
    BOT_TOKEN,
    WEBHOOK_SECRET,
    callback_update,
    message_update,
    telegram_api,
    telegram_server,
)
from tests.test_email_channel import DOCOMO, email_app, fixture, reply_to

# ── the pure step ──────────────────────────────────────────────────────────────────────


def test_a_whole_survey_by_buttons_and_typed_answers() -> None:
    p = survey_step({"step": "invited"}, "ja", choice=START)
    assert p.progress == {"step": "helped", "answers": {}} and p.messages[0].text == "相談して、役に立ちましたか。"
    assert [c.id for c in p.messages[0].choices] == ["yes", "partly", "no"]
    p = survey_step(p.progress, "ja", text=" はい ")  # typed instead of pressed
    p = survey_step(p.progress, "ja", text="2")  # the button's number
    p = survey_step(p.progress, "ja", choice="no")
    assert p.progress["step"] == "comment" and [c.id for c in p.messages[0].choices] == [NO_COMMENT]
    done = survey_step(p.progress, "ja", text="夜でも返事があって助かりました🙏 <b>ありがとう</b>")
    assert done.progress is None and done.answers == {"helped": "yes", "easy": "partly", "again": "no"}
    assert done.comment == "夜でも返事があって助かりました🙏 <b>ありがとう</b>"
    assert "ありがとうございました" in done.messages[0].text


def test_declining_no_comment_and_leaving_the_survey() -> None:
    skipped = survey_step({"step": "invited"}, "en", choice=SKIP)
    assert skipped.progress is None and skipped.answers is None and not skipped.abandoned
    assert survey_step({"step": "invited"}, "vi", text="Tôi lại mất việc rồi").abandoned  # a new problem
    assert survey_step({"step": "easy", "answers": {"helped": "yes"}}, "en", text="not sure really").abandoned
    none = survey_step({"step": "comment", "answers": {"helped": "no"}}, "en", choice=NO_COMMENT)
    assert none.answers == {"helped": "no", "easy": None, "again": None} and none.comment is None
    # the long comment is kept to the cap, never more
    long = survey_step({"step": "comment", "answers": {}}, "en", text="x" * 5000, max_comment=100)
    assert long.comment == "x" * 100


def test_survey_links_are_signed_and_expire() -> None:
    token = survey_links.issue("secret-a", 42, days=7, now=1_000_000)
    assert survey_links.verify("secret-a", token, now=1_000_000 + 86400) == 42
    for bad, now in ((token, 1_000_000 + 8 * 86400), (token.replace("42.", "43.", 1), 1_000_000),
                     ("42.x.y", 1_000_000), ("garbage", 1_000_000)):
        with pytest.raises(survey_links.LinkError):
            survey_links.verify("secret-a", bad, now=now)
    with pytest.raises(survey_links.LinkError):
        survey_links.verify("secret-b", token, now=1_000_000)


# ── web chat ───────────────────────────────────────────────────────────────────────────


async def _close(running: Running, conversation_id: int, login: str = "tanaka") -> None:
    async with counsellor_client(running, login) as c:
        assert (await c.post(f"/api/conversations/{conversation_id}/claim")).status_code == 200
        r = await c.post(f"/api/conversations/{conversation_id}/close")
        assert r.status_code == 200, r.text


async def _answers(running: Running) -> list[SurveyAnswer]:
    async with transaction(running.ctx.sessions) as s:
        return list((await s.scalars(select(SurveyAnswer).order_by(SurveyAnswer.id))).all())


async def test_webchat_resident_answers_in_the_chat_after_it_closed(running: Running) -> None:
    client = running.client
    session = await waiting_in_english(client)
    sid = session["session_id"]
    await _close(running, sid)
    async with transaction(running.ctx.sessions) as s:
        invite = await s.scalar(select(Message).where(Message.conversation_id == sid, Message.kind == "survey"))
        assert invite is not None and [c["id"] for c in invite.choices] == ["survey_answer", "survey_skip"]
        assert "anonymous" in invite.text

    r = await send(client, session, "choice", "survey_answer")
    assert r["conversation_status"] == "closed" and r["state"] == "survey_helped"
    assert r["messages"][0]["text"] == "Did talking with us help you?"
    await send(client, session, "choice", "yes")
    await send(client, session, "text", "A little")  # the button's label, typed
    r = await send(client, session, "choice", "no")
    assert r["state"] == "survey_comment"
    r = await send(client, session, "text", "The counsellor was kind. <script>alert(1)</script> 😊")
    assert r["state"] == "survey_done" and r["messages"][0]["text"].startswith("Thank you")

    (answer,) = await _answers(running)
    assert (answer.helped, answer.easy, answer.again) == ("yes", "partly", "no")
    assert answer.comment == "The counsellor was kind. <script>alert(1)</script> 😊"
    assert answer.channel == "webchat" and answer.language == "en" and not hasattr(answer, "conversation_id")
    async with transaction(running.ctx.sessions) as s:
        # no answer in the transcript, nothing left on the contact, one audit row
        ins = (await s.scalars(select(Message).where(Message.conversation_id == sid, Message.direction == "in"))).all()
        assert not any(m.text and "counsellor was kind" in m.text for m in ins)
        assert not any(m.choice_id in ("survey_answer", "yes", "no") for m in ins)
        contact = await s.scalar(select(ContactPoint).join(Conversation).where(Conversation.id == sid))
        assert contact is not None and contact.survey_state is None
        marks = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "survey_answered"))).all()
        assert [m.target_id for m in marks] == [str(sid)]
    # it is over: nothing more is taken, and the web chat's form endpoint agrees
    again = await client.post(f"/api/webchat/sessions/{sid}/messages", json={"choice": "yes"},
                              headers=resident_headers(session))
    assert again.status_code == 409
    form = await client.get(f"/api/webchat/sessions/{sid}/survey", headers=resident_headers(session))
    assert form.json()["answered"] is True


async def test_webchat_survey_left_by_a_new_problem_or_a_crisis(running: Running) -> None:
    client = running.client
    session = await new_session(client, "ja")
    assert (await send(client, session, "choice", "human"))["conversation_status"] == "waiting"
    sid = session["session_id"]
    await _close(running, sid)
    await send(client, session, "choice", "survey_answer")
    # a new problem is not an answer: refused as closed (the page gives the text back)
    r = await client.post(f"/api/webchat/sessions/{sid}/messages", json={"text": "家賃が払えなくなりました"},
                          headers=resident_headers(session))
    assert r.status_code == 409
    assert await _answers(running) == []

    other = await new_session(client, "ja")
    assert (await send(client, other, "choice", "human"))["conversation_status"] == "waiting"
    await _close(running, other["session_id"], "suzuki")
    await send(client, other, "choice", "survey_answer")
    # a crisis at a survey question is the crisis path: a new urgent conversation, lines given
    r = await send(client, other, "text", "もう死にたい")
    assert r["session_id"] != other["session_id"] and r["conversation_status"] == "waiting"
    assert "いのちの電話" in " ".join(m["text"] for m in r["messages"])
    async with transaction(running.ctx.sessions) as s:
        new = await s.get(Conversation, r["session_id"])
        assert new is not None and new.urgent
        contact = await s.get(ContactPoint, new.contact_point_id)
        assert contact is not None and contact.survey_state is None
    assert await _answers(running) == []


async def test_a_profile_can_turn_the_survey_off(running_sqlite: Running) -> None:
    running = running_sqlite
    profile = running.ctx.profiles.default
    profile.survey.enabled = False
    try:
        session = await waiting_in_english(running.client)
        await _close(running, session["session_id"])
        async with transaction(running.ctx.sessions) as s:
            assert await s.scalar(select(Message.id).where(Message.kind == "survey")) is None
    finally:
        profile.survey.enabled = True


# ── LINE ───────────────────────────────────────────────────────────────────────────────
USER = "U" + "5" * 32


@pytest.fixture
async def line_app(line_api, stack) -> AsyncIterator[tuple[Running, Any]]:  # noqa: F811
    settings = with_channels(stack, line_channel_secret=CHANNEL_SECRET, line_channel_access_token=ACCESS_TOKEN,
                             line_api_base_url=line_api.base_url)
    async with running_channels(settings, "/webhooks/line", line_router) as running:
        yield running, line_api


async def _line(running: Running, event: dict[str, Any]) -> None:
    raw = wh.body(event)
    r = await running.client.post("/webhooks/line", content=raw, headers={
        "Content-Type": "application/json", "X-Line-Signature": wh.sign(CHANNEL_SECRET, raw)})
    assert r.status_code == 200, r.text
    adapter: LineAdapter = running.ctx.extras["line"]
    await settle(running.ctx, adapter)


def _last_text(api: Any) -> dict[str, Any]:
    return api.messages_to(USER)[-1]


async def test_line_resident_answers_with_quick_replies(line_app: tuple[Running, Any]) -> None:
    running, api = line_app
    api.add_profile(USER, language="ko")
    token = lambda: api.issue_reply_token(USER, access_token=ACCESS_TOKEN)  # noqa: E731
    await _line(running, wh.follow_event(USER, token()))
    await _line(running, wh.postback_event(USER, "c:human", token()))
    async with transaction(running.ctx.sessions) as s:
        conv = await s.scalar(select(Conversation).where(Conversation.channel == "line"))
        assert conv is not None and conv.status == "waiting" and conv.language == "ko"
    await _close(running, conv.id)

    invite = _last_text(api)  # a push, checked against LINE's spec by the stand-in
    assert "설문" in invite["text"]
    labels = [i["action"]["label"] for i in invite["quickReply"]["items"]]
    assert len(labels) == 2
    await _line(running, wh.postback_event(USER, "c:survey_answer", token()))
    assert _last_text(api)["text"] == catalog("ko", "survey").text("helped")
    event_id = wh.ulid_like()
    first = wh.postback_event(USER, "c:yes", token(), event_id=event_id)
    await _line(running, first)
    replies = len(api.messages_to(USER))
    # LINE redelivers the same event: it is not taken twice
    again = wh.postback_event(USER, "c:partly", token(), event_id=event_id)
    await _line(running, again)
    assert len(api.messages_to(USER)) == replies
    await _line(running, wh.text_event(USER, "1", token()))  # the first button, typed
    await _line(running, wh.postback_event(USER, "c:partly", token()))
    await _line(running, wh.postback_event(USER, f"c:{NO_COMMENT}", token()))
    (answer,) = await _answers(running)
    assert (answer.channel, answer.language, answer.helped, answer.easy, answer.again, answer.comment) == \
        ("line", "ko", "yes", "yes", "partly", None)

    # afterwards the resident's next message is a new consultation, not a survey answer
    await _line(running, wh.text_event(USER, "다시 상담하고 싶어요", token()))
    async with transaction(running.ctx.sessions) as s:
        convs = (await s.scalars(select(Conversation).where(Conversation.channel == "line").order_by(Conversation.id))).all()
        assert len(convs) == 2 and convs[0].status == "closed" and convs[1].status != "closed"
        survey_rows = (await s.scalars(select(Message).where(Message.conversation_id == conv.id,
                                                             Message.direction == "in"))).all()
        assert all(m.choice_id not in ("yes", "partly", NO_COMMENT) for m in survey_rows)


# ── Telegram ───────────────────────────────────────────────────────────────────────────
TG_USER = 515151


@pytest.fixture
async def tg_app(telegram_api, stack) -> AsyncIterator[tuple[Running, Any]]:  # noqa: F811
    settings = with_channels(stack, telegram_bot_token=BOT_TOKEN, telegram_webhook_secret=WEBHOOK_SECRET,
                             telegram_api_base_url=telegram_api.base_url)
    async with running_channels(settings, "/webhooks/telegram", telegram_router) as running:
        yield running, telegram_api


async def _tg(running: Running, update: dict[str, Any]) -> None:
    r = await running.client.post("/webhooks/telegram", json=update,
                                  headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
    assert r.status_code == 200, r.text
    for _ in range(3):
        await running.ctx.extras["telegram"].drain()
        await settle(running.ctx)


async def test_telegram_resident_answers_with_inline_buttons(tg_app: tuple[Running, Any]) -> None:
    running, api = tg_app
    await _tg(running, message_update(TG_USER, "/start", language="pt-br"))
    await _tg(running, callback_update(api, TG_USER, "c:human", language="pt-br"))
    async with transaction(running.ctx.sessions) as s:
        conv = await s.scalar(select(Conversation).where(Conversation.channel == "telegram"))
        assert conv is not None and conv.status == "waiting" and conv.language == "pt-BR"
    await _close(running, conv.id)
    invite = api.sent_to(TG_USER)[-1]
    buttons = [b["callback_data"] for row in invite["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == ["c:survey_answer", "c:survey_skip"] and "anônim" in invite["text"]
    await _tg(running, callback_update(api, TG_USER, "c:survey_answer", language="pt-br"))
    await _tg(running, callback_update(api, TG_USER, "c:no", language="pt-br"))
    await _tg(running, message_update(TG_USER, "Sim", language="pt-br"))  # typed label
    await _tg(running, callback_update(api, TG_USER, "c:yes", language="pt-br"))
    await _tg(running, message_update(TG_USER, "Obrigada pela paciência, me ajudou muito.", language="pt-br"))
    assert api.sent_to(TG_USER)[-1]["text"] == catalog("pt-BR", "survey").text("thanks")
    assert api.unanswered_callbacks() == []  # every button press was answered (the spinner stops)
    (answer,) = await _answers(running)
    assert (answer.channel, answer.helped, answer.easy, answer.again) == ("telegram", "no", "yes", "yes")
    assert answer.comment == "Obrigada pela paciência, me ajudou muito."


# ── email: a one-use form ──────────────────────────────────────────────────────────────


async def test_email_resident_gets_a_one_use_form(tmp_path: Any, dovecot: Dovecot, smtp_sink: SmtpSink) -> None:
    async with email_app(make_settings(tmp_path), dovecot, smtp_sink) as running:
        dovecot.deliver(fixture("docomo_iso2022jp.eml"))
        (form,) = await smtp_sink.wait_for(1)
        dovecot.deliver(reply_to(form, DOCOMO, "同意します。\nQ2: 1\nQ5: 40代"))
        await smtp_sink.wait_for(2)
        async with transaction(running.ctx.sessions) as s:
            conv = (await s.scalars(select(Conversation).where(Conversation.channel == "email"))).one()
        await _close(running, conv.id)
        mails = await smtp_sink.wait_for(5)  # joined, closing words, the survey
        (invite,) = [m for m in mails if "/survey/" in m.text]
        assert invite.rcpt_tos == [DOCOMO] and "匿名" in invite.text
        url = re.search(r"https?://\S+/survey/(\S+)", invite.text)
        assert url is not None
        path = f"/survey/{url.group(1)}"

        page = await running.client.get(path)
        assert page.status_code == 200 and '<html lang="ja">' in page.text
        assert "相談して、役に立ちましたか。" in page.text and 'name="helped"' in page.text
        assert "form-action 'self'" in page.headers["content-security-policy"]
        done = await running.client.post(path, data={"helped": "partly", "easy": "yes", "again": "bogus",
                                                     "comment": "メールで相談できてよかったです <img src=x>"})
        assert done.status_code == 200 and "ご協力ありがとうございました" in done.text
        (answer,) = await _answers(running)
        assert (answer.channel, answer.helped, answer.easy, answer.again) == ("email", "partly", "yes", None)
        assert answer.comment == "メールで相談できてよかったです <img src=x>"
        # one use; a forged or foreign link shows nothing
        assert (await running.client.get(path)).status_code == 410
        assert (await running.client.post(path, data={"helped": "yes"})).status_code == 410
        forged = path.rsplit(".", 1)[0] + ".AAAAAAAAAAAAAAAAAAAAAAAA"
        assert (await running.client.get(forged)).status_code == 404
        assert len(await _answers(running)) == 1


# ── the lead's view: trend and comments ────────────────────────────────────────────────


async def test_dashboard_trend_and_comments_for_the_lead_only(running_sqlite: Running) -> None:
    from casecore.reporting.periods import Month
    from casecore.types import utcnow
    from tests.helpers import login, make_counsellor

    running = running_sqlite
    ctx, client = running.ctx, running.client
    now = Month.of(utcnow())
    async with transaction(ctx.sessions) as s:
        for month, helped, comment in ((now, "yes", "親身に聞いてくれた"), (now, "no", None), (now.previous(), "partly", None),
                                       (Month(2019, 1), "yes", "six months ago and more: not in the trend")):
            s.add(SurveyAnswer(profile_id="minato-tokyo", month=str(month), channel="webchat", language="ja",
                               helped=helped, easy=None, again="yes", comment=comment, has_comment=comment is not None))
    await make_counsellor(ctx, "shunin", "lead")
    await make_counsellor(ctx, "kanri", "admin")
    await make_counsellor(ctx, "tanto", "counsellor")
    await login(client, "shunin")
    trend = (await client.get("/api/reports/dashboard?profile=minato-tokyo")).json()["profiles"]["minato-tokyo"]["survey"]
    months = trend["months"]
    assert [m["month"] for m in months][-2:] == [str(now.previous()), str(now)] and len(months) == 6
    assert months[-1]["answers"] == 2 and months[-1]["helped"] == {"yes": 1, "partly": 0, "no": 1, "no_answer": 0}
    assert months[-1]["easy"]["no_answer"] == 2 and months[-1]["comments"] == 1
    assert months[-2]["helped"]["partly"] == 1 and sum(m["answers"] for m in months) == 3
    assert "親身" not in str(trend)  # the dashboard itself carries no resident's words
    query = f"/api/reports/survey-comments?profile=minato-tokyo&month={now}"
    r = await client.get(query)
    assert r.status_code == 200 and [c["text"] for c in r.json()["comments"]] == ["親身に聞いてくれた"]
    assert (await client.get("/api/reports/survey-comments?profile=minato-tokyo&month=2026-13")).status_code == 422
    for who in ("kanri", "tanto"):  # an admin reads no resident content; a counsellor neither
        await login(client, who)
        assert (await client.get(query)).status_code == 403
    async with transaction(ctx.sessions) as s:
        actions = (await s.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "report"))).all()
    assert actions.count("read_survey_comments") == 1 and actions.count("survey_comments_refused") == 2
