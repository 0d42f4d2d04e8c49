"""The monthly report (issue 15): a month of synthetic activity in two municipalities, inserted
through the ORM with Japanese-time boundary cases, checked figure by figure, suppressed under the
threshold, free of personal data in every format, rendered to a PDF that is rasterised; the
schedule mails it once; the survey stores anonymous answers; the lead's dashboard is scoped."""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from casecore import crypto
from casecore.db import transaction
from casecore.models import AuditEvent, Case, ContactPoint, Conversation, Message
from casecore.reporting import figures as F
from casecore.reporting.models import ReportDelivery, SurveyAnswer
from casecore.reporting.periods import JST, BadMonth, Month
from dialogs.profile import ProfileRegistry, ReportSettings
from madoguchi.reports.build import build
from madoguchi.reports.delivery import due_month, schedule_loop, send_due
from madoguchi.reports.run import renderer
from tests.conftest import Running
from tests.helpers import login, make_counsellor, new_session
from tests.requirements import require
from tests.smtp_sink import SmtpSink, smtp_sink_fixture  # noqa: F401  (fixture "smtp_sink")

TOKYO, OSAKA = "minato-tokyo", "minato-osaka"
# Personal data planted in the synthetic cases: none of it may reach any report format.
PERSONAL = ["山田太郎", "派遣切りで家賃が払えない", "090-1234-5678", "Usecret0123456789", "助けてください山田",
            "yamada@example.jp", "とても助かりました花子"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


class Seeder:
    def __init__(self, s) -> None:  # type: ignore[no-untyped-def]
        self.s = s
        self.n = 0

    async def conversation(self, profile: str, channel: str, at: datetime | None, *, language: str = "ja",
                           consented: bool = True, urgent: tuple[str, ...] = (), look: tuple[str, ...] = (),
                           created: datetime | None = None, case: dict | None = None) -> Conversation:
        """A conversation whose resident first wrote at `at` (None: a page view, nothing written)."""
        self.n += 1
        contact = ContactPoint(profile_id=profile, channel=channel, external_id=f"Usecret0123456789-{self.n}",
                               external_id_index=crypto.cipher().blind_index(f"u{self.n}"), language=language,
                               created_at=created or at)
        self.s.add(contact)
        await self.s.flush()
        conv = Conversation(contact_point_id=contact.id, profile_id=profile, channel=channel, language=language,
                            consented_use=consented, urgent=bool(urgent), urgency_reasons=list(urgent),
                            look_reasons=list(look), created_at=created or at, status="closed")
        self.s.add(conv)
        await self.s.flush()
        start = created or at
        assert start is not None
        # the session start (web chat) or a follow: an inbound row with nothing written
        self.s.add(Message(conversation_id=conv.id, direction="in", sender="resident", channel=channel,
                           channel_event_id=f"start:{self.n}", text=None, created_at=start))
        if at is not None:
            self.s.add(Message(conversation_id=conv.id, direction="in", sender="resident", channel=channel,
                               channel_event_id=f"m:{self.n}", text="助けてください山田", created_at=at))
            self.s.add(Message(conversation_id=conv.id, direction="in", sender="resident", channel=channel,
                               channel_event_id=f"m2:{self.n}", text="090-1234-5678", created_at=at + timedelta(minutes=2)))
        if case is not None:
            c = Case(number=f"2026-{self.n:06d}", profile_id=profile, contact_point_id=contact.id, channel=channel,
                     language=language, name="山田太郎", problem_text="派遣切りで家賃が払えない",
                     contact_detail="090-1234-5678", recommended_programmes=["shuro_junbi"],
                     created_at=(at or start) + timedelta(minutes=10), **case)
            self.s.add(c)
            await self.s.flush()
            conv.case_id = c.id
        return conv

    def audit(self, action: str, target_type: str, target_id: int, at: datetime, **detail: str) -> None:
        self.s.add(AuditEvent(actor_type="counsellor", actor_id=None, action=action, target_type=target_type,
                              target_id=str(target_id), detail=detail, at=at))

    def counsellor_message(self, conv: Conversation, at: datetime, status: str = "sent") -> None:
        self.s.add(Message(conversation_id=conv.id, direction="out", sender="counsellor", channel=conv.channel,
                           text="山田様、お返事です", created_at=at, delivery_status=status))


async def seed(running: Running) -> dict[str, Conversation]:
    async with transaction(running.ctx.sessions) as s:
        z = Seeder(s)
        named: dict[str, Conversation] = {}
        ages = ["40s"] * 6 + ["30s"] * 4
        districts = ["麻布"] * 7 + ["芝"] * 3
        cases: list[dict] = []
        for i in range(11):
            cases.append({"age_band": ages[i] if i < 10 else None, "district": districts[i] if i < 10 else None,
                          "for_whom": "self" if i < 8 else "relative",
                          "categories": ["debt", *(["job"] if i < 6 else []), *(["housing"] if i < 2 else [])],
                          "accepted_programmes": ["kakei_kaizen"] if i < 5 else ["jiritsu_soudan"] if i < 7 else None})
        line = []
        for i in range(6):  # six on LINE at 10 o'clock JST
            line.append(await z.conversation(
                TOKYO, "line", jst(2026, 10, 5, 10, i * 5),
                urgent=("suicide",) if i == 0 else ("suicide", "no_shelter") if i == 1 else (),
                look=("suicide",) if i == 2 else (), case=cases.pop(0)))
        for i in range(5):  # five on the web chat at 21 o'clock, three in Vietnamese, two declined
            await z.conversation(TOKYO, "webchat", jst(2026, 10, 12, 21, i), language="vi" if i < 3 else "ja",
                                 consented=i < 3, urgent=("no_food",) if i == 0 else (),
                                 case=cases.pop(0) if i < 3 else None)
        # The JST boundaries: 23:30 on 31 October and 00:10 on 1 November are one UTC day.
        named["oct31"] = await z.conversation(TOKYO, "telegram", jst(2026, 10, 31, 23, 30), language="en", case=cases.pop(0))
        named["nov1"] = await z.conversation(TOKYO, "line", jst(2026, 11, 1, 0, 10))
        # Opened on 30 September (a page view) and first written to on 1 October: October's.
        await z.conversation(TOKYO, "email", jst(2026, 10, 1, 0, 5), created=jst(2026, 9, 30, 23, 50), case=cases.pop(0))
        assert not cases
        # Page views and follows with nothing written: never consultations.
        await z.conversation(TOKYO, "webchat", None, created=jst(2026, 10, 15, 12, 0), consented=False)
        await z.conversation(TOKYO, "line", None, created=jst(2026, 10, 16, 12, 0), consented=False)
        # Earlier in the fiscal year (May) and in the previous one (March).
        for i in range(4):
            await z.conversation(TOKYO, "line", jst(2026, 5, 20, 14, i))
        for i in range(2):
            await z.conversation(TOKYO, "line", jst(2026, 3, 20, 14, i))
        # Osaka's October must not reach Tokyo's report.
        osaka = [await z.conversation(OSAKA, "line", jst(2026, 10, 7, 11, i), urgent=("suicide",), case={"age_band": "30s"})
                 for i in range(3)]
        z.audit("contact_blocked", "contact_point", osaka[0].contact_point_id, jst(2026, 10, 8, 9, 0), reason="threats")
        # Tokyo's removals and trouble.
        z.audit("contact_blocked", "contact_point", line[4].contact_point_id, jst(2026, 10, 6, 9, 0), reason="harassment")
        z.audit("contact_blocked", "contact_point", line[5].contact_point_id, jst(2026, 10, 6, 9, 30), reason="spam")
        z.audit("blocked_contact_ignored", "contact_point", line[5].contact_point_id, jst(2026, 10, 7, 9, 0))
        z.audit("contact_blocked", "contact_point", line[3].contact_point_id, jst(2026, 9, 30, 23, 0), reason="spam")  # September
        # Hand-offs: waits of 3, 6, 10, 20, 45 minutes, first replies 2 minutes after the claim; one unclaimed.
        for conv, wait in zip(line, (3, 6, 10, 20, 45, None), strict=True):
            asked = jst(2026, 10, 5, 10, 30)
            z.audit("handoff_requested", "conversation", conv.id, asked, reason="human")
            z.audit("handoff_requested", "conversation", conv.id, asked + timedelta(minutes=1), reason="human")  # repeated
            if wait is not None:
                z.audit("conversation_claimed", "conversation", conv.id, asked + timedelta(minutes=wait))
                z.counsellor_message(conv, asked + timedelta(minutes=wait + 2), status="failed" if wait < 15 else "sent")
        # the anonymous survey: six answers in October, two in May
        for i in range(6):
            s.add(SurveyAnswer(profile_id=TOKYO, month="2026-10", channel="webchat", language="ja",
                               helped="yes" if i < 5 else "no", easy="yes", again="yes" if i < 4 else "partly",
                               comment="とても助かりました花子" if i < 2 else None, has_comment=i < 2))
        for _ in range(2):
            s.add(SurveyAnswer(profile_id=TOKYO, month="2026-05", channel="line", language="vi", helped="partly",
                               easy=None, again="yes", has_comment=False))
        return named


def rows(doc: dict, key: str) -> dict[str, tuple[object, object]]:
    section = next(s for s in doc["sections"] if s["key"] == key)
    return {r["label"]: (r["month"], r["ytd"]) for r in section["rows"]}


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "r.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def rasterise(data: bytes, tmp_path: Path) -> list[Path]:
    """The PDF's first two pages as PNG (poppler's pdftoppm)."""
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(data)
    subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "2", str(pdf), str(tmp_path / "page")], check=True)
    return sorted(tmp_path.glob("page-*.png"))


