"""pytest fixtures and update builders for the Telegram stand-in."""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.standins.telegram_api import TelegramApiStandIn

BOT_TOKEN = "7000000001:AAtestTESTtestTESTtestTESTtestTEST12"
WEBHOOK_SECRET = "tg-secret_minato-0123456789"
_ids = itertools.count(1000)


@pytest.fixture(scope="module")
def telegram_server() -> Iterator[TelegramApiStandIn]:
    server = TelegramApiStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def telegram_api(telegram_server: TelegramApiStandIn) -> Iterator[TelegramApiStandIn]:
    s = telegram_server
    s.bots.clear()
    s.calls.clear()
    s.violations.clear()
    s.sent.clear()
    s.faults.clear()
    s.callbacks.clear()
    s.blocked.clear()
    s.updates.clear()
    s.files.clear()
    s.documents.clear()
    s.webhook = None
    s.add_bot(BOT_TOKEN)
    yield s
    assert not s.violations, f"calls Telegram would refuse: {s.violations}"
    assert not s.unanswered_callbacks(), f"callback queries never answered: {s.unanswered_callbacks()}"


def _user(user_id: int, language: str | None) -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "相談者"}
    if language:
        user["language_code"] = language
    return user


def message_update(user_id: int, text: str | None = None, language: str | None = "ja", update_id: int | None = None, **content: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": next(_ids), "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "相談者"},
        "from": _user(user_id, language), **content,
    }
    if text is not None:
        message["text"] = text
    return {"update_id": update_id or next(_ids), "message": message}


def callback_update(server: TelegramApiStandIn, user_id: int, data: str, language: str | None = "ja") -> dict[str, Any]:
    cid = uuid.uuid4().hex[:16]
    server.issue_callback(cid)
    return {
        "update_id": next(_ids),
        "callback_query": {
            "id": cid, "from": _user(user_id, language), "chat_instance": "ci-1", "data": data,
            "message": {"message_id": next(_ids), "date": int(time.time()), "chat": {"id": user_id, "type": "private"}, "text": "…"},
        },
    }


def blocked_update(user_id: int) -> dict[str, Any]:
    member = {"user": {"id": 7000000001, "is_bot": True, "first_name": "窓口"}}
    return {
        "update_id": next(_ids),
        "my_chat_member": {
            "chat": {"id": user_id, "type": "private"}, "from": _user(user_id, None), "date": int(time.time()),
            "old_chat_member": {**member, "status": "member"},
            "new_chat_member": {**member, "status": "kicked", "until_date": 0},
        },
    }
