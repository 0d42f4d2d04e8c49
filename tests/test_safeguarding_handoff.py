"""Safeguarding through the router, the web chat API, the console and the case core (issue 9):
messages in a conversation a counsellor holds are screened and flagged at once; crisis records
are never purged; a counsellor opens a case from a conversation; the report counts kinds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from casecore import store
from casecore.db import transaction
from casecore.models import AuditEvent, Case, ConsentRecord, Conversation, Message
from handoff.events import InboundEvent
from i18n import risk
from madoguchi.report import monthly_report
from tests.conftest import Running, make_settings
from tests.handoff_helpers import (
    audit_actions,
    counsellor_client,
    first_suicide_line,
    resident_messages,
)
from tests.helpers import login_body, make_counsellor, new_session, send
from tests.test_handoff_live import open_console, receive_until


def emergency(reply: dict) -> dict:
    return next(m for m in reply["messages"] if m["kind"] == "emergency")


async def conversation(running: Running, conv_id: int) -> Conversation:
    async with transaction(running.ctx.sessions) as s:
        conv = await s.get(Conversation, conv_id)
        assert conv is not None
        s.expunge(conv)
        return conv


async def texts_kept(running: Running, conv_id: int) -> list[str | None]:
    async with transaction(running.ctx.sessions) as s:
        return list((await s.scalars(
            select(Message.text).where(Message.conversation_id == conv_id, Message.direction == "in")
        )).all())


# ── the web chat: a crisis at consent, then decline / stop ────────────────────
async def test_crisis_at_consent_then_decline_keeps_the_record(running: Running) -> None:
    client = running.client
    session = await new_session(client, "ja")
    reply = await send(client, session, "text", "全部やめたい。死にたい")
    assert reply["conversation_status"] == "waiting" and reply["state"] == "consent_use"
    em = emergency(reply)
    assert em["contacts"][0]["uri"] == first_suicide_line(running.ctx)  # いのちの電話 by day, a 24-hour line at night
    assert [c["id"] for c in reply["messages"][-1]["choices"]] == ["human", "continue"]
    reply = await send(client, session, "choice", "continue")
    assert reply["state"] == "consent_use"
    reply = await send(client, session, "choice", "decline")
    assert reply["conversation_status"] == "waiting"  # still in the queue, not closed
    conv = await conversation(running, session["session_id"])
    assert conv.urgent and conv.urgency_reasons == ["suicide"] and not conv.consented_use
    assert "全部やめたい。死にたい" in await texts_kept(running, conv.id)
    # the scheduled purge of abandoned unconsented intakes leaves it alone too
    async with transaction(running.ctx.sessions) as s:
        await s.execute(Conversation.__table__.update().values(updated_at=datetime.now(UTC) - timedelta(days=30)))
        assert await store.purge_stale_unconsented(s, timedelta(days=7)) == 0
    assert "全部やめたい。死にたい" in await texts_kept(running, conv.id)
    # read back (a reload): the emergency message still carries its lines for tel: links
    listed = await resident_messages(client, session)
    back = next(m for m in listed["messages"] if m["kind"] == "emergency")
    assert any(c["uri"] == "tel:0120279338" for c in back["contacts"])


async def test_stop_after_a_crisis_in_spanish_keeps_the_record(running_sqlite: Running) -> None:
    client = running_sqlite.client
    session = await new_session(client, "es")
    reply = await send(client, session, "text", "estoy pensando en quitarme la vida")
    assert reply["state"] == "consent_use" and emergency(reply)
    reply = await send(client, session, "text", "quit")
    assert reply["conversation_status"] == "waiting"
    assert "estoy pensando en quitarme la vida" in await texts_kept(running_sqlite, session["session_id"])
    async with transaction(running_sqlite.ctx.sessions) as s:
        actions = (await s.scalars(select(AuditEvent.action))).all()
    assert "unconsented_data_purged" not in actions


async def test_a_claimed_conversation_is_never_purged(running_sqlite: Running) -> None:
    client = running_sqlite.client
    session = await new_session(client, "en")
    await send(client, session, "choice", "human")
    async with counsellor_client(running_sqlite, "sato") as sato:
        assert (await sato.post(f"/api/conversations/{session['session_id']}/claim")).status_code == 200
        r = await sato.post(f"/api/conversations/{session['session_id']}/release", json={"to": "bot"})
        assert r.status_code == 200
    await send(client, session, "text", "my rent is late")
    await send(client, session, "text", "stop")
    assert "my rent is late" in await texts_kept(running_sqlite, session["session_id"])


async def test_look_is_waiting_not_urgent_and_visible_in_the_queue(running_sqlite: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    client = running_sqlite.client
    session = await new_session(client, "ja")
    await send(client, session, "choice", "agree")
    monkeypatch.setattr(risk, "screen", lambda *t, language=None: risk.RiskFinding(("suicide",), "look"))
    reply = await send(client, session, "text", "去年、父が自殺しました")
    monkeypatch.undo()
    assert reply["conversation_status"] == "waiting" and reply["state"] == "safety_check"
    assert not any(m["kind"] == "emergency" for m in reply["messages"])
    async with counsellor_client(running_sqlite, "sato") as sato:
        (item,) = (await sato.get("/api/queue")).json()["waiting"]
    assert item["look"] is True and item["urgent"] is False and item["look_reasons"] == ["suicide"]


# ── a counsellor holds the conversation: screened, flagged on the console at once ──
def test_crisis_in_a_counsellor_held_conversation_reaches_the_console(tmp_path) -> None:
    from tests.browser import serve_settings

    with serve_settings(make_settings(tmp_path)) as live:
        live.call(make_counsellor(live.ctx, "sato"))
        r = httpx.post(live.url + "/api/webchat/sessions", json={"language": "en"})
        s = r.json()
        headers = {"Authorization": f"Bearer {s['token']}"}
        url = f"{live.url}/api/webchat/sessions/{s['session_id']}/messages"
        httpx.post(url, json={"choice": "human"}, headers=headers)
        login = httpx.post(live.url + "/api/auth/login", json=login_body("sato"))
        cookie = login.cookies["madoguchi_session"]
        staff = httpx.Client(base_url=live.url, cookies={"madoguchi_session": cookie})
        assert staff.post(f"/api/conversations/{s['session_id']}/claim").status_code == 200
        with open_console(live, cookie) as ws:
            reply = httpx.post(url, json={"text": "i cant stop crying and i want to die"}, headers=headers).json()
            assert reply["messages"] == [] and reply["conversation_status"] == "counsellor"  # the bot stays silent
            event = receive_until(ws, "risk_flagged", timeout=10)
            assert event == {"type": "risk_flagged", "conversation_id": s["session_id"], "kinds": ["suicide"],
                             "level": "emergency"}
        queue = staff.get("/api/queue").json()
        (held,) = queue["mine"]
        assert held["urgent"] is True and held["urgency_reasons"] == ["suicide"]
        assert queue["risk_screen"]["degraded"] in (True, False)
        actions = [a for a, _ in live.call(audit_actions(live.ctx, "conversation", s["session_id"]))]
        assert "conversation_marked_urgent" in actions
        staff.close()


# ── open a case from any conversation ─────────────────────────────────────────
async def test_open_case_from_a_conversation_is_audited_and_only_for_the_holder(running: Running) -> None:
    client = running.client
    session = await new_session(client, "en")
    await send(client, session, "text", "i want to die")  # before any consent
    cid = session["session_id"]
    async with counsellor_client(running, "sato") as sato, counsellor_client(running, "suzuki") as suzuki:
        assert (await sato.post(f"/api/conversations/{cid}/case")).status_code == 409  # nobody holds it yet
        assert (await sato.post(f"/api/conversations/{cid}/claim")).status_code == 200
        refused = await suzuki.post(f"/api/conversations/{cid}/case")
        assert refused.status_code == 403
        r = await sato.post(f"/api/conversations/{cid}/case")
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["consented_use"] is False and body["urgent"] is True and body["urgency_reasons"] == ["suicide"]
        assert (await sato.post(f"/api/conversations/{cid}/case")).status_code == 409
    async with transaction(running.ctx.sessions) as s:
        case = await s.get(Case, body["case_id"])
        assert case is not None and case.urgent and case.number == body["case_number"]
        consents = (await s.scalars(select(ConsentRecord).where(ConsentRecord.case_id == case.id))).all()
        assert consents == []  # no consent was given, none is made up
        sato_id = await s.scalar(select(AuditEvent.actor_id).where(AuditEvent.action == "case_opened_from_conversation"))
        refused_by = (await s.scalars(select(AuditEvent.actor_id).where(AuditEvent.action == "case_open_refused")
                                      .order_by(AuditEvent.id))).all()
    assert sato_id is not None and len(refused_by) == 2 and refused_by[0] == sato_id and refused_by[1] != sato_id
    assert ("case_opened_from_conversation", sato_id) in await audit_actions(running.ctx, "case", body["case_id"])


# ── the monthly report ────────────────────────────────────────────────────────
async def test_report_counts_urgent_conversations_by_kind(running_sqlite: Running) -> None:
    ctx = running_sqlite.ctx
    for n, text in enumerate(["死にたい", "今夜泊まるところがない", "もう死にたい、今夜泊まるところがない", "家賃が払えません"]):
        await ctx.router.process(InboundEvent(channel="line", channel_event_id=f"r{n}", external_user_id=f"U{n}",
                                              profile_id="minato-tokyo", text=text))
    month = datetime.now(UTC).strftime("%Y-%m")
    data = await monthly_report(running_sqlite.settings, month, "minato-tokyo")
    assert data["urgent_conversations"] == 3
    assert data["urgent_conversations_by_kind"] == {"suicide": 2, "no_shelter": 2}
    assert data["conversations"] == 4