def xlsx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))


def test_japanese_months_and_fiscal_years() -> None:
    assert Month.parse("2026-10").start == jst(2026, 10, 1)
    assert Month.parse("2026-10").end == jst(2026, 11, 1)
    assert Month.of(jst(2026, 10, 31, 23, 30)) == Month(2026, 10)
    assert Month.of(jst(2026, 11, 1, 0, 10)) == Month(2026, 11)
    assert [str(m) for m in Month.parse("2027-02").fiscal_months()][::5] == ["2026-04", "2026-09", "2027-02"]
    assert Month.parse("2026-03").fiscal_year == 2025 and Month.parse("2026-04").fiscal_year == 2026
    for bad in ("2026-13", "2026-00", "26-10", "2026/10", "October"):
        with pytest.raises(BadMonth):
            Month.parse(bad)


async def test_every_figure_of_a_synthetic_month(running: Running, tmp_path: Path) -> None:
    named = await seed(running)
    profiles = running.ctx.profiles
    async with transaction(running.ctx.sessions) as s:
        report = await build(s, profiles.get(TOKYO), Month(2026, 10), threshold=5)
        nov = await F.compute(s, TOKYO, Month(2026, 11).start, Month(2026, 11).end, ["2026-11"])
        osaka = await F.compute(s, OSAKA, Month(2026, 10).start, Month(2026, 10).end, ["2026-10"])
        first = F.first_resident_message()
        first_times = dict((await s.execute(select(first.c.cid, first.c.first_at))).all())
    m, y = report.month_figures, report.ytd_figures
    # the same UTC day, two Japanese months
    assert first_times[named["oct31"].id].date() == first_times[named["nov1"].id].date()
    assert m.by_channel["telegram"] == 1 and nov.consultations == 1 and nov.by_channel == {"line": 1}

    assert m.consultations == 13  # 6 LINE + 5 web chat + Telegram 31 Oct + email 1 Oct; no page views, not 1 Nov
    assert dict(m.by_channel) == {"line": 6, "webchat": 5, "telegram": 1, "email": 1}
    assert dict(m.by_language) == {"ja": 9, "vi": 3, "en": 1}
    assert {h: n for h, n in m.by_hour.items() if n} == {10: 6, 21: 5, 23: 1, 0: 1}
    assert m.declined_or_left == 2
    assert m.urgent == 3 and dict(m.urgent_by_kind) == {"suicide": 2, "no_shelter": 1, "no_food": 1}
    assert m.look == 1 and dict(m.look_by_kind) == {"suicide": 1}
    assert m.cases == 11
    assert dict(m.by_age_band) == {"40s": 6, "30s": 4, "unknown": 1}
    assert dict(m.by_district) == {"麻布": 7, "芝": 3, "unknown": 1}
    assert dict(m.by_for_whom) == {"self": 8, "relative": 3}
    assert dict(m.by_category) == {"debt": 11, "job": 6, "housing": 2}
    assert dict(m.programmes_used) == {"kakei_kaizen": 5, "jiritsu_soudan": 2}  # never the recommended shuro_junbi
    # no case of the synthetic month was triaged or referred yet (issue 13 records both)
    assert m.triage == {"unknown": m.cases} and m.referrals == {} and m.warnings is None
    assert m.removals == 2 and dict(m.removals_by_reason) == {"harassment": 1, "spam": 1} and m.blocked_attempts == 1
    assert m.delivery_failures == 3 and dict(m.delivery_failures_by_channel) == {"line": 3}
    assert m.handoffs == 6 and m.unclaimed == 1
    assert sorted(m.waits_minutes) == [3, 6, 10, 20, 45] and sorted(m.responses_minutes) == [5, 8, 12, 22, 47]
    assert F.wait_stats(m) == {"n": 5, "median": 10, "p90": 45, "mean": 16.8}
    assert m.survey_answers == 6 and m.survey_comments == 2
    assert dict(m.survey["helped"]) == {"yes": 5, "no": 1} and dict(m.survey["again"]) == {"yes": 4, "partly": 2}
    # year to date: the fiscal year from April (May's four count, March's two do not)
    assert y.consultations == 17 and y.removals == 3 and y.survey_answers == 8
    assert report.volumes_by_month == {"2026-04": 0, "2026-05": 4, "2026-06": 0, "2026-07": 0, "2026-08": 0,
                                       "2026-09": 0, "2026-10": 13}
    assert report.survey_trend[1] == ("2026-05", 2, 0) and report.survey_trend[-1] == ("2026-10", 6, 5)
    # Osaka's activity stays in Osaka's report
    assert osaka.consultations == 3 and osaka.removals == 1 and osaka.urgent_by_kind == {"suicide": 3}

    doc = report.to_json()
    assert doc["month"] == "2026-10" and doc["year_to_date"] == {"fiscal_year": 2026, "from": "2026-04", "to": "2026-10",
                                                                  "note": "年度（4月始まり）の累計"}
    summary = rows(doc, "summary")
    assert summary["新規相談（住民が最初のメッセージを送った会話）"] == (13, 17)
    assert summary["うち利用申込みに至らなかったもの"] == ("<5", "<5")  # 2: suppressed
    assert summary["緊急の会話"] == ("<5", "<5")
    ages = rows(doc, "age_band")
    assert ages["40代"] == (6, 6) and ages["30代"] == ("<5", "<5") and ages["20代"] == (0, 0) and ages["未回答"] == ("<5", "<5")
    assert rows(doc, "district")["麻布"] == (7, 7) and rows(doc, "district")["高輪"] == (0, 0)
    assert rows(doc, "channel")["LINE"] == (6, 10) and rows(doc, "channel")["ウェブチャット"] == (5, 5)
    assert rows(doc, "language")["ベトナム語"] == ("<5", "<5")
    assert rows(doc, "category")["借金・滞納"] == (11, 11)
    assert rows(doc, "programmes")["エ 家計改善支援"] == (5, 5)
    assert rows(doc, "removals")["強制退出（ブロック）"] == ("<5", "<5")
    waiting = rows(doc, "waiting")
    assert waiting["待ち時間 中央値"] == (10, 10) and waiting["待ち時間 90%の人がこれ以内"] == (45, 45)
    assert rows(doc, "survey")["相談して役に立ったか：はい"] == (5, 5)
    sections = {s["key"]: s for s in doc["sections"]}
    assert rows(doc, "triage") == {"振り分け未記録": (11, 11)} and not sections["triage"]["note"]
    assert sections["referrals"]["rows"] == []
    assert "警告" in sections["removals"]["note"]
    assert doc["by_hour"][10] == 6 and doc["by_hour"][23] == "<5" and doc["by_hour"][3] == 0
    every_cell = [v for s in doc["sections"] for r in s["rows"] if r["unit"] == "件" for v in (r["month"], r["ytd"])]
    assert all(v == 0 or v == "<5" or (isinstance(v, int) and v >= 5) for v in every_cell)
    assert "comments" not in doc

    # No personal data in any format (comments only on a lead's request).
    outputs = {fmt: renderer(fmt)(report) for fmt in ("json", "csv", "xlsx", "pdf")}
    texts = {"json": outputs["json"].decode(), "csv": outputs["csv"].decode("utf-8-sig"),
             "xlsx": xlsx_text(outputs["xlsx"]), "pdf": pdf_text(outputs["pdf"], tmp_path)}
    assert json.loads(texts["json"])["sections"][0]["rows"][0]["month"] == 13
    assert "港区 月次報告 2026年10月" in texts["pdf"] and "2026年度累計" in texts["pdf"]
    assert "新規相談" in texts["csv"] and "新規相談" in texts["xlsx"]
    assert "アンケートの推移,2026-10 回答数,6" in texts["csv"] and "アンケートの推移,2026-05 回答数,<5" in texts["csv"]
    for fmt, body in texts.items():
        for secret in PERSONAL:
            assert secret not in body, (fmt, secret)
    # the PDF is a document people read: rasterise its first page and keep it for a look
    require("pdftoppm (poppler-utils)", shutil.which("pdftoppm") is not None, "apt-get install poppler-utils")
    pages = await asyncio.to_thread(rasterise, outputs["pdf"], tmp_path)
    assert len(pages) == 2 and all(p.stat().st_size > 20_000 for p in pages)  # charts and text, not a blank page
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(pages[0], ARTIFACTS / "monthly-report-page-1.png")

    async with transaction(running.ctx.sessions) as s:
        lead_view = await build(s, profiles.get(TOKYO), Month(2026, 10), include_comments=True)
    assert lead_view.comments == ["とても助かりました花子"] * 2
    assert "とても助かりました花子" in pdf_text(renderer("pdf")(lead_view), tmp_path)


