"""Office hours and waiting: the reminder after the profile's target, the out-of-hours
emergency contacts for urgent residents (lodging first for no_shelter), each sent once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from casecore.db import transaction
from casecore.models import Conversation
from handoff.waiting import waiting_pass
from tests.conftest import Running
from tests.handoff_helpers import resident_messages, waiting_after_intake, waiting_in_english

# Wednesday 25 November 2026 (a working day in Tokyo): 10:00 and 20:00 JST.
MORNING = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
EVENING = datetime(2026, 11, 25, 11, 0, tzinfo=UTC)


async def _set(running: Running, cid: int, **values: Any) -> None:
    async with transaction(running.ctx.sessions) as s:
        conv = await s.get(Conversation, cid)
        assert conv is not None
        reasons = values.pop("urgent_reasons", None)
        if reasons is not None:
            conv.dialog_state = {**(conv.dialog_state or {}), "urgent_reasons": reasons}
        for k, v in values.items():
            setattr(conv, k, v)


async def test_a_long_wait_gets_one_reminder(running: Running) -> None:
    client = running.client
    session = await waiting_in_english(client)
    cid = session["session_id"]
    await _set(running, cid, waiting_since=MORNING - timedelta(minutes=29))
    assert await waiting_pass(running.ctx, MORNING) == []  # within the 30-minute target
    await _set(running, cid, waiting_since=MORNING - timedelta(minutes=31))
    sent = await waiting_pass(running.ctx, MORNING)
    assert len(sent) == 1
    assert await waiting_pass(running.ctx, MORNING + timedelta(minutes=5)) == []  # once per wait
    last = (await resident_messages(client, session))["messages"][-1]
    assert last["sender"] == "system" and "not forgotten" in last["text"]
    assert "closed" not in last["text"]  # the desk is open


async def test_out_of_hours_urgent_resident_gets_lodging_contact_once(running: Running) -> None:
    client = running.client
    session = await waiting_in_english(client)
    cid = session["session_id"]
    # waiting since the afternoon, urgent for having nowhere to sleep; the desk closes at 17:15
    await _set(running, cid, waiting_since=MORNING + timedelta(hours=6), urgent=True, urgent_reasons=["no_shelter"])
    sent = await waiting_pass(running.ctx, EVENING)
    assert len(sent) == 2  # the reminder (waited hours) and the contacts
    assert await waiting_pass(running.ctx, EVENING + timedelta(hours=1)) == []
    texts = [m["text"] for m in (await resident_messages(client, session))["messages"] if m["sender"] == "system"]
    reminder, contacts = texts[-2], texts[-1]
    assert "not forgotten" in reminder and "11/26 08:30" in reminder
    assert contacts.startswith("The desk is closed now. If you have nowhere to sleep tonight")
    assert "Minato City emergency lodging" in contacts and "03-3578-2111" in contacts
    assert "0120-279-338" in contacts  # and the other emergency contacts


async def test_urgent_japanese_resident_gets_emergency_contacts_but_not_a_calm_one(running: Running) -> None:
    client = running.client
    urgent = await waiting_after_intake(client)
    calm = await waiting_after_intake(client)
    since = MORNING + timedelta(hours=7)  # 17:00, before closing; the pass runs at 20:00 (< target? no)
    await _set(running, urgent["session_id"], waiting_since=since, urgent=True)
    await _set(running, calm["session_id"], waiting_since=EVENING - timedelta(minutes=5))
    await waiting_pass(running.ctx, EVENING)
    urgent_texts = [m["text"] for m in (await resident_messages(client, urgent))["messages"] if m["sender"] == "system"]
    assert any(t.startswith("今は窓口の時間外です。相談員は11/26 08:30にお返事します。") and "110" in t for t in urgent_texts)
    calm_texts = [m["text"] for m in (await resident_messages(client, calm))["messages"] if m["sender"] == "system"]
    assert calm_texts == []


async def test_asked_while_closed_is_not_told_the_contacts_twice(running: Running) -> None:
    """The dialog gave the contacts when they asked at night; the monitor only reminds."""
    client = running.client
    session = await waiting_in_english(client)
    cid = session["session_id"]
    await _set(running, cid, waiting_since=EVENING - timedelta(minutes=40), urgent=True)
    sent = await waiting_pass(running.ctx, EVENING)
    assert len(sent) == 1
    last = (await resident_messages(client, session))["messages"][-1]
    assert "not forgotten" in last["text"] and "11/26 08:30" in last["text"]
