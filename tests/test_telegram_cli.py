"""`madoguchi telegram set-webhook` against the Bot API stand-in."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from madoguchi.cli_telegram import telegram_app
from tests.standins.telegram_fixtures import (  # noqa: F401
    BOT_TOKEN,
    WEBHOOK_SECRET,
    telegram_api,
    telegram_server,
)


def test_set_webhook_registers_url_and_secret(telegram_api, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: F811
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MADOGUCHI_TELEGRAM_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("MADOGUCHI_TELEGRAM_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("MADOGUCHI_TELEGRAM_API_BASE_URL", telegram_api.base_url)
    result = CliRunner().invoke(telegram_app, ["set-webhook", "https://madoguchi.example.lg.jp/webhooks/telegram"])
    assert result.exit_code == 0, result.output
    assert telegram_api.webhook is not None
    assert telegram_api.webhook["url"] == "https://madoguchi.example.lg.jp/webhooks/telegram"
    assert telegram_api.webhook["secret_token"] == WEBHOOK_SECRET


def test_commands_are_listed() -> None:
    result = CliRunner().invoke(telegram_app, ["--help"])
    assert result.exit_code == 0 and "poll" in result.output and "set-webhook" in result.output