async def test_the_report_is_mailed_once_a_month_before_the_10th(running: Running, smtp_sink: SmtpSink, tmp_path: Path) -> None:
    await seed(running)
    base = running.ctx.profiles
    registry = ProfileRegistry({p.id: p.model_copy(update={"report": ReportSettings(
        recipients=[f"fukushi@{p.id}.example.lg.jp"] if p.id == TOKYO else [])}) for p in base.all()}, base.default_id)
    settings = running.settings.model_copy(update={"smtp_host": smtp_sink.host, "smtp_port": smtp_sink.port,
                                                   "smtp_starttls": False, "smtp_from": "madoguchi@example.lg.jp"})
    assert due_month(jst(2026, 11, 1, 0, 5)) == Month(2026, 10) and due_month(jst(2026, 11, 10, 0, 5)) is None
    assert due_month(jst(2026, 10, 31, 23, 59)) is None  # still October in Japan, though 1 Nov in no timezone yet
    sessions = running.ctx.sessions
    assert await send_due(settings, sessions, registry, jst(2026, 10, 20, 9)) == []
    assert await send_due(settings, sessions, registry, jst(2026, 11, 2, 9)) == [TOKYO]
    # a restart the next day (a new call, the same database) does not send again
    assert await send_due(settings, sessions, registry, jst(2026, 11, 3, 9)) == []
    assert await send_due(settings, sessions, registry, jst(2026, 11, 12, 9)) == []
    mails = await smtp_sink.wait_for(1)
    assert len(smtp_sink.received) == 1 and mails[0].rcpt_tos == ["fukushi@minato-tokyo.example.lg.jp"]
    msg = mails[0].message
    assert "2026年10月" in str(msg["Subject"])
    names = [p.get_filename() for p in msg.iter_attachments()]
    assert names == ["madoguchi-report-minato-tokyo-2026-10.pdf", "madoguchi-report-minato-tokyo-2026-10.csv"]
    csv_text = next(p for p in msg.iter_attachments() if p.get_filename().endswith(".csv")).get_content()
    if isinstance(csv_text, bytes):
        csv_text = csv_text.decode("utf-8-sig")
    assert "新規相談" in csv_text and not any(secret in csv_text for secret in PERSONAL)
    async with transaction(sessions) as s:
        sent = (await s.execute(select(ReportDelivery.profile_id, ReportDelivery.month, ReportDelivery.status))).all()
    assert [tuple(r) for r in sent] == [(TOKYO, "2026-10", "sent")]
    # the background task with a fake clock in December sends November's, once
    loop_settings = settings.model_copy(update={"report_check_seconds": 0.01})
    passes: list[int] = []
    more_passes = asyncio.Event()

    def december() -> datetime:
        passes.append(1)
        if len(passes) >= 6:
            more_passes.set()
        return jst(2026, 12, 1, 8)

    task = asyncio.create_task(schedule_loop(loop_settings, sessions, registry, clock=december))
    try:
        await smtp_sink.wait_for(2)
        await asyncio.wait_for(more_passes.wait(), 30)  # several passes of the loop: nothing more is sent
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert len(smtp_sink.received) == 2 and "2026年11月" in str(smtp_sink.received[1].message["Subject"])
    async with transaction(sessions) as s:
        assert await s.scalar(select(func.count()).select_from(ReportDelivery).where(ReportDelivery.status == "sent")) == 2


