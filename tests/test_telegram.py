"""Telegram end to end: webhook and polling on the real router and database, answers sent
through aiogram to the Bot API stand-in, which checks every call."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bots.common.retry import RetryPolicy
from bots.telegram import TelegramAdapter, telegram_router
from bots.telegram.poll import poll
from casecore.models import Case, ContactPoint, Message
from dialogs.types import Choice, OutboundMessage
from handoff.delivery import DeliveryError, DeliveryTarget
from i18n.catalog import catalog
from madoguchi.context import AppContext
from tests.standins.stack import running_channels, settle, with_channels
from tests.standins.telegram_api import TgFault
from tests.standins.telegram_fixtures import (  # noqa: F401
    BOT_TOKEN,
    WEBHOOK_SECRET,
    blocked_update,
    callback_update,
    message_update,
    telegram_api,
    telegram_server,
)

USER = 424242


class Tg:
    def __init__(self, ctx: AppContext, client: httpx.AsyncClient, api: Any) -> None:
        self.ctx, self.client, self.api = ctx, client, api
        self.adapter: TelegramAdapter = ctx.extras["telegram"]

    async def post(self, update: Any, secret: str | None = WEBHOOK_SECRET, raw: bytes | None = None) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        if raw is not None:
            return await self.client.post("/webhooks/telegram", content=raw, headers=headers)
        return await self.client.post("/webhooks/telegram", json=update, headers=headers)

    async def send(self, update: Any) -> httpx.Response:
        r = await self.post(update)
        await self.settle()
        return r

    async def settle(self) -> None:
        for _ in range(3):
            await self.adapter.drain()
            await settle(self.ctx)

    def last(self) -> dict[str, Any]:
        return self.api.sent_to(USER)[-1]

    def offered(self) -> list[str]:
        # The question's buttons; the secure page's link (a URL button, no callback) may follow it.
        sent = self.api.sent_to(USER)
        buttons = [b for row in sent[-1].get("reply_markup", {}).get("inline_keyboard", []) for b in row]
        if buttons and all("url" in b for b in buttons) and len(sent) > 1:
            buttons = [b for row in sent[-2].get("reply_markup", {}).get("inline_keyboard", []) for b in row]
        return [b["callback_data"].removeprefix("c:") for b in buttons if "callback_data" in b]


@pytest.fixture
async def tg(telegram_api, stack) -> AsyncIterator[Tg]:  # noqa: F811
    settings = with_channels(
        stack, telegram_bot_token=BOT_TOKEN, telegram_webhook_secret=WEBHOOK_SECRET, telegram_api_base_url=telegram_api.base_url
    )
    async with running_channels(settings, "/webhooks/telegram", telegram_router) as running:
        running.ctx.extras["telegram"].sender.policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
        yield Tg(running.ctx, running.client, telegram_api)


async def messages(ctx: AppContext) -> int:
    async with ctx.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Message)) or 0)


async def test_wrong_or_missing_secret_is_401_and_stores_nothing(tg: Tg, caplog: pytest.LogCaptureFixture) -> None:
    update = message_update(USER, "借金があります 090-1111-2222")
    caplog.set_level(logging.WARNING)
    assert (await tg.post(update, secret=None)).status_code == 401
    assert (await tg.post(update, secret=WEBHOOK_SECRET + "x")).status_code == 401
    assert (await tg.post(update, secret=WEBHOOK_SECRET[:-1])).status_code == 401
    await tg.settle()
    assert await messages(tg.ctx) == 0 and not tg.api.sent
    assert len([r for r in caplog.records if "telegram_webhook_refused" in r.getMessage()]) == 3, caplog.text
    assert "借金" not in caplog.text and "1111-2222" not in caplog.text


async def test_malformed_bodies_are_400(tg: Tg) -> None:
    assert (await tg.post(None, raw=b"{not json")).status_code == 400
    assert (await tg.post({"message": {"text": "no update_id"}})).status_code == 400
    assert (await tg.post({"update_id": 1, "edited_message": None, "poll_answer": None})).status_code == 200


async def test_start_greets_in_language_code_with_inline_keyboard(tg: Tg) -> None:
    r = await tg.send(message_update(USER, "/start", language="en"))
    assert r.status_code == 200
    texts = [m["text"] for m in tg.api.sent_to(USER)]
    assert any("Thank you for adding us" in t for t in texts), texts
    assert tg.offered()  # the next question carries buttons
    assert tg.api.calls_to("sendChatAction")
    assert all(c.params.get("parse_mode") in (None, "") for c in tg.api.calls_to("sendMessage"))


async def test_callbacks_are_answered_and_become_choices(tg: Tg) -> None:
    await tg.send(message_update(USER, "/start"))
    first = tg.offered()[0]
    await tg.send(callback_update(tg.api, USER, f"c:{first}"))
    await tg.send(callback_update(tg.api, USER, "something-else"))  # not a choice: answered anyway
    assert len(tg.api.calls_to("answerCallbackQuery")) == 2  # the fixture checks none is left


async def test_duplicate_updates_change_nothing(tg: Tg) -> None:
    await tg.send(message_update(USER, "/start"))
    update = message_update(USER, "こんにちは")
    await tg.send(update)
    before, sent = await messages(tg.ctx), len(tg.api.sent)
    await tg.send(update)
    await tg.send(update)
    assert await messages(tg.ctx) == before and len(tg.api.sent) == sent


async def test_media_and_block(tg: Tg) -> None:
    await tg.send(message_update(USER, "/start"))
    await tg.send(callback_update(tg.api, USER, "c:ja"))
    before = len(tg.api.sent_to(USER))
    await tg.send(message_update(USER, None, sticker={"file_id": "s", "file_unique_id": "u", "type": "regular", "width": 1, "height": 1, "is_animated": False, "is_video": False}))
    await tg.send(message_update(USER, None, location={"latitude": 35.6, "longitude": 139.7}))
    answers = [m["text"] for m in tg.api.sent_to(USER)[before:]]
    assert sum(catalog("ja").text("media.unsupported")[:10] in t for t in answers) == 2
    await tg.send(blocked_update(USER))
    async with tg.ctx.sessions() as s:
        assert (await s.scalars(select(ContactPoint))).one().unfollowed_at is not None


def target() -> DeliveryTarget:
    return DeliveryTarget("minato-tokyo", "telegram", str(USER), 1, "ja")


async def test_sender_long_text_html_and_many_buttons(tg: Tg) -> None:
    sender = tg.adapter.sender
    long = "<b>太字ではない</b>" + "あ" * 9000
    many = tuple(Choice(f"c{i}", f"選択肢 {i}") for i in range(20))
    await sender.send(target(), [OutboundMessage(long, many)])
    sent = tg.api.sent_to(USER)
    assert "".join(m["text"] for m in sent) == long and len(sent) == 3
    assert sent[0]["text"].startswith("<b>")  # no parse_mode: shown literally
    buttons = [b for row in sent[-1]["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["callback_data"] for b in buttons] == [f"c:c{i}" for i in range(20)]


async def test_sender_429_burst_delays_but_loses_nothing(tg: Tg) -> None:
    tg.api.script("sendMessage", TgFault(429, retry_after=1), TgFault(429, retry_after=1), TgFault(500), TgFault(502))
    started = time.monotonic()
    await tg.adapter.sender.send(target(), [OutboundMessage("届きますか")])
    assert time.monotonic() - started >= 2.0
    assert [m["text"] for m in tg.api.sent_to(USER)] == ["届きますか"]


async def test_sender_blocked_user_raises(tg: Tg) -> None:
    tg.api.blocked.add(USER)
    with pytest.raises(DeliveryError):
        await tg.adapter.sender.send(target(), [OutboundMessage("x")])
    assert len(tg.api.calls_to("sendMessage")) == 1  # 403 is not retried


async def test_polling_mode_runs_the_same_path(tg: Tg) -> None:
    tg.api.queue_update(message_update(USER, "/start"))
    tg.api.queue_update(message_update(USER, "こんにちは"))
    stop = asyncio.Event()
    bot = tg.adapter.bots.for_profile("minato-tokyo")
    task = asyncio.create_task(poll(tg.adapter, bot, stop, timeout=1))
    for _ in range(100):
        await asyncio.sleep(0.05)
        await tg.settle()
        if len(tg.api.sent_to(USER)) >= 2 and len(tg.api.calls_to("getUpdates")) >= 2:
            break
    stop.set()
    assert await asyncio.wait_for(task, 10) == 2
    assert tg.api.calls_to("deleteWebhook")
    assert int(tg.api.calls_to("getUpdates")[-1].params["offset"]) > 0  # updates acknowledged
    assert await messages(tg.ctx) >= 2


PREFERRED = ["ja", "agree", "none", "self", "money", "done", "skip", "this_channel", "anytime", "yes", "confirm"]


async def test_full_intake_over_telegram_ends_in_a_case(tg: Tg) -> None:
    await tg.send(message_update(USER, "/start"))
    picked: set[str] = set()
    problem_prompt = catalog("ja").text("problem.ask")[:12]
    for _ in range(40):
        said = " ".join(m.get("text", "") for m in tg.api.sent_to(USER)[-2:])  # the link may follow the question
        if problem_prompt in said and "problem" not in picked:
            picked.add("problem")
            await tg.send(message_update(USER, "仕事を失い、家賃が払えません。"))
            continue
        offered = tg.offered()
        if not offered:
            break
        want = next((c for c in PREFERRED if c in offered and (c not in picked or c == "skip")), None)
        assert want is not None, (tg.last()["text"], offered)
        picked.add(want)
        await tg.send(callback_update(tg.api, USER, f"c:{want}"))
    async with tg.ctx.sessions() as s:
        cases = (await s.scalars(select(Case))).all()
    assert len(cases) == 1 and cases[0].channel == "telegram"
    # the details were offered on the operator's page (a URL button); answering here still worked
    assert any("/secure/" in b.get("url", "") for m in tg.api.sent_to(USER)
               for row in m.get("reply_markup", {}).get("inline_keyboard", []) for b in row)


OSAKA_TOKEN = "7000000002:AAosakaOSAKAosakaOSAKAosakaOSAKA12"
OSAKA_SECRET = "tg-secret_osaka-9876543210"


async def test_two_bots_one_process_each_answers_with_its_own_token(telegram_api, stack, tmp_path) -> None:  # noqa: F811
    import yaml

    from dialogs.profile import PROFILE_DIR

    profile = yaml.safe_load((PROFILE_DIR / "minato-osaka.yaml").read_text(encoding="utf-8"))
    profile["channels"] = {"telegram": {"bot_token": OSAKA_TOKEN, "webhook_secret": OSAKA_SECRET}}
    extra = tmp_path / "profiles"
    extra.mkdir()
    (extra / "minato-osaka.yaml").write_text(yaml.safe_dump(profile, allow_unicode=True), encoding="utf-8")
    telegram_api.add_bot(OSAKA_TOKEN)
    settings = with_channels(
        stack, telegram_bot_token=BOT_TOKEN, telegram_webhook_secret=WEBHOOK_SECRET,
        telegram_api_base_url=telegram_api.base_url, profiles_dir=extra,
    )
    async with running_channels(settings, "/webhooks/telegram", telegram_router) as running:
        tg = Tg(running.ctx, running.client, telegram_api)
        headers = {"X-Telegram-Bot-Api-Secret-Token": OSAKA_SECRET}
        r = await running.client.post("/webhooks/telegram", json=message_update(USER + 1, "/start"), headers=headers)
        assert r.status_code == 200
        await tg.send(message_update(USER, "/start"))
        tokens = {c.token: c.params.get("chat_id") for c in telegram_api.calls_to("sendMessage")}
        assert tokens == {BOT_TOKEN: str(USER), OSAKA_TOKEN: str(USER + 1)}
        async with running.ctx.sessions() as s:
            assert set((await s.scalars(select(ContactPoint.profile_id))).all()) == {"minato-tokyo", "minato-osaka"}
