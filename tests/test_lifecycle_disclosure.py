"""A lead's routes for one resident (issue 12): disclosure as JSON and PDF, erasure, a
withdrawal given on the phone, legal hold; incidents notified to the municipality."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select, text

from casecore.db import transaction
from casecore.models import AuditEvent, Case, ConsentRecord
from dialogs.profile import ProfileRegistry
from tests.helpers import login, make_counsellor, run_intake
from tests.smtp_sink import SmtpSink, smtp_sink_fixture  # noqa: F401  (fixture "smtp_sink")


async def _audit(running, action: str) -> list[AuditEvent]:
    async with transaction(running.ctx.sessions) as s:
        return list((await s.scalars(select(AuditEvent).where(AuditEvent.action == action))).all())


async def test_disclosure_pdf_and_json_then_erasure_by_a_lead(running_sqlite, tmp_path: Path) -> None:
    running = running_sqlite
    _, reply = await run_intake(running.client)
    case_id = reply["case_id"]
    await make_counsellor(running.ctx, "sato")
    await login(running.client, "sato")
    refused = await running.client.get(f"/api/lifecycle/cases/{case_id}/disclosure", params={"requested_by": "resident"})
    assert refused.status_code == 403  # a lead's task
    await make_counsellor(running.ctx, "lead", role="lead")
    await login(running.client, "lead")
    r = await running.client.get(f"/api/lifecycle/cases/{case_id}/disclosure", params={"requested_by": "resident"})
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["cases"][0]["face_sheet"]["name"] == "山田花子"
    assert record["cases"][0]["face_sheet"]["contact_detail"] == "09012345678"
    texts = [m["text"] for c in record["conversations"] for m in c["messages"] if m["sender"] == "resident"]
    assert any("派遣の契約が切れて" in (t or "") for t in texts)
    assert [k["decision"] for k in record["consents"]][:2] == ["granted", "granted"]
    pdf = await running.client.get(f"/api/lifecycle/cases/{case_id}/disclosure",
                                   params={"requested_by": "representative", "format": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    (tmp_path / "d.pdf").write_bytes(pdf.content)
    proc = await asyncio.create_subprocess_exec("pdftotext", str(tmp_path / "d.pdf"), "-", stdout=asyncio.subprocess.PIPE)
    shown = (await proc.communicate())[0].decode()
    assert "山田花子" in shown and "保有個人データの開示" in shown and "派遣の契約が切れて" in shown
    assert [a.detail["requested_by"] for a in await _audit(running, "disclosure_exported")] == ["resident", "representative"]

    # a legal hold stops the erasure until it is lifted
    assert (await running.client.post(f"/api/lifecycle/cases/{case_id}/legal-hold", json={"hold": True})).status_code == 204
    held = await running.client.post(f"/api/lifecycle/cases/{case_id}/erasure",
                                     json={"requested_by": "resident", "reason": "erasure_request"})
    assert held.status_code == 409
    await running.client.post(f"/api/lifecycle/cases/{case_id}/legal-hold", json={"hold": False})
    done = await running.client.post(f"/api/lifecycle/cases/{case_id}/erasure",
                                     json={"requested_by": "resident", "reason": "erasure_request"})
    assert done.status_code == 200, done.text
    assert done.json()["keys_destroyed"] == 1
    async with transaction(running.ctx.sessions) as s:
        assert await s.get(Case, case_id) is None
    erased = await _audit(running, "resident_erased")
    assert erased[0].detail["requested_by"] == "resident" and erased[0].actor_id is not None
    assert "山田花子" not in str(erased[0].detail)
    gone = await running.client.get(f"/api/lifecycle/cases/{case_id}/disclosure", params={"requested_by": "resident"})
    assert gone.status_code == 404


async def test_a_withdrawal_given_on_the_phone_is_recorded_by_a_counsellor(running_sqlite) -> None:
    running = running_sqlite
    _, reply = await run_intake(running.client)
    case_id = reply["case_id"]
    await make_counsellor(running.ctx, "sato")
    await login(running.client, "sato")
    r = await running.client.post(f"/api/lifecycle/cases/{case_id}/withdrawal", json={"kind": "use", "channel": "phone"})
    assert r.status_code == 201, r.text
    async with transaction(running.ctx.sessions) as s:
        rec = await s.get(ConsentRecord, r.json()["consent_record_id"])
        assert (rec.kind, rec.decision, rec.channel, rec.language) == ("use", "withdrawn", "phone", "ja")
        assert rec.recorded_by is not None and len(rec.wording_hash) == 64
        assert (await s.get(Case, case_id)).status == "withdrawn"


async def test_an_incident_is_recorded_notified_and_exported(running_sqlite, smtp_sink: SmtpSink) -> None:
    running = running_sqlite
    ctx = running.ctx
    base = ctx.profiles
    ctx.profiles = ProfileRegistry({p.id: p.model_copy(update={"incident_contacts": ["kojin-joho@city.minato.example.lg.jp"]})
                                    for p in base.all()}, base.default_id)
    ctx.settings = ctx.settings.model_copy(update={"smtp_host": smtp_sink.host, "smtp_port": smtp_sink.port,
                                                   "smtp_starttls": False, "smtp_from": "madoguchi@example.lg.jp"})
    await make_counsellor(ctx, "lead", role="lead")
    await login(running.client, "lead")
    r = await running.client.post("/api/lifecycle/incidents", json={
        "profile_id": "minato-tokyo", "summary": "相談記録の印刷物1枚を電車内で紛失 <b>要確認</b>",
        "data_kinds": ["氏名", "相談内容"], "case_numbers": ["2026-000001", "2026-000002"],
        "measures": "鉄道会社に遺失届を提出", "occurred_at": "2026-11-30T09:00:00+09:00"})
    assert r.status_code == 201, r.text
    incident_id = r.json()["id"]
    mails = await smtp_sink.wait_for(1)
    assert mails[0].rcpt_tos == ["kojin-joho@city.minato.example.lg.jp"]
    body = mails[0].message.get_body().get_content()
    assert "電車内で紛失" in body and "対象となる方の人数: 2" in body and "2026-000001" not in body
    await running.client.post(f"/api/lifecycle/incidents/{incident_id}/timeline",
                              json={"entry": "遺失物として届け出があり回収", "status": "contained"})
    export = await running.client.get(f"/api/lifecycle/incidents/{incident_id}")
    data = export.json()
    assert data["status"] == "contained" and data["notified_at"] and data["resident_count"] == 2
    assert [e["entry"] for e in data["timeline"]] == ["recorded", "municipality notified",
                                                      "遺失物として届け出があり回収 [status: contained]"]
    async with transaction(ctx.sessions) as s:
        raw = (await s.execute(text("SELECT summary, timeline FROM incident_record"))).one()
        assert raw[0].startswith("v1.") and "紛失" not in raw[0] and "回収" not in raw[1]  # encrypted at rest