async def test_the_web_chat_survey_stores_anonymous_answers(running: Running) -> None:
    client = running.client
    session = await new_session(client, "vi")
    sid, auth = session["session_id"], {"Authorization": f"Bearer {session['token']}"}
    r = await client.get(f"/api/webchat/sessions/{sid}/survey", headers=auth)
    assert r.status_code == 200 and r.json()["open"] is False and r.json()["language"] == "vi"
    assert [q["id"] for q in r.json()["questions"]] == ["helped", "easy", "again"]
    assert r.json()["questions"][0]["text"] == "Buổi tư vấn có giúp ích cho bạn không?"
    assert (await client.post(f"/api/webchat/sessions/{sid}/survey", json={"helped": "yes"}, headers=auth)).status_code == 409
    assert (await client.post(f"/api/webchat/sessions/{sid}/survey", json={"helped": "yes"},
                              headers={"Authorization": "Bearer wrong"})).status_code == 404
    async with transaction(running.ctx.sessions) as s:
        (await s.get(Conversation, sid)).status = "closed"  # a counsellor closed it
    assert (await client.post(f"/api/webchat/sessions/{sid}/survey", json={"helped": "maybe"}, headers=auth)).status_code == 422
    r = await client.post(f"/api/webchat/sessions/{sid}/survey", headers=auth,
                          json={"helped": "yes", "easy": "partly", "again": "yes", "comment": "Cảm ơn nhiều"})
    assert r.status_code == 201 and r.json()["stored"] is True and r.json()["contacts"] == []
    assert (await client.post(f"/api/webchat/sessions/{sid}/survey", json={"helped": "no"}, headers=auth)).status_code == 409
    # a comment that screens positive is answered with the lines, not filed away in silence
    other = await new_session(client, "ja")
    oauth = {"Authorization": f"Bearer {other['token']}"}
    async with transaction(running.ctx.sessions) as s:
        (await s.get(Conversation, other["session_id"])).status = "closed"
    r = await client.post(f"/api/webchat/sessions/{other['session_id']}/survey", headers=oauth, json={"comment": "もう死にたい"})
    assert r.status_code == 201 and r.json()["contacts"] and "心配" in r.json()["text"]
    async with transaction(running.ctx.sessions) as s:
        answers = (await s.scalars(select(SurveyAnswer).order_by(SurveyAnswer.id))).all()
        row = answers[0]
        assert (row.profile_id, row.channel, row.language, row.helped, row.easy, row.again, row.comment) == (
            TOKYO, "webchat", "vi", "yes", "partly", "yes", "Cảm ơn nhiều")
        assert row.month == str(Month.of(datetime.now(JST)))
        # nothing on the answer leads back to the resident or the conversation
        assert set(SurveyAnswer.__table__.columns.keys()) == {
            "id", "profile_id", "month", "channel", "language", "helped", "easy", "again", "comment", "has_comment"}
        raw = (await s.execute(text("SELECT comment FROM survey_answer ORDER BY id"))).scalars().first()
        assert raw is not None and "Cảm ơn" not in raw  # the comment is encrypted at rest


