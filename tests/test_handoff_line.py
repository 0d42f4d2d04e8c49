"""A counsellor talks with a resident on LINE: the console's messages go out as LINE pushes
(checked by the spec-validating LINE stand-in), the bot stays silent while the counsellor
holds the conversation, and a refused delivery is recorded and shown, not lost silently."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bots.line import LineAdapter, line_router
from casecore.db import transaction
from casecore.models import Conversation, Message
from tests.conftest import Running
from tests.handoff_helpers import counsellor_client
from tests.standins import line_webhook as wh
from tests.standins.line_fixtures import ACCESS_TOKEN, CHANNEL_SECRET, line_api, line_server  # noqa: F401
from tests.standins.stack import running_channels, settle, with_channels

USER = "U" + "c" * 32


@pytest.fixture
async def line_app(line_api, stack) -> AsyncIterator[tuple[Running, Any]]:  # noqa: F811
    settings = with_channels(
        stack, line_channel_secret=CHANNEL_SECRET, line_channel_access_token=ACCESS_TOKEN, line_api_base_url=line_api.base_url
    )
    async with running_channels(settings, "/webhooks/line", line_router) as running:
        yield running, line_api


async def line_send(running: Running, api: Any, event: dict[str, Any]) -> None:
    raw = wh.body(event)
    r = await running.client.post("/webhooks/line", content=raw, headers={
        "Content-Type": "application/json", "X-Line-Signature": wh.sign(CHANNEL_SECRET, raw)})
    assert r.status_code == 200, r.text
    adapter: LineAdapter = running.ctx.extras["line"]
    await settle(running.ctx, adapter)


async def conversation_of(running: Running) -> Conversation:
    async with transaction(running.ctx.sessions) as s:
        conv = await s.scalar(select(Conversation).where(Conversation.channel == "line").order_by(Conversation.id.desc()))
        assert conv is not None
        return conv


async def test_counsellor_talks_over_line(line_app: tuple[Running, Any]) -> None:
    running, api = line_app
    api.add_profile(USER, language="en")
    await line_send(running, api, wh.follow_event(USER, api.issue_reply_token(USER, access_token=ACCESS_TOKEN)))
    await line_send(running, api, wh.postback_event(USER, "c:human", api.issue_reply_token(USER, access_token=ACCESS_TOKEN)))
    conv = await conversation_of(running)
    assert conv.status == "waiting" and conv.language == "en"
    before = len(api.messages_to(USER))

    async with counsellor_client(running, "sato") as sato:
        assert (await sato.post(f"/api/conversations/{conv.id}/claim")).status_code == 200
        r = await sato.post(f"/api/conversations/{conv.id}/messages", json={"canned": "hello"})
        assert r.status_code == 201 and r.json()["message"]["delivery_status"] == "sent"
        pushed = [d for d in api.delivered if d.user_id == USER][before:]
        assert [d.via for d in pushed] == ["push", "push"]
        assert pushed[0].message["text"].startswith("A counsellor has joined")
        assert pushed[1].message["text"] == "Thank you for waiting. I am a counsellor. I will talk with you here in this chat."

        # the resident answers: stored for the console, no bot answer on LINE
        await line_send(running, api, wh.text_event(USER, "I lost my job <b>today</b>", api.issue_reply_token(USER, access_token=ACCESS_TOKEN)))
        assert len(api.messages_to(USER)) == before + 2
        t = (await sato.get(f"/api/conversations/{conv.id}")).json()
        assert t["transcript"][-1]["text"] == "I lost my job <b>today</b>" and t["transcript"][-1]["sender"] == "resident"

        # LINE refuses (the channel token was revoked): the message is kept, marked failed
        api.access_tokens.clear()
        r = await sato.post(f"/api/conversations/{conv.id}/messages", json={"text": "聞こえますか"})
        assert r.status_code == 201 and r.json()["message"]["delivery_status"] == "failed"
        async with transaction(running.ctx.sessions) as s:
            m = await s.scalar(select(Message).where(Message.conversation_id == conv.id, Message.sender == "counsellor").order_by(Message.id.desc()))
            assert m is not None and m.text == "聞こえますか" and m.delivery_status == "failed"
