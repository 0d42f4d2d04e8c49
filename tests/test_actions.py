"""The actions layer (handoff/actions): one transaction per change, its audit row in it, and
hub events only after the commit — a failed transaction publishes nothing. Status changes
follow the machines in casecore.lifecycle; the dialog's effects are dispatched by type."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from casecore import audit
from casecore.db import transaction
from casecore.lifecycle import CONVERSATION, InvalidTransition
from casecore.models import AuditEvent, Conversation, Counsellor
from dialogs.types import EFFECT_TYPES
from handoff.actions import conversation as conversation_actions
from handoff.actions import effects
from handoff.actions.base import ActionError, atomic
from handoff.hub import QUEUE_TOPIC, conversation_topic
from tests.handoff_helpers import counsellor_client, waiting_after_intake


class Recorder:
    """Wraps the hub: every event published, with the conversation's committed status read in
    a fresh session at the moment of publishing."""

    def __init__(self, ctx: Any) -> None:
        self.ctx = ctx
        self.events: list[tuple[str, dict[str, Any], str | None]] = []
        self._publish = ctx.hub.publish

    async def publish(self, topic: str, payload: dict[str, Any]) -> None:
        status = None
        if payload.get("conversation_id"):
            async with transaction(self.ctx.sessions) as s:
                status = await s.scalar(select(Conversation.status).where(Conversation.id == payload["conversation_id"]))
        self.events.append((topic, payload, status))
        await self._publish(topic, payload)


async def _me(ctx: Any, login: str) -> Counsellor:
    async with transaction(ctx.sessions) as s:
        return (await s.scalars(select(Counsellor).where(Counsellor.login == login))).one()


async def test_events_are_published_after_the_commit_and_never_for_a_failed_one(running_sqlite, monkeypatch) -> None:
    running = running_sqlite
    ctx = running.ctx
    session = await waiting_after_intake(running.client)
    cid = session["session_id"]
    async with counsellor_client(running, "sato"):
        me = await _me(ctx, "sato")
    rec = Recorder(ctx)
    monkeypatch.setattr(ctx.hub, "publish", rec.publish)

    await conversation_actions.claim(ctx, cid, me)
    status_events = [e for e in rec.events if e[1]["type"] == "conversation_status"]
    assert status_events and status_events[0][0] == conversation_topic(cid)
    # When the event went out, the claim was already committed (another process reads it).
    assert all(status == "counsellor" for _, _, status in status_events)
    assert any(t == QUEUE_TOPIC for t, _, _ in rec.events)

    # A failure inside the transaction (here: writing its audit row) rolls the release back
    # and publishes nothing.
    rec.events.clear()

    async def broken_audit(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "record", broken_audit)
    with pytest.raises(RuntimeError):
        await conversation_actions.release(ctx, cid, me)
    assert rec.events == []
    monkeypatch.undo()
    async with transaction(ctx.sessions) as s:
        conv = await s.get(Conversation, cid)
        assert conv is not None and conv.status == "counsellor" and conv.owner_counsellor_id == me.id
        released = await s.scalar(select(AuditEvent.id).where(AuditEvent.action == "conversation_released"))
        assert released is None


async def test_a_refused_action_publishes_nothing_and_answers_the_machines_error(running_sqlite, monkeypatch) -> None:
    ctx = running_sqlite.ctx
    session = await waiting_after_intake(running_sqlite.client)
    cid = session["session_id"]
    async with counsellor_client(running_sqlite, "sato") as client:
        me = await _me(ctx, "sato")
        rec = Recorder(ctx)
        monkeypatch.setattr(ctx.hub, "publish", rec.publish)
        with pytest.raises(ActionError) as refused:
            await conversation_actions.release(ctx, cid, me)  # waiting, not held: release is refused
        assert refused.value.status == 409 and rec.events == []
        r = await client.post(f"/api/conversations/{cid}/release")
        assert r.status_code == 409 and "waiting" in r.json()["detail"]["error"]


async def test_atomic_runs_queued_steps_in_order_only_after_commit(running_sqlite) -> None:
    ctx = running_sqlite.ctx
    seen: list[str] = []

    async def step(name: str) -> None:
        seen.append(name)

    async with ctx.hub.subscribe("t") as q:
        async with atomic(ctx) as (_s, after):
            after.publish("t", {"type": "first"})
            after.call(step, "second")
            assert q.empty() and seen == []  # nothing before the commit
        assert (await q.get())["type"] == "first" and seen == ["second"]
        with pytest.raises(ValueError):
            async with atomic(ctx) as (_s, after):
                after.publish("t", {"type": "never"})
                after.call(step, "never")
                raise ValueError("rolled back")
        assert q.empty() and seen == ["second"]


def test_conversation_status_machine() -> None:
    assert CONVERSATION.next("bot", "request_human") == "waiting"
    assert CONVERSATION.next("waiting", "claim") == "counsellor"
    assert CONVERSATION.next("counsellor", "release") == "bot"
    assert CONVERSATION.next("closed", "block") == "closed"
    assert CONVERSATION.sources("claim") == ["waiting"]
    with pytest.raises(InvalidTransition, match="cannot claim a conversation that is closed"):
        CONVERSATION.next("closed", "claim")
    with pytest.raises(InvalidTransition):
        CONVERSATION.next("bot", "release")


def test_every_effect_type_has_a_handler() -> None:
    assert set(EFFECT_TYPES) <= set(effects.HANDLERS)
    assert len({t.kind for t in EFFECT_TYPES}) == len(EFFECT_TYPES)


async def test_openapi_shows_response_shapes(running_sqlite) -> None:
    schema = (await running_sqlite.client.get("/openapi.json")).json()
    for path, method in [("/api/queue", "get"), ("/api/conversations/{conversation_id}/claim", "post"),
                         ("/api/cases/{case_id}", "get"), ("/api/auth/me", "get")]:
        ok = next(v for k, v in schema["paths"][path][method]["responses"].items() if k.startswith("2"))
        ref = ok["content"]["application/json"]["schema"]["$ref"]
        assert ref.startswith("#/components/schemas/"), (path, ok)
    assert "status" in schema["components"]["schemas"]["OwnedBy"]["properties"]
