"""The channel adapter registry, and the counsellor's typing indicator reaching LINE (loading
animation) and Telegram (sendChatAction "typing") through the console API the console uses,
checked by the spec-validating stand-ins."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bots.common.adapter import (
    INSTALLED_CHANNELS,
    AdapterRegistry,
    BaseAdapter,
    Capabilities,
    load_channels,
)
from bots.line import line_router
from casecore.db import transaction
from casecore.models import Conversation
from tests.conftest import Running
from tests.handoff_helpers import counsellor_client
from tests.standins import line_webhook as wh
from tests.standins.line_fixtures import ACCESS_TOKEN, CHANNEL_SECRET, line_api, line_server  # noqa: F401
from tests.standins.stack import running_channels, settle, with_channels
from tests.standins.telegram_fixtures import (  # noqa: F401
    BOT_TOKEN,
    WEBHOOK_SECRET,
    callback_update,
    message_update,
    telegram_api,
    telegram_server,
)

LINE_USER = "U" + "e" * 32
TG_USER = 515151


@pytest.fixture
async def both(line_api, telegram_api, stack) -> AsyncIterator[Running]:  # noqa: F811
    settings = with_channels(
        stack, line_channel_secret=CHANNEL_SECRET, line_channel_access_token=ACCESS_TOKEN,
        line_api_base_url=line_api.base_url, telegram_bot_token=BOT_TOKEN,
        telegram_webhook_secret=WEBHOOK_SECRET, telegram_api_base_url=telegram_api.base_url,
    )
    async with running_channels(settings, "/webhooks/line", line_router) as running:
        yield running


async def _settle(running: Running) -> None:
    for _ in range(3):
        for name in ("line", "telegram"):
            await running.ctx.extras[name].drain()
        await settle(running.ctx)


async def line_post(running: Running, event: dict[str, Any]) -> None:
    raw = wh.body(event)
    r = await running.client.post("/webhooks/line", content=raw, headers={
        "Content-Type": "application/json", "X-Line-Signature": wh.sign(CHANNEL_SECRET, raw)})
    assert r.status_code == 200, r.text
    await _settle(running)


async def tg_post(running: Running, update: dict[str, Any]) -> None:
    r = await running.client.post("/webhooks/telegram", json=update,
                                  headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
    assert r.status_code == 200, r.text
    await _settle(running)


async def waiting_conversation(running: Running, channel: str) -> Conversation:
    async with transaction(running.ctx.sessions) as s:
        conv = await s.scalar(select(Conversation).where(Conversation.channel == channel).order_by(Conversation.id.desc()))
    assert conv is not None and conv.status == "waiting", conv and conv.status
    return conv


async def test_counsellor_typing_reaches_line_and_telegram(both: Running, line_api, telegram_api) -> None:  # noqa: F811
    running = both
    line_api.add_profile(LINE_USER, language="en")
    await line_post(running, wh.follow_event(LINE_USER, line_api.issue_reply_token(LINE_USER, access_token=ACCESS_TOKEN)))
    await line_post(running, wh.postback_event(LINE_USER, "c:human", line_api.issue_reply_token(LINE_USER, access_token=ACCESS_TOKEN)))
    await tg_post(running, message_update(TG_USER, "/start", language="en"))
    await tg_post(running, callback_update(telegram_api, TG_USER, "c:human", language="en"))
    line_conv = await waiting_conversation(running, "line")
    tg_conv = await waiting_conversation(running, "telegram")

    loading_before = len(line_api.loading)  # inbound events show it too, while the bot answers
    actions_before = len(telegram_api.calls_to("sendChatAction"))
    async with counsellor_client(running, "suzuki") as suzuki:
        # not theirs yet: nothing reaches the resident
        refused = await suzuki.post(f"/api/conversations/{line_conv.id}/typing")
        assert refused.status_code in (403, 409)
        assert len(line_api.loading) == loading_before

        for conv in (line_conv, tg_conv):
            assert (await suzuki.post(f"/api/conversations/{conv.id}/claim")).status_code == 200
            r = await suzuki.post(f"/api/conversations/{conv.id}/typing")
            assert r.status_code == 202 and r.json()["channel_indicator"] is True

    assert line_api.loading[loading_before:] == [{"chatId": LINE_USER, "loadingSeconds": 20}]
    actions = telegram_api.calls_to("sendChatAction")[actions_before:]
    assert [(int(c.params["chat_id"]), c.params["action"]) for c in actions] == [(TG_USER, "typing")]


async def test_every_installed_channel_registers_an_adapter(running_sqlite: Running) -> None:
    registry = load_channels()
    assert set(registry.names()) >= {"webchat", "line", "telegram", "email"}
    built = running_sqlite.app.state.channels
    # email needs a mailbox: not built without one; the webhooks answer 401 until configured
    assert set(built) == {"webchat", "line", "telegram"}
    for adapter in built.values():
        assert isinstance(adapter.capabilities, Capabilities)
    # Nothing configured: stand-ins that answer 401 without importing the SDKs (issue 19)
    for name in ("line", "telegram"):
        assert built[name].sender is None and running_sqlite.ctx.senders.get(name) is None
        assert (await running_sqlite.client.post(f"/webhooks/{name}", json={"events": []})).status_code == 401
    paths = running_sqlite.app.openapi()["paths"]
    assert {"/webhooks/line", "/webhooks/telegram", "/api/webchat/sessions"} <= set(paths)
    assert (await running_sqlite.client.get("/chat/static/chat.js")).status_code == 200
    assert (await running_sqlite.client.get("/chat/static/secret.key")).status_code == 404
    assert INSTALLED_CHANNELS[0] == "bots.webchat"


def test_a_new_channel_needs_only_a_registration() -> None:
    class Sent:
        channel = "fax"

        async def send(self, target: Any, messages: Any) -> None:
            return None

    class FaxAdapter(BaseAdapter):
        name = "fax"
        capabilities = Capabilities(max_text=1000)
        sender = Sent()

    class Ctx:
        def __init__(self) -> None:
            from handoff.delivery import SenderRegistry

            self.senders = SenderRegistry()

    registry = AdapterRegistry()
    registry.register("fax", lambda ctx: FaxAdapter())
    registry.register("unset", lambda ctx: None)  # not configured: skipped
    ctx = Ctx()
    adapters = registry.build(ctx)  # type: ignore[arg-type]
    assert [a.name for a in adapters] == ["fax"] and ctx.senders.get("fax") is FaxAdapter.sender
    with pytest.raises(ValueError):
        registry.register("fax", lambda ctx: None)
