"""The handoff API on SQLite and on PostgreSQL + Redis: queue, claim race, live relay, transfer,
release, close, case notes/status/programmes, audit, and refusals."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import select

from casecore.db import transaction
from casecore.models import AuditEvent, CaseStatusChange, Conversation, Message
from tests.conftest import Running
from tests.handoff_helpers import (
    audit_actions,
    closed_resident_view,
    counsellor_client,
    resident_headers,
    resident_messages,
    waiting_after_intake,
    waiting_in_english,
)
from tests.helpers import send

ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/queue", None),
    ("GET", "/api/canned", None),
    ("GET", "/api/conversations/1", None),
    ("POST", "/api/conversations/1/claim", None),
    ("POST", "/api/conversations/1/messages", {"text": "こんにちは"}),
    ("POST", "/api/conversations/1/transfer", {"to_login": "sato"}),
    ("POST", "/api/conversations/1/typing", None),
    ("POST", "/api/conversations/1/release", None),
    ("POST", "/api/conversations/1/close", None),
    ("POST", "/api/cases/1/notes", {"text": "メモ"}),
    ("POST", "/api/cases/1/status", {"action": "assess"}),
    ("POST", "/api/cases/1/programmes", {"accepted": []}),
]


async def test_nothing_without_login(running_sqlite: Running) -> None:
    client = running_sqlite.client
    session = await waiting_after_intake(client)
    transport = httpx.ASGITransport(app=running_sqlite.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver",
                                 cookies={"madoguchi_session": "forged"}) as forged:
        for method, path, body in ROUTES:
            path = path.replace("/1", f"/{session['session_id']}")
            r = await client.request(method, path, json=body)
            assert r.status_code == 401, (method, path, r.status_code)
            r = await forged.request(method, path, json=body)
            assert r.status_code == 401, (method, path, r.status_code)
    async with transaction(running_sqlite.ctx.sessions) as s:
        conv = await s.get(Conversation, session["session_id"])
        assert conv is not None and conv.status == "waiting" and conv.owner_counsellor_id is None


async def test_queue_shows_the_waiting_resident_without_their_words(running: Running) -> None:
    client = running.client
    async with counsellor_client(running, "sato") as sato:
        session = await waiting_after_intake(client)
        english = await waiting_in_english(client)
        q = (await sato.get("/api/queue")).json()
        ids = [i["id"] for i in q["waiting"]]
        assert ids == [session["session_id"], english["session_id"]]  # neither urgent: oldest first
        first = q["waiting"][0]
        assert first["language"] == "ja" and first["channel"] == "webchat"
        assert first["categories"] == ["debt", "job"]
        assert first["share_consent"] == "granted"
        assert first["case_number"] and first["case_id"]
        assert first["target_seconds"] == 30 * 60 and 0 <= first["waited_seconds"] < 60
        assert first["over_target"] is False
        assert q["waiting"][1]["language"] == "en" and q["waiting"][1]["case_id"] is None
        assert "山田" not in str(q) and "派遣" not in str(q)

        # an urgent resident goes to the front
        urgent = await waiting_in_english(client)
        async with transaction(running.ctx.sessions) as s:
            conv = await s.get(Conversation, urgent["session_id"])
            assert conv is not None
            conv.urgent = True
        q = (await sato.get("/api/queue")).json()
        assert q["waiting"][0]["id"] == urgent["session_id"]


async def test_simultaneous_claims_one_wins(running: Running) -> None:
    client = running.client
    async with counsellor_client(running, "sato") as sato, counsellor_client(running, "suzuki") as suzuki, \
            counsellor_client(running, "tanaka") as tanaka:
        clients = [sato, suzuki, tanaka]
        for _ in range(4):
            session = await waiting_in_english(client)
            cid = session["session_id"]
            answers = await asyncio.gather(*(c.post(f"/api/conversations/{cid}/claim") for c in clients))
            assert sorted(a.status_code for a in answers) == [200, 409, 409], [a.text for a in answers]
            winner = next(a for a in answers if a.status_code == 200)
            for loser in (a for a in answers if a.status_code == 409):
                assert loser.json()["detail"]["holder"]["login"] == winner.json()["owner"]["login"]
            async with transaction(running.ctx.sessions) as s:
                conv = await s.get(Conversation, cid)
                assert conv is not None and conv.status == "counsellor" and conv.waiting_since is None
                assert conv.owner_counsellor_id == winner.json()["owner"]["id"]
                claims = (await s.scalars(select(AuditEvent).where(
                    AuditEvent.action == "conversation_claimed", AuditEvent.target_id == str(cid)))).all()
                assert len(claims) == 1
            q = (await sato.get("/api/queue")).json()
            assert cid not in [i["id"] for i in q["waiting"]]
            assert cid in [i["id"] for i in q["held"]]
            # exactly one "counsellor joined" notice went to the resident
            joined = [m for m in (await resident_messages(client, session))["messages"] if m["sender"] == "system"]
            assert len(joined) == 1


async def test_live_conversation_in_two_languages(running: Running) -> None:
    client = running.client
    async with counsellor_client(running, "sato") as sato:
        session = await waiting_in_english(client)
        cid = session["session_id"]
        assert (await sato.post(f"/api/conversations/{cid}/claim")).status_code == 200

        # the bot is silent while a counsellor holds the conversation
        reply = await send(client, session, "text", "I lost my job and cannot pay the rent. <b>help</b>")
        assert reply["messages"] == [] and reply["conversation_status"] == "counsellor"

        r = await sato.post(f"/api/conversations/{cid}/messages", json={"text": "お話を聞かせてください。"})
        assert r.status_code == 201, r.text
        sent = r.json()["message"]
        # no translation model here (or no translator at all): the Japanese goes out
        # untranslated, and is marked so
        assert sent["text"] == "お話を聞かせてください。" and sent["translation"] is None
        assert sent["translation_status"] == ("untranslated" if running.ctx.router.translator else "unavailable")

        r = await sato.post(f"/api/conversations/{cid}/messages", json={"canned": "documents"})
        assert r.status_code == 201, r.text
        canned = r.json()["message"]
        assert canned["text"].startswith("来所のときは") and canned["translation"].startswith("When you come")
        assert canned["translation_status"] == "canned"

        # the resident reads the counsellor's messages in order, the canned one in English
        seen = (await resident_messages(client, session))["messages"]
        from_counsellor = [m["text"] for m in seen if m["sender"] == "counsellor"]
        assert from_counsellor == ["お話を聞かせてください。", canned["translation"]]
        joined = [m for m in seen if m["sender"] == "system"]
        assert joined and joined[0]["text"].startswith("A counsellor has joined")

        # the console's transcript keeps both sides, originals and translations
        t = (await sato.get(f"/api/conversations/{cid}")).json()
        texts = [(m["sender"], m["text"], m["translation"]) for m in t["transcript"]]
        assert ("resident", "I lost my job and cannot pay the rent. <b>help</b>", None) in texts
        assert ("counsellor", canned["text"], canned["translation"]) in texts
        assert ("system", "A counsellor has joined the chat and will answer you from now on.",
                "相談員がチャットに入りました。ここからは相談員がお返事します。") in texts
        assert t["conversation"]["mine"] is True and t["needs_translation"] is True
        assert t["translation_available"] is False
        assert [c["key"] for c in t["canned"]][:2] == ["hello", "take_time"]

        actions = [a for a, _ in await audit_actions(running.ctx, "conversation", cid)]
        assert actions.count("message_sent") == 2
        assert {"conversation_claimed", "read_transcript", "notice_sent"} <= set(actions)


async def test_only_the_owner_talks_and_bad_input_is_refused(running: Running) -> None:
    client = running.client
    async with counsellor_client(running, "sato") as sato, counsellor_client(running, "suzuki") as suzuki:
        session = await waiting_in_english(client)
        cid = session["session_id"]
        r = await sato.post(f"/api/conversations/{cid}/messages", json={"text": "まだ担当していません"})
        assert r.status_code == 409
        await sato.post(f"/api/conversations/{cid}/claim")
        r = await suzuki.post(f"/api/conversations/{cid}/messages", json={"text": "横から失礼します"})
        assert r.status_code == 403 and r.json()["detail"]["holder"]["login"] == "sato"
        for body in ({"text": "   "}, {}, {"text": "a", "canned": "hello"}, {"canned": "no_such_key"},
                     {"canned": "../etc"}, {"text": "あ" * (running.settings.max_message_chars + 1)}):
            r = await sato.post(f"/api/conversations/{cid}/messages", json=body)
            assert r.status_code == 422, (body, r.text)
            assert "あああ" not in r.text
        r = await sato.post(f"/api/conversations/{cid}/messages", content=b"\xff\xfe", headers={"content-type": "application/json"})
        assert r.status_code == 422
        assert (await sato.post("/api/conversations/999999/claim")).status_code == 404
        assert (await suzuki.post(f"/api/conversations/{cid}/release")).status_code == 403
        assert (await suzuki.post(f"/api/conversations/{cid}/transfer", json={"to_login": "suzuki"})).status_code == 403
        assert (await sato.post(f"/api/conversations/{cid}/transfer", json={"to_login": "nobody"})).status_code == 422
        # emoji and markup go through untouched
        r = await sato.post(f"/api/conversations/{cid}/messages", json={"text": "😀 <script>x</script> 𠮷"})
        assert r.status_code == 201 and r.json()["message"]["text"] == "😀 <script>x</script> 𠮷"
        async with transaction(running.ctx.sessions) as s:
            sent = (await s.scalars(select(Message).where(Message.conversation_id == cid, Message.sender == "counsellor"))).all()
            assert [m.text for m in sent] == ["😀 <script>x</script> 𠮷"]


async def test_transfer_release_and_close(running: Running) -> None:
    client = running.client
    async with counsellor_client(running, "sato") as sato, counsellor_client(running, "suzuki") as suzuki:
        session = await waiting_after_intake(client)
        cid = session["session_id"]
        await sato.post(f"/api/conversations/{cid}/claim")
        r = await sato.post(f"/api/conversations/{cid}/transfer", json={"to_login": "suzuki"})
        assert r.status_code == 200 and r.json()["owner"]["login"] == "suzuki"
        assert (await sato.post(f"/api/conversations/{cid}/messages", json={"text": "x"})).status_code == 403
        assert (await suzuki.post(f"/api/conversations/{cid}/messages", json={"text": "鈴木が代わります。"})).status_code == 201

        # issue 14: the intake is done, so a release puts it back in the queue (never orphaned)
        assert (await suzuki.post(f"/api/conversations/{cid}/release", json={"to": "bot"})).status_code == 409
        r = await suzuki.post(f"/api/conversations/{cid}/release")
        assert r.status_code == 200 and r.json()["status"] == "waiting"
        reply = await send(client, session, "text", "まだいますか")
        assert reply["conversation_status"] == "waiting"
        assert cid in {i["id"] for i in (await sato.get("/api/queue")).json()["waiting"]}

        # claimed again, and the conversation is closed with a message
        assert (await suzuki.post(f"/api/conversations/{cid}/claim")).status_code == 200
        r = await suzuki.post(f"/api/conversations/{cid}/close", json={"message": "本日はありがとうございました。"})
        assert r.status_code == 200 and r.json()["status"] == "closed"
        seen = await closed_resident_view(running, session)
        assert seen["conversation_status"] == "closed"
        # the closing words, then the survey's invitation (issue 15)
        assert seen["messages"][-2]["text"] == "本日はありがとうございました。"
        assert seen["messages"][-1]["kind"] == "survey"
        assert [c["id"] for c in seen["messages"][-1]["choices"]] == ["survey_answer", "survey_skip"]
        r = await client.post(f"/api/webchat/sessions/{cid}/messages", json={"text": "もう一度"}, headers=resident_headers(session))
        assert r.status_code == 409
        assert (await suzuki.post(f"/api/conversations/{cid}/close")).status_code == 409

        actions = [a for a, _ in await audit_actions(running.ctx, "conversation", cid)]
        for a in ("conversation_claimed", "conversation_transferred", "conversation_requeued", "conversation_closed"):
            assert a in actions, a


async def test_a_lead_may_close_a_colleagues_conversation(running_sqlite: Running) -> None:
    client = running_sqlite.client
    async with counsellor_client(running_sqlite, "sato") as sato, \
            counsellor_client(running_sqlite, "lead1", role="lead") as lead, \
            counsellor_client(running_sqlite, "suzuki") as suzuki:
        session = await waiting_in_english(client)
        cid = session["session_id"]
        await sato.post(f"/api/conversations/{cid}/claim")
        body = {"message": "本日の相談はここまでです。"}
        assert (await suzuki.post(f"/api/conversations/{cid}/close", json=body)).status_code == 403
        assert (await lead.post(f"/api/conversations/{cid}/messages", json={"text": "x"})).status_code == 403
        assert (await lead.post(f"/api/conversations/{cid}/close", json=body)).status_code == 200
        seen = await closed_resident_view(running_sqlite, session)
        assert seen["conversation_status"] == "closed" and seen["messages"][-2]["text"] == "本日の相談はここまでです。"
        actions = await audit_actions(running_sqlite.ctx, "conversation", cid)
        lead_id = (await lead.get("/api/auth/me")).json()["id"]
        assert ("conversation_closed", lead_id) in actions and ("message_sent", lead_id) in actions


async def test_close_without_a_message_sends_the_standard_closing(running_sqlite: Running) -> None:
    client = running_sqlite.client
    async with counsellor_client(running_sqlite, "sato") as sato:
        session = await waiting_in_english(client)
        cid = session["session_id"]
        await sato.post(f"/api/conversations/{cid}/claim")
        assert (await sato.post(f"/api/conversations/{cid}/close")).status_code == 200
        last = (await closed_resident_view(running_sqlite, session))["messages"][-2]  # before the survey invitation
        assert last["sender"] == "system" and "ended" in last["text"].lower()


async def test_case_notes_status_and_programmes(running: Running) -> None:
    client = running.client
    async with counsellor_client(running, "sato") as sato:
        session = await waiting_after_intake(client)
        cid = session["session_id"]
        assert (await sato.post(f"/api/conversations/{cid}/claim")).status_code == 200  # need-to-know
        case_id = (await sato.get(f"/api/conversations/{cid}")).json()["case"]["id"]

        r = await sato.post(f"/api/cases/{case_id}/notes", json={"text": "家賃の滞納2か月。<img src=x onerror=alert(1)>"})
        assert r.status_code == 201
        assert (await sato.post(f"/api/cases/{case_id}/notes", json={"text": "  "})).status_code == 422
        assert (await sato.post("/api/cases/999999/notes", json={"text": "x"})).status_code == 404

        r = await sato.post(f"/api/cases/{case_id}/status", json={"action": "assess", "reason": "初回面談を設定"})
        assert r.status_code == 200 and r.json()["status"] == "assessing"
        assert "support" in r.json()["allowed_actions"]
        r = await sato.post(f"/api/cases/{case_id}/status", json={"action": "assess"})
        assert r.status_code == 409 and "cannot assess" in r.json()["detail"]["error"]
        assert (await sato.post(f"/api/cases/{case_id}/status", json={"action": "explode"})).status_code == 409

        view = (await sato.get(f"/api/conversations/{cid}")).json()
        rec = view["case"]["recommended_programmes"]
        assert "kakei_kaizen" in rec
        r = await sato.post(f"/api/cases/{case_id}/programmes", json={"accepted": [*rec, "jukyo_kakuho"]})
        assert r.status_code == 200 and r.json()["accepted_programmes"][-1] == "jukyo_kakuho"
        assert (await sato.post(f"/api/cases/{case_id}/programmes", json={"accepted": ["nope"]})).status_code == 422

        view = (await sato.get(f"/api/conversations/{cid}")).json()
        case = view["case"]
        assert case["status"] == "assessing" and case["accepted_programmes"][-1] == "jukyo_kakuho"
        assert case["notes"][0]["text"].startswith("家賃の滞納2か月") and case["notes"][0]["author"] == "sato"
        assert case["status_history"] == [{**case["status_history"][0], "from": "new", "to": "assessing", "reason": "初回面談を設定"}]
        assert case["face_sheet"]["name"] == "山田花子"
        kinds = {(c["kind"], c["decision"]) for c in view["consents"]}
        assert {("use", "granted"), ("share_agencies", "granted")} <= kinds
        assert all(c["wording_version"] for c in view["consents"])

        # the private note never reaches the resident
        seen = await resident_messages(client, session)
        assert "滞納2か月" not in str(seen) and "onerror" not in str(seen)
        async with transaction(running.ctx.sessions) as s:
            change = (await s.scalars(select(CaseStatusChange).where(CaseStatusChange.case_id == case_id))).one()
            assert change.reason == "初回面談を設定" and change.counsellor_id is not None
        actions = {a for a, _ in await audit_actions(running.ctx, "case", case_id)}
        assert {"case_note_added", "case_status_changed", "case_programmes_set", "read_case"} <= actions


class TypingSender:
    """A channel whose app shows a typing indicator (the optional `show_typing` hook)."""

    channel = "telegram"

    def __init__(self) -> None:
        self.typing: list[int] = []

    async def send(self, target: Any, messages: Any) -> None:
        raise AssertionError("nothing is sent by a typing indicator")

    async def show_typing(self, target: Any) -> None:
        self.typing.append(target.conversation_id)


async def test_typing_indicator_reaches_web_chat_and_channel_hooks(running_sqlite: Running) -> None:
    from handoff.hub import conversation_topic

    running = running_sqlite
    client = running.client
    async with counsellor_client(running, "sato") as sato, counsellor_client(running, "suzuki") as suzuki:
        session = await waiting_in_english(client)
        cid = session["session_id"]
        assert (await sato.post(f"/api/conversations/{cid}/typing")).status_code == 409  # not claimed yet
        await sato.post(f"/api/conversations/{cid}/claim")
        assert (await suzuki.post(f"/api/conversations/{cid}/typing")).status_code == 403
        async with running.ctx.hub.subscribe(conversation_topic(cid)) as q:
            r = await sato.post(f"/api/conversations/{cid}/typing")
            assert r.status_code == 202 and r.json()["channel_indicator"] is False  # the web chat has no sender
            event = await asyncio.wait_for(q.get(), 2)
            assert event == {"type": "typing", "conversation_id": cid, "sender": "counsellor"}
        # a channel whose sender has the hook shows its own indicator
        sender = TypingSender()
        running.ctx.router.senders.register(sender)
        async with transaction(running.ctx.sessions) as s:
            conv = await s.get(Conversation, cid)
            assert conv is not None
            conv.channel = "telegram"
        r = await sato.post(f"/api/conversations/{cid}/typing")
        assert r.json()["channel_indicator"] is True and sender.typing == [cid]


async def test_counsellors_see_only_their_municipalities(running_sqlite: Running) -> None:
    """A counsellor assigned to Osaka's Minato ward neither sees nor touches a Tokyo resident."""
    running = running_sqlite
    client = running.client
    async with counsellor_client(running, "sato") as sato, \
            counsellor_client(running, "osaka1", profiles=["minato-osaka"]) as osaka:
        session = await waiting_after_intake(client)  # the default profile: minato-tokyo
        cid = session["session_id"]
        case_id = (await sato.get(f"/api/conversations/{cid}")).json()["conversation"]["case_id"]  # triage: the id only
        assert cid not in [i["id"] for i in (await osaka.get("/api/queue")).json()["waiting"]]
        assert (await osaka.get(f"/api/conversations/{cid}")).status_code == 404
        assert (await osaka.post(f"/api/conversations/{cid}/claim")).status_code == 404
        assert (await osaka.post(f"/api/cases/{case_id}/notes", json={"text": "x"})).status_code == 404
        assert (await osaka.post(f"/api/cases/{case_id}/status", json={"action": "assess"})).status_code == 404
        assert (await sato.post(f"/api/conversations/{cid}/claim")).status_code == 200
        r = await sato.post(f"/api/conversations/{cid}/transfer", json={"to_login": "osaka1"})
        assert r.status_code == 422 and "not assigned" in r.json()["detail"]["error"]
        assert cid not in [i["id"] for i in (await osaka.get("/api/queue")).json()["held"]]
