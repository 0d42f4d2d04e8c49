"""Telegram channel: webhook (`telegram_router`), polling, update parsing and the sender.

aiogram (about 120 MB and a second of import) is imported only when a bot is configured: the
channel registers a light factory here, and an unconfigured service answers its webhook 401
without it (issue 19)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from bots.common.adapter import BaseAdapter, register_channel

if TYPE_CHECKING:
    from handoff.context import HandoffContext

__all__ = ["TelegramAdapter", "configured", "telegram_router"]


def configured(settings: Any, profiles: Any = ()) -> bool:
    """A bot token in the settings or in a municipality profile's `channels.telegram`."""
    if getattr(settings, "telegram_bot_token", None):
        return True
    return any(((getattr(p, "channels", None) or {}).get("telegram") or {}).get("bot_token") for p in profiles)


class UnconfiguredTelegram(BaseAdapter):
    """No bot here: the webhook answers 401, as the real one does with no bot."""

    name = "telegram"

    def routes(self) -> APIRouter:
        router = APIRouter(tags=["channels"])

        @router.post("/webhooks/telegram", summary="Telegram Bot API webhook (no bot configured: 401)")
        async def telegram_webhook() -> JSONResponse:
            return JSONResponse({"detail": "invalid secret token"}, status_code=401)

        return router


@register_channel("telegram")
def build_adapter(ctx: HandoffContext) -> Any:
    profiles = ctx.profiles.all() if hasattr(ctx.profiles, "all") else []
    if "telegram" not in ctx.extras and not configured(ctx.settings, profiles):
        return UnconfiguredTelegram()
    from bots.telegram.webhook import build_adapter as build

    return build(ctx)


def __getattr__(name: str) -> Any:  # `from bots.telegram import TelegramAdapter` still works
    if name in ("TelegramAdapter", "telegram_router"):
        from bots.telegram import webhook

        return getattr(webhook, name)
    raise AttributeError(name)
