"""Case work after the intake through the API (issue 13): triage, referrals only with the
sharing consent (a later withdrawal wins), assessment and plan versions encrypted at rest,
the 支援調整会議 approval and the reviews it schedules, a reminder on its day, search by
phone and name through the blind index only, reopening, the 相談受付票 PDF and the report."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import select, text

from casecore.casework.schedule import add_months, local_today
from casecore.db import transaction
from casecore.models import AuditEvent
from casecore.reporting import figures as F
from casecore.types import utcnow
from dialogs.types import RecordConsent
from handoff.actions import consent as consent_actions
from tests.conftest import Running
from tests.handoff_helpers import counsellor_client
from tests.helpers import JAPANESE_INTAKE, run_intake

ASSESSMENT = {
    "daily_life": "夜勤明けで昼夜逆転。食事は1日1回 🍙",
    "debts": [["消費者金融A", "48万円", "2万円", "滞納2か月"], ["家賃", "15万円", "", "<b>退去通知</b>"]],
    "money_management": "一部支援が必要",
    "housing_type": "賃貸",
    "work_history": [["2019–2025", "倉庫の仕分け", "派遣", "契約満了"]],
    "own_goals": "正社員として働き、家賃を滞納せずに暮らしたい",
    "issue_areas": ["住まい", "家計・債務", "就労"],
}
PLAN = {
    "policy": "住居を確保し、家計を立て直しながら就労を目指す",
    "person_agreed": "同意を得た",
    "short_goals": [["住居確保給付金の申請", "2週間", "申請完了"]],
    "services": ["住居確保給付金", "家計改善支援事業", "就労支援員による就労支援"],
    "roles": [["ハローワーク同行", "就労支援員", "週1回"], ["家計表の作成", "本人", "毎月"]],
    "review_date": "2027-03-01",
}
CASEWORK_TABLES = ("casework_triage", "casework_referral", "casework_document", "casework_review", "casework_search_key")
SECRETS = ["昼夜逆転", "消費者金融A", "退去通知", "正社員として働き", "住居を確保し", "ハローワーク同行"]


async def _case_held_by(running: Running, client: httpx.AsyncClient, steps: list[tuple[str, str]]) -> int:
    """A resident finishes the intake; the counsellor claims the conversation, as at the desk."""
    session, reply = await run_intake(running.client, steps)
    assert reply["conversation_status"] == "waiting"
    r = await client.post(f"/api/conversations/{session['session_id']}/claim")
    assert r.status_code == 200, r.text
    r = await client.get(f"/api/conversations/{session['session_id']}")
    case = r.json()["case"]
    assert all(rec["because"] for rec in case["routing"]["recommended"])  # the console's face sheet too
    return case["id"]


def _without_share(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out = list(steps)
    out[-2] = ("choice", "no")  # consent to share with agencies: no
    return out


async def test_triage_referral_consent_and_report(running_sqlite: Running) -> None:
    running = running_sqlite
    async with counsellor_client(running, "sato") as sato:
        case_id = await _case_held_by(running, sato, JAPANESE_INTAKE)
        work = (await sato.get(f"/api/casework/cases/{case_id}")).json()
        names = [r["name"] for r in work["routing"]["recommended"]]
        assert any(n.startswith("ア") for n in names) and any(n.startswith("エ") for n in names)
        debt = next(r for r in work["routing"]["recommended"] if r["id"] == "kakei_kaizen")
        assert "借金・滞納" in debt["because"][0]
        assert work["sharing_consent"] == "granted"
        assert {a["id"] for a in work["agencies"]} >= {"welfare_office", "hello_work", "shakyo", "hikikomori_desk"}

        r = await sato.post(f"/api/casework/cases/{case_id}/triage", json={"outcome": "referral", "reason": "就労はハローワークで"})
        assert r.status_code == 201 and r.json()["triage"]["label"] == "他機関へつなぐ"
        r = await sato.post(f"/api/casework/cases/{case_id}/referrals",
                            json={"agency": "hello_work", "items": ["face_sheet", "contact"], "note": "求職登録の同行予定"})
        assert r.status_code == 201, r.text
        ref = r.json()["referral"]
        assert ref["agency_name"] == "ハローワーク品川" and ref["acceptance"] == "pending"
        r = await sato.patch(f"/api/casework/cases/{case_id}/referrals/{ref['id']}",
                             json={"acceptance": "accepted", "outcome": "求職登録済み、職業訓練を案内"})
        assert r.json()["referral"]["acceptance_label"] == "受け入れ" and r.json()["referral"]["outcome"]
        assert (await sato.post(f"/api/casework/cases/{case_id}/referrals",
                                json={"agency": "nowhere", "items": ["face_sheet"]})).status_code == 422
        work = (await sato.get(f"/api/casework/cases/{case_id}")).json()
        assert work["status"] == "referred" and work["triage"][-1]["outcome"] == "referral"

        # The resident withdraws the sharing consent: the later row wins, the next referral is refused
        async with transaction(running.ctx.sessions) as s:
            conv_id = (await s.execute(text("select id from conversation where case_id = :c"), {"c": case_id})).scalar()
        me = (await sato.get("/api/auth/me")).json()
        from casecore.models import Counsellor
        async with transaction(running.ctx.sessions) as s:
            actor = await s.get(Counsellor, me["id"] if "id" in me else me["counsellor"]["id"])
        await consent_actions.record(running.ctx, conv_id, actor, RecordConsent(
            consent_kind="share_agencies", decision="withdrawn", wording_version="2026.1", wording_hash="x" * 64,
            language="ja"))
        r = await sato.post(f"/api/casework/cases/{case_id}/referrals", json={"agency": "shakyo", "items": ["face_sheet"]})
        assert r.status_code == 403 and r.json()["detail"]["consent"] == "withdrawn"

        # A resident who said no to sharing is never referred
        other = await _case_held_by(running, sato, _without_share(JAPANESE_INTAKE))
        r = await sato.post(f"/api/casework/cases/{other}/referrals", json={"agency": "welfare_office", "items": ["face_sheet"]})
        assert r.status_code == 403 and r.json()["detail"]["consent"] == "declined"

    async with transaction(running.ctx.sessions) as s:
        actions = [a for a, in (await s.execute(select(AuditEvent.action))).all()]
        assert {"read_casework", "case_triaged", "case_referred", "referral_updated", "case_referral_refused"} <= set(actions)
        start = utcnow() - timedelta(days=1)
        fig = await F.compute(s, "minato-tokyo", start, utcnow() + timedelta(minutes=1), [])
    assert fig.triage == {"referral": 1, "unknown": 1}
    assert fig.referrals == {"hello_work": 1}


async def _raw(running: Running, sql: str, **params: Any) -> list[Any]:
    async with transaction(running.ctx.sessions) as s:
        return [tuple(r) for r in (await s.execute(text(sql), params)).all()]


async def test_assessment_plan_versions_encrypted_approval_and_reviews(running_sqlite: Running) -> None:
    running = running_sqlite
    async with counsellor_client(running, "sato") as sato, counsellor_client(running, "kimura", "lead") as lead:
        case_id = await _case_held_by(running, sato, JAPANESE_INTAKE)
        base = f"/api/casework/cases/{case_id}/documents"
        r = await sato.put(f"{base}/assessment", json={"content": ASSESSMENT})
        assert r.status_code == 200 and r.json()["document"]["version"] == 1, r.text
        edited = {**ASSESSMENT, "own_goals": "まずは体調を整えて、週3日から働きたい"}
        assert (await sato.put(f"{base}/assessment", json={"content": edited})).status_code == 409  # stale base
        r = await sato.put(f"{base}/assessment", json={"content": edited, "base_version": 1})
        assert r.json()["document"]["version"] == 2
        assert (await sato.put(f"{base}/assessment", json={"content": {"religion": "x"}, "base_version": 2})).status_code == 422
        assert (await sato.put(f"{base}/assessment", json={"content": {"housing_type": "城"}, "base_version": 2})).status_code == 422
        r = await sato.put(f"{base}/plan", json={"content": PLAN})
        assert r.status_code == 200

        work = (await sato.get(f"/api/casework/cases/{case_id}")).json()
        latest = work["documents"]["assessment"]["latest"]
        assert latest["version"] == 2 and latest["content"]["debts"][1][3] == "<b>退去通知</b>"
        assert latest["template_version"] == "2026.1"
        assert [v["version"] for v in work["documents"]["assessment"]["versions"]] == [2, 1]
        v1 = (await sato.get(f"{base}/assessment/1")).json()["document"]
        assert v1["content"]["own_goals"] == ASSESSMENT["own_goals"]

        # Raw rows: ciphertext only
        raw = await _raw(running, "select content from casework_document")
        assert len(raw) == 3 and all(c.startswith("v2.r") for c, in raw)  # sealed under the resident's own key
        dump = " ".join(str(r) for r in raw)
        assert not any(secret in dump for secret in SECRETS)

        # The 支援調整会議: only a lead records it; its date schedules the 3/6/12-month reviews
        meeting = date(2026, 11, 30)
        assert (await sato.post(f"{base}/plan/1/approve", json={"meeting_on": meeting.isoformat()})).status_code == 403
        r = await lead.post(f"{base}/plan/1/approve", json={"meeting_on": meeting.isoformat(), "note": "承認。家計を優先"})
        assert r.status_code == 200 and r.json()["document"]["approved_on"] == "2026-11-30", r.text
        work = (await sato.get(f"/api/casework/cases/{case_id}")).json()
        plan_reviews = [x for x in work["reviews"] if x["kind"] == "plan_review"]
        assert [x["due_on"] for x in plan_reviews] == ["2027-02-28", "2027-05-30", "2027-11-30"]

        # A job placement a month ago (to the day): the 1-month follow-up is today's reminder
        today = local_today(utcnow())
        placed = next(today - timedelta(days=n) for n in range(27, 32) if add_months(today - timedelta(days=n), 1) == today)
        r = await sato.post(f"/api/casework/cases/{case_id}/placement", json={"placed_on": placed.isoformat()})
        assert [x["months"] for x in r.json()["reviews"]] == [1, 3, 6, 12]
        due = (await sato.get("/api/casework/reviews/today")).json()["reviews"]
        assert [(x["case_id"], x["kind"], x["months"], x["state"]) for x in due] == [(case_id, "job_followup", 1, "today")]
        # Reminders are the counsellor's own; the lead sees the centre's on asking (scope=all);
        # a colleague with no part in the case sees it in neither (need-to-know)
        assert (await lead.get("/api/casework/reviews/today")).json()["reviews"] == []
        assert [x["case_id"] for x in (await lead.get("/api/casework/reviews/today", params={"scope": "all"})).json()["reviews"]] == [case_id]
        async with counsellor_client(running, "suzuki") as suzuki:
            for scope in ("mine", "all"):
                assert (await suzuki.get("/api/casework/reviews/today", params={"scope": scope})).json()["reviews"] == []
        # Overdue: a placement 14 months ago leaves four follow-ups overdue, listed for the lead only
        await sato.post(f"/api/casework/cases/{case_id}/placement", json={"placed_on": (today - timedelta(days=430)).isoformat()})
        assert (await sato.get("/api/casework/reviews/overdue")).status_code == 403
        overdue = (await lead.get("/api/casework/reviews/overdue")).json()["reviews"]
        assert len(overdue) == 4 and all(x["state"] == "overdue" for x in overdue)
        r = await sato.post(f"/api/casework/cases/{case_id}/reviews/{overdue[0]['id']}/done", json={"note": "電話で定着を確認"})
        assert r.json()["review"]["state"] == "done"
        assert len((await lead.get("/api/casework/reviews/overdue")).json()["reviews"]) == 3
        listed = (await sato.get("/api/casework/cases", params={"overdue": "true"})).json()
        assert [c["id"] for c in listed["cases"]] == [case_id] and listed["cases"][0]["overdue_review"]
        raw_notes = await _raw(running, "select note from casework_review where note is not null")
        assert raw_notes and "定着" not in str(raw_notes)


async def test_search_by_phone_and_name_without_plaintext_and_reopen(running: Running) -> None:
    async with counsellor_client(running, "sato") as sato:
        case_id = await _case_held_by(running, sato, JAPANESE_INTAKE)
        steps = list(JAPANESE_INTAKE)
        steps[12] = ("text", "Nguyễn Thị Lan")
        steps[14] = ("text", "080 9876 5432")
        other = await _case_held_by(running, sato, steps)

        async def found(**params: Any) -> list[int]:
            r = await sato.get("/api/casework/cases", params=params)
            assert r.status_code == 200, r.text
            return [c["id"] for c in r.json()["cases"]]

        assert await found(q="０９０－１２３４－５６７８") == [case_id]  # full-width, dashes
        assert await found(q="+81 90 1234 5678") == [case_id]
        assert await found(q="08098765432") == [other]
        assert await found(q="山田花子") == [case_id] and await found(q="山田 花子") == [case_id]
        assert await found(q="nguyễn thị lan") == [other] and await found(q="Lan") == [other]
        assert await found(q="山田") == [case_id]  # the family name of a name written without a space
        assert await found(q="田中") == [] and await found(q="%") == []
        number = (await sato.get(f"/api/casework/cases/{other}")).json()["number"]
        assert await found(q=number) == [other]
        assert set(await found()) == {case_id, other}
        assert await found(status="closed") == []
        assert set(await found(programme="kakei_kaizen")) == {case_id, other}
        me = (await sato.get("/api/auth/me")).json()
        me_id = me.get("id") or me["counsellor"]["id"]
        assert set(await found(counsellor=me_id)) == {case_id, other}

        # No plaintext phone or name in any casework table; the search keys are HMACs
        for table in CASEWORK_TABLES:
            dump = str(await _raw(running, f"select * from {table}"))
            assert "09012345678" not in dump and "1234-5678" not in dump and "山田" not in dump, table
        keys = await _raw(running, "select kind, digest from casework_search_key where case_id = :c", c=case_id)
        assert {k for k, _ in keys} == {"name", "phone"} and all(len(d) == 64 for _, d in keys)
        async with transaction(running.ctx.sessions) as s:
            audits = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "search_cases"))).all()
        assert audits and all("1234" not in str(a.detail) and "山田" not in str(a.detail) for a in audits)

        # Close, then reopen through the case lifecycle
        assert (await sato.post(f"/api/cases/{case_id}/status", json={"action": "close", "reason": "終結"})).status_code == 200
        assert await found(status="closed") == [case_id]
        assert (await sato.post(f"/api/casework/cases/{other}/reopen", json={"reason": "再相談"})).status_code == 409
        r = await sato.post(f"/api/casework/cases/{case_id}/reopen", json={"reason": "家賃の滞納が再発"})
        assert r.status_code == 200 and r.json()["status"] == "assessing"

        # The printable 相談受付票
        r = await sato.get(f"/api/casework/cases/{case_id}/intake-sheet.pdf")
        assert r.status_code == 200 and r.content.startswith(b"%PDF") and r.headers["content-type"] == "application/pdf"
        assert len(r.content) > 5_000


async def test_out_of_scope_and_logged_out(running_sqlite: Running) -> None:
    running = running_sqlite
    async with counsellor_client(running, "sato") as sato, \
            counsellor_client(running, "osaka", profiles=["minato-osaka"]) as osaka:
        case_id = await _case_held_by(running, sato, JAPANESE_INTAKE)
        assert (await osaka.get(f"/api/casework/cases/{case_id}")).status_code == 404
        assert (await osaka.post(f"/api/casework/cases/{case_id}/triage", json={"outcome": "information"})).status_code == 404
        assert (await osaka.get(f"/api/casework/cases/{case_id}/intake-sheet.pdf")).status_code == 404
        assert (await osaka.get("/api/casework/cases", params={"q": "山田花子"})).json()["cases"] == []
    assert (await running.client.get(f"/api/casework/cases/{case_id}")).status_code == 401
    assert (await running.client.get("/api/casework/cases")).status_code == 401


async def test_a_case_opened_mid_intake_is_triaged(running_sqlite: Running) -> None:
    """A resident asks for a person before finishing the intake; the counsellor claims the
    conversation, opens a case from it and records the triage (a sure connection to the
    welfare office): no sharing consent was given, so a referral is refused."""
    from tests.handoff_helpers import waiting_in_english

    running = running_sqlite
    async with counsellor_client(running, "sato") as sato:
        session = await waiting_in_english(running.client)
        assert (await sato.post(f"/api/conversations/{session['session_id']}/claim")).status_code == 200
        r = await sato.post(f"/api/conversations/{session['session_id']}/case")
        assert r.status_code == 201, r.text
        case_id = r.json()["case_id"]
        work = (await sato.get(f"/api/casework/cases/{case_id}")).json()
        confirm = {c for rec in work["routing"]["recommended"] for c in rec["confirm"]}
        assert any("住まいが未回答" in c for c in confirm)  # nothing answered: nothing ruled out, all to confirm
        r = await sato.post(f"/api/casework/cases/{case_id}/triage",
                            json={"outcome": "welfare_office", "reason": "所持金がなく、今夜の食事もない"})
        assert r.status_code == 201
        work = (await sato.get(f"/api/casework/cases/{case_id}")).json()
        assert work["status"] == "referred" and work["sharing_consent"] is None
        r = await sato.post(f"/api/casework/cases/{case_id}/referrals", json={"agency": "welfare_office", "items": ["face_sheet"]})
        assert r.status_code == 403 and r.json()["detail"]["consent"] == "none"
        raw = await _raw(running, "select reason from casework_triage where case_id = :c", c=case_id)
        assert raw[0][0].startswith("v2.r") and "所持金" not in raw[0][0]