async def test_the_dashboard_is_for_leads_of_their_municipalities(running: Running) -> None:
    await seed(running)
    ctx, client = running.ctx, running.client
    async with transaction(ctx.sessions) as s:
        waiting = await s.scalar(select(Conversation).where(Conversation.profile_id == TOKYO).limit(1))
        waiting.status, waiting.urgent, waiting.waiting_since = "waiting", True, datetime.now(JST) - timedelta(minutes=12)
    await make_counsellor(ctx, "osaka_lead", "lead", profiles=[OSAKA])
    await make_counsellor(ctx, "worker", "counsellor")
    await login(client, "worker")
    assert (await client.get("/api/reports/dashboard")).status_code == 403
    await make_counsellor(ctx, "lead", "lead")
    await login(client, "lead")
    r = await client.get("/api/reports/dashboard")
    assert r.status_code == 200, r.text
    tokyo = r.json()["profiles"][TOKYO]
    assert tokyo["waiting_now"] == 1 and tokyo["urgent_waiting_now"] == 1 and 11 <= tokyo["longest_wait_minutes"] <= 14
    assert len(tokyo["today"]["by_hour"]) == 24 and tokyo["open_reviews"] == {"recorded": True, "count": 0, "note": "reviews and follow-ups past their day"}
    assert set(r.json()["profiles"]) == {TOKYO, OSAKA}
    await login(client, "osaka_lead")
    r = await client.get("/api/reports/dashboard")
    assert set(r.json()["profiles"]) == {OSAKA}
    assert (await client.get(f"/api/reports/dashboard?profile={TOKYO}")).status_code == 403
    async with transaction(ctx.sessions) as s:
        actions = (await s.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "report"))).all()
    assert actions.count("read_dashboard") == 2 and actions.count("dashboard_refused") == 2
    page = await client.get("/console/dashboard")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert "/console/dashboard/static/dashboard.js" in page.text
    js = await client.get("/console/dashboard/static/dashboard.js")
    assert js.status_code == 200 and "/api/reports/dashboard" in js.text
    assert (await client.get("/console/dashboard/static/secret.key")).status_code == 404


