"""Issue 14, the busy centre's console API (SQLite, in process): release never orphans a
conversation, every conversation is in a list, reopen; unread counts; private timeline notes;
canned replies leads edit in every language; the translation preview and the clear state
without a model; the face sheet's conversation side; urgent escalation; presence and
automatic assignment by language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text, update

from casecore.db import transaction
from casecore.desk import DeskEscalation
from casecore.models import Conversation, Counsellor
from casecore.types import utcnow
from handoff import waiting
from tests.conftest import Running
from tests.handoff_helpers import (
    counsellor_client,
    resident_messages,
    waiting_after_intake,
    waiting_in_english,
)
from tests.helpers import send


def _ids(view: dict[str, Any], name: str) -> set[int]:
    return {i["id"] for i in view[name]}


async def _overview(client: Any) -> dict[str, Any]:
    r = await client.get("/api/console/overview")
    assert r.status_code == 200, r.text
    return r.json()


async def _resident_texts(client: Any, session: dict[str, Any]) -> list[str]:
    return [m["text"] or "" for m in (await resident_messages(client, session))["messages"]]


async def test_release_reopen_and_every_list(running: Running) -> None:
    """On SQLite and on PostgreSQL + Redis (the unread counts are one outer-joined query)."""
    running_sqlite = running
    client = running.client
    async with counsellor_client(running, "sato") as sato, counsellor_client(running, "suzuki") as suzuki:
        done = await waiting_after_intake(client)  # Japanese, intake finished (a case)
        cid = done["session_id"]
        assert (await sato.post(f"/api/conversations/{cid}/claim")).status_code == 200
        assert cid in _ids(await _overview(sato), "mine") and cid in _ids(await _overview(suzuki), "held")
        # the intake is done: the bot has nothing to ask, so "to the bot" is refused …
        r = await sato.post(f"/api/conversations/{cid}/release", json={"to": "bot"})
        assert r.status_code == 409 and "queue" in r.json()["detail"]["error"]
        # … and a release puts it back in the queue, where a colleague sees and claims it
        r = await sato.post(f"/api/conversations/{cid}/release")
        assert r.status_code == 200 and r.json()["status"] == "waiting"
        assert cid in _ids(await _overview(suzuki), "waiting")
        assert any("相談員が交代します" in t for t in await _resident_texts(client, done))
        # the resident writes meanwhile: it is unread for whoever looks at the queue
        await send(client, done, "text", "まだ待っています 🙏")
        assert (await _overview(suzuki))["unread"][str(cid)] >= 1
        assert (await suzuki.post(f"/api/conversations/{cid}/claim")).status_code == 200

        english = await waiting_in_english(client)  # asked for a person before any consent
        eid = english["session_id"]
        assert (await sato.post(f"/api/conversations/{eid}/claim")).status_code == 200
        r = await sato.post(f"/api/conversations/{eid}/release", json={"to": "bot"})
        assert r.status_code == 200 and r.json()["status"] == "bot"
        assert eid in _ids(await _overview(sato), "resting")
        assert any("continue the remaining questions" in t for t in await _resident_texts(client, english))
        assert (await sato.post(f"/api/conversations/{eid}/release", json={"to": "nowhere"})).status_code == 422

        # closed, then taken up again; the resident is told in their language
        r = await suzuki.post(f"/api/conversations/{cid}/close", json={"message": "ありがとうございました。"})
        assert r.status_code == 200
        assert cid in _ids(await _overview(sato), "closed")
        r = await sato.post(f"/api/conversations/{cid}/reopen")
        assert r.status_code == 200 and r.json()["status"] == "counsellor"
        view = await _overview(sato)
        assert cid in _ids(view, "mine") and cid not in _ids(view, "closed")
        assert (await sato.post(f"/api/conversations/{cid}/reopen")).status_code == 409  # not closed
        async with transaction(running_sqlite.ctx.sessions) as s:
            assert (await s.get(Conversation, cid)).owner_counsellor_id == (
                await s.scalar(select(Counsellor.id).where(Counsellor.login == "sato")))
        # nothing the counsellor may see is in no list
        seen = set().union(*(_ids(view, k) for k in ("waiting", "mine", "team", "held", "resting", "closed")))
        assert {cid, eid} <= seen
        assert view["team"] == []  # no teams yet (need-to-know access brings them)

        # read markers: what sato has seen is no longer unread
        await send(client, done, "text", "もう一つ質問です <b>太字</b>")
        assert (await _overview(sato))["unread"][str(cid)] >= 1
        assert (await sato.post(f"/api/conversations/{cid}/read", json={})).status_code == 200
        assert str(cid) not in (await _overview(sato))["unread"]


async def test_blocked_or_superseded_conversations_are_not_reopened(running_sqlite: Running) -> None:
    client = running_sqlite.client
    async with counsellor_client(running_sqlite, "lead1", role="lead") as lead:
        first = await waiting_in_english(client)
        cid = first["session_id"]
        assert (await lead.post(f"/api/conversations/{cid}/block", json={"reason": "harassment"})).status_code == 200
        r = await lead.post(f"/api/conversations/{cid}/reopen")
        assert r.status_code == 409 and "blocked" in r.json()["detail"]["error"]


async def test_timeline_notes_with_or_without_a_case_never_reach_the_resident(running_sqlite: Running) -> None:
    client = running_sqlite.client
    async with counsellor_client(running_sqlite, "sato") as sato:
        english = await waiting_in_english(client)
        eid = english["session_id"]
        assert (await sato.post(f"/api/conversations/{eid}/claim")).status_code == 200
        note = "本人は夜勤明け。<img src=x onerror=alert(1)> 折り返しは夕方に"
        r = await sato.post(f"/api/conversations/{eid}/timeline-notes", json={"text": note})
        assert r.status_code == 201 and r.json()["note"]["case_id"] is None
        assert (await sato.post(f"/api/conversations/{eid}/timeline-notes", json={"text": "   "})).status_code == 422
        r = await sato.get(f"/api/conversations/{eid}/timeline-notes")
        assert [n["text"] for n in r.json()["notes"]] == [note]
        assert "夜勤明け" not in str(await resident_messages(client, english))
        async with transaction(running_sqlite.ctx.sessions) as s:
            raw = (await s.execute(text("SELECT text FROM desk_note"))).scalars().all()
        assert raw and all("夜勤明け" not in r for r in raw)  # encrypted at rest


async def test_canned_replies_leads_edit_in_every_language(running_sqlite: Running) -> None:
    client = running_sqlite.client
    async with counsellor_client(running_sqlite, "sato") as sato, \
            counsellor_client(running_sqlite, "lead1", role="lead") as lead:
        body = {"label": "持ち物", "text": "Hãy mang theo thẻ cư trú và sổ ngân hàng. 📄"}
        assert (await sato.put("/api/console/canned/documents/vi", json=body)).status_code == 403
        assert (await lead.put("/api/console/canned/documents/xx", json=body)).status_code == 422
        r = await lead.put("/api/console/canned/documents/vi", json=body)
        assert r.status_code == 200 and r.json()["reply"]["edited"] is True
        # a new reply needs its Japanese first, then any language
        new = {"label": "食料の支援", "text": "フードバンクをご案内できます。"}
        assert (await lead.put("/api/console/canned/food_bank/en", json=new)).status_code == 422
        assert (await lead.put("/api/console/canned/food_bank/ja", json=new)).status_code == 200
        assert (await lead.put("/api/console/canned/food_bank/en",
                               json={"label": "Food", "text": "We can refer you to a food bank."})).status_code == 200
        table = (await lead.get("/api/console/canned/table")).json()
        assert len(table["languages"]) == 14
        row = next(r for r in table["replies"] if r["key"] == "food_bank")
        assert row["texts"]["en"]["edited"] and row["texts"]["vi"] is None  # vi falls back to English
        vi = (await sato.get("/api/console/canned", params={"language": "vi"})).json()["replies"]
        assert next(c for c in vi if c["key"] == "documents")["text"] == body["text"]
        assert next(c for c in vi if c["key"] == "food_bank")["language"] == "en"

        # sent to a resident, the lead's text is what they read
        english = await waiting_in_english(client)
        eid = english["session_id"]
        assert (await sato.post(f"/api/conversations/{eid}/claim")).status_code == 200
        assert (await sato.post(f"/api/conversations/{eid}/messages", json={"canned": "food_bank"})).status_code == 201
        assert "We can refer you to a food bank." in await _resident_texts(client, english)
        assert (await lead.delete("/api/console/canned/food_bank/en")).json()["removed"] is True


@dataclass
class Result:
    text: str
    status: str
    confidence: float | None = None
    low_confidence: bool = False


class FakeTranslator:
    """Japanese → English and back, by a phrase book (no model in tests)."""

    BOOK = {"家賃の支払いについて相談しましょう。": "Let us talk about paying the rent.",
            "Let us talk about paying the rent.": "家賃の支払いについて話しましょう。"}

    def supports(self, source: str, target: str) -> bool:
        return {source, target} == {"ja", "en"}

    async def translate(self, text_: str, source: str, target: str, *, on_confidence: object = None) -> Result:
        out = self.BOOK.get(text_)
        return Result(out, "translated", 0.82) if out else Result(text_, "untranslated")


async def test_preview_before_sending_and_the_japanese_only_state(running_sqlite: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    client = running_sqlite.client
    async with counsellor_client(running_sqlite, "sato") as sato:
        english = await waiting_in_english(client)
        eid = english["session_id"]
        assert (await sato.post(f"/api/conversations/{eid}/claim")).status_code == 200
        draft = {"text": "家賃の支払いについて相談しましょう。"}
        # no model here: the preview says it goes in Japanese …
        r = (await sato.post(f"/api/conversations/{eid}/preview", json=draft)).json()
        assert r["state"] == "unavailable" and r["translation"] is None
        # … and once sent, the resident is told in English (once) that an interpreter can be arranged
        for _ in range(2):
            assert (await sato.post(f"/api/conversations/{eid}/messages", json=draft)).status_code == 201
        told = [t for t in await _resident_texts(client, english) if "interpreter" in t]
        assert len(told) == 1 and "answered in Japanese" in told[0]

        monkeypatch.setattr(running_sqlite.ctx.router, "translator", FakeTranslator())
        r = (await sato.post(f"/api/conversations/{eid}/preview", json=draft)).json()
        assert r["state"] == "translated" and r["translation"] == "Let us talk about paying the rent."
        assert r["back_translation"] == "家賃の支払いについて話しましょう。" and r["confidence"] == pytest.approx(0.82)
        assert (await sato.post(f"/api/conversations/{eid}/preview", json={"text": ""})).status_code == 422


async def test_face_sheet_history_escalation_presence_and_auto_assignment(running_sqlite: Running, monkeypatch: pytest.MonkeyPatch) -> None:
    client, ctx = running_sqlite.client, running_sqlite.ctx
    async with counsellor_client(running_sqlite, "sato") as sato, counsellor_client(running_sqlite, "nguyen") as nguyen, \
            counsellor_client(running_sqlite, "lead1", role="lead") as lead:
        done = await waiting_after_intake(client)
        cid = done["session_id"]
        async with transaction(ctx.sessions) as s:  # the risk screen flagged it (as test_safeguarding_* do for real)
            await s.execute(update(Conversation).where(Conversation.id == cid).values(urgent=True, urgency_reasons=["no_food"]))
        view = await _overview(lead)
        item = next(i for i in view["waiting"] if i["id"] == cid)
        assert item["urgent"] and item["target_seconds"] == 10 * 60  # the urgent target, not 30 minutes

        # past the urgent target the lead is told, once per wait
        later = utcnow() + timedelta(minutes=11)
        await waiting.waiting_pass(ctx, later)
        await waiting.waiting_pass(ctx, later)
        async with transaction(ctx.sessions) as s:
            assert len((await s.scalars(select(DeskEscalation).where(DeskEscalation.conversation_id == cid))).all()) == 1
        assert cid in (await _overview(lead))["escalations"]
        assert (await _overview(sato))["escalations"] == []

        # presence and settings
        r = await nguyen.put("/api/console/presence", json={"status": "available", "languages": ["en", "vi"]})
        assert r.status_code == 200 and r.json()["status"] == "available"
        assert (await sato.put("/api/console/presence", json={"status": "available", "languages": ["ja"]})).status_code == 200
        assert (await sato.put("/api/console/presence", json={"status": "asleep"})).status_code == 422
        r = await sato.put("/api/console/settings", json={"sound": False, "volume": 0.3})
        assert r.json()["settings"]["sound"] is False and r.json()["settings"]["notify"] is True
        assert (await _overview(sato))["presence"]["settings"]["volume"] == pytest.approx(0.3)

        # automatic assignment: the English resident goes to the counsellor who takes English
        monkeypatch.setattr(ctx.settings, "console_auto_assign", True)
        english = await waiting_in_english(client)
        await waiting.waiting_pass(ctx)
        async with transaction(ctx.sessions) as s:
            conv = await s.get(Conversation, english["session_id"])
            owner = await s.get(Counsellor, conv.owner_counsellor_id)
            assert conv.status == "counsellor" and owner.login == "nguyen"
            assert (await s.get(Conversation, cid)).owner_counsellor_id is not None  # the Japanese one: sato
        # the face sheet's conversation side: safety answers, for whom, history
        face = (await lead.get(f"/api/conversations/{cid}/face")).json()
        assert face["safety"] == [] and face["for_whom"] == "self" and face["channel"] == "webchat"
        assert [a["action"] for a in face["assignment"]] == ["claimed"] and face["intake_finished"] is True
        face = (await nguyen.get(f"/api/conversations/{english['session_id']}/face")).json()
        assert face["assignment"][0]["by"] == "nguyen" and face["intake_finished"] is False
