"""A resident completes an intake in the web chat; a counsellor finds the case (issue 2)."""

from __future__ import annotations

from sqlalchemy import func, select

from casecore.db import transaction
from casecore.models import AuditEvent, ConsentRecord, Message
from tests.helpers import JAPANESE_INTAKE, login, make_counsellor, new_session, run_intake, send


async def test_japanese_intake_ends_in_a_case_the_counsellor_can_read(running) -> None:
    client = running.client
    session, reply = await run_intake(client)
    assert reply["state"] == "handed_over"
    assert reply["conversation_status"] == "waiting"
    assert reply["case_id"] is not None
    assert "受付番号" in reply["messages"][-1]["text"]

    assert (await client.get("/api/cases")).status_code == 401
    assert (await client.get(f"/api/cases/{reply['case_id']}")).status_code == 401
    await make_counsellor(running.ctx)
    await login(client)
    # need-to-know (issue 11): the case opens to the counsellor who takes the conversation
    assert (await client.get(f"/api/cases/{reply['case_id']}")).status_code == 404
    assert (await client.get("/api/cases")).json()["cases"] == []
    assert (await client.post(f"/api/conversations/{session['session_id']}/claim")).status_code == 200
    listed = (await client.get("/api/cases")).json()
    assert [c["id"] for c in listed["cases"]] == [reply["case_id"]]
    case = (await client.get(f"/api/cases/{reply['case_id']}")).json()
    assert case["number"].startswith("20") and len(case["number"].split("-")[1]) == 6
    assert set(case["categories"]) == {"debt", "job"}
    assert case["face_sheet"]["problem_text"].startswith("派遣の契約が切れて")
    assert case["face_sheet"]["district"] == "麻布"
    assert case["face_sheet"]["contact_detail"] == "09012345678"
    kinds = {(c["kind"], c["decision"]) for c in case["consents"]}
    assert kinds == {("use", "granted"), ("share_agencies", "granted")}
    assert all(c["wording_version"] == "2026.1" and len(c["wording_hash"]) == 64 for c in case["consents"])
    recommended = [p["id"] for p in case["recommended_programmes"]]
    assert "kakei_kaizen" in recommended and "shuro_junbi" in recommended
    assert "hihogosha_shuro" not in recommended  # welfare recipients only
    # The transcript holds every inbound message once, in order.
    inbound = [m for m in case["transcript"] if m["direction"] == "in"]
    assert len(inbound) == len(JAPANESE_INTAKE) + 1  # plus the session start
    async with transaction(running.ctx.sessions) as s:
        reads = await s.scalar(select(func.count()).where(AuditEvent.action == "read_case"))
    assert reads == 1


async def test_decline_ends_kindly_and_keeps_nothing_personal(running) -> None:
    client = running.client
    session = await new_session(client, "ja")
    await send(client, session, "text", "山田です。借金で困っています")
    reply = await send(client, session, "choice", "decline")
    assert reply["conversation_status"] == "closed"
    assert reply["case_id"] is None
    text = reply["messages"][-1]["text"]
    assert "03-3578-2111" in text and "六本木" in text
    async with transaction(running.ctx.sessions) as s:
        texts = (await s.scalars(select(Message.text).where(Message.conversation_id == session["session_id"]))).all()
        consents = (await s.scalars(select(ConsentRecord.decision))).all()
    assert all(t is None for t in texts)
    assert consents == ["declined"]


async def test_redelivered_message_is_stored_once_and_answered_the_same(running) -> None:
    client = running.client
    session = await new_session(client, "ja")
    first = await send(client, session, "choice", "agree", client_id="same-id")
    again = await send(client, session, "choice", "agree", client_id="same-id")
    assert again["messages"] == first["messages"]
    async with transaction(running.ctx.sessions) as s:
        n = await s.scalar(select(func.count()).where(Message.channel_event_id == f"{session['session_id']}:same-id"))
    assert n == 1


async def test_bad_input_gets_clear_errors(running) -> None:
    client = running.client
    session = await new_session(client, "ja")
    url = f"/api/webchat/sessions/{session['session_id']}/messages"
    auth = {"Authorization": f"Bearer {session['token']}"}
    assert (await client.post(url, json={"text": "x"})).status_code == 401
    r = await client.post(url, json={"text": "x"}, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 404
    r = await client.post(url, json={}, headers=auth)
    assert r.status_code == 422 and "text or a choice" in r.text
    r = await client.post(url, json={"text": "あ" * 10_001}, headers=auth)
    assert r.status_code == 422
    r = await client.post(url, content=b"\xff\xfe not json", headers={**auth, "Content-Type": "application/json"})
    assert r.status_code == 400
    # HTML, script and emoji are kept as text, untouched
    nasty = "<script>alert(1)</script><b>困って</b>います😢"
    await send(client, session, "choice", "agree")
    reply = await send(client, session, "text", nasty)
    assert reply["state"] == "safety_check"  # re-asked, nothing lost
    listing = (await client.get(url, headers=auth)).json()
    assert nasty in [m["text"] for m in listing["messages"]]


async def test_long_message_is_cut_and_the_resident_told(running_sqlite) -> None:
    client = running_sqlite.client
    session = await new_session(client, "ja")
    for kind, value in [("choice", "agree"), ("choice", "none"), ("choice", "self"), ("choice", "money"), ("choice", "done")]:
        await send(client, session, kind, value)
    reply = await send(client, session, "text", "困" * 5000)
    assert "4000" in reply["messages"][0]["text"]
    assert reply["state"] == "age_band"


async def test_risk_in_free_text_marks_urgent_and_asks_for_a_person(running_sqlite) -> None:
    client = running_sqlite.client
    session = await new_session(client, "ja")
    reply = await send(client, session, "text", "もう死にたいです")
    assert reply["conversation_status"] == "waiting"
    emergency = [m for m in reply["messages"] if m["kind"] == "emergency"]
    assert emergency and "0120-279-338" in emergency[0]["text"]
    assert reply["case_id"] is None  # no consent yet, so no case


async def test_healthz_and_metrics(running) -> None:
    r = await running.client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    await new_session(running.client, "ja")
    metrics = (await running.client.get("/metrics")).text
    assert 'madoguchi_inbound_events_total{channel="webchat",outcome="processed"}' in metrics


async def test_counsellor_sees_only_assigned_municipalities(running_sqlite) -> None:
    client = running_sqlite.client
    _, reply = await run_intake(client)  # a Minato (Tokyo) case
    await make_counsellor(running_sqlite.ctx, "osaka1", profiles=["minato-osaka"])
    await login(client, "osaka1")
    assert (await client.get("/api/cases")).json()["cases"] == []
    assert (await client.get(f"/api/cases/{reply['case_id']}")).status_code == 404