@pytest.mark.parametrize(("args", "message"), [
    (["--month", "2026-13"], "is not a month"),
    (["--month", "2026-10", "--profile", "nowhere"], "profiles: minato-osaka, minato-tokyo"),
    (["--month", "2026-10", "--format", "docx"], "unknown format"),
])
def test_the_cli_says_what_is_wrong(args: list[str], message: str, tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(Path(__file__).resolve().parent.parent), "MADOGUCHI_DATA_DIR": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-c", "from madoguchi.cli import app; app()", "report", *args],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr + r.stdout


def test_the_cli_writes_a_pdf_and_says_so_when_the_japanese_font_is_missing(tmp_path: Path) -> None:
    env = {"PYTHONPATH": str(Path(__file__).resolve().parent.parent), "MADOGUCHI_DATA_DIR": str(tmp_path),
           "PATH": "/usr/bin:/bin", "MADOGUCHI_LOG_LEVEL": "WARNING"}
    cmd = [sys.executable, "-c", "from madoguchi.cli import app; app()", "report", "--profile", OSAKA,
           "--month", "2026-10", "--format", "pdf", "--out", str(tmp_path / "r.pdf")]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF") and "minato-osaka 2026-10" in r.stdout
    # no CJK font: a message naming the package, not a traceback (the candidates are patched away)
    code = ("import madoguchi.reports.pdf as p; p.FONT_CANDIDATES = (); from madoguchi.cli import app; app()")
    r = subprocess.run([sys.executable, "-c", code, *cmd[3:]], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 1 and "fonts-noto-cjk" in r.stderr and "Traceback" not in r.stderr
