"""LINE channel: webhook (`line_router`), event parsing, rendering and the sender.

The LINE SDK (seconds of import, tens of MB) is imported only when a channel is configured:
the channel registers a light factory here, and an unconfigured service answers its webhook
401 without it (issue 19)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from bots.common.adapter import BaseAdapter, register_channel

if TYPE_CHECKING:
    from handoff.context import HandoffContext

__all__ = ["LineAdapter", "configured", "line_router"]


def configured(settings: Any, profiles: Any = ()) -> bool:
    """Channel secret and access token in the settings or in a profile's `channels.line`."""
    if getattr(settings, "line_channel_secret", None) and getattr(settings, "line_channel_access_token", None):
        return True
    for p in profiles:
        creds = (getattr(p, "channels", None) or {}).get("line") or {}
        if creds.get("channel_secret") and creds.get("channel_access_token"):
            return True
    return False


class UnconfiguredLine(BaseAdapter):
    """No channel here: nothing can verify a signature, so the webhook answers 401."""

    name = "line"

    def routes(self) -> APIRouter:
        router = APIRouter(tags=["channels"])

        @router.post("/webhooks/line", summary="LINE Messaging API webhook (no channel configured: 401)")
        async def line_webhook() -> JSONResponse:
            return JSONResponse({"detail": "invalid signature"}, status_code=401)

        return router


@register_channel("line")
def build_adapter(ctx: HandoffContext) -> Any:
    profiles = ctx.profiles.all() if hasattr(ctx.profiles, "all") else []
    if "line" not in ctx.extras and not configured(ctx.settings, profiles):
        return UnconfiguredLine()
    from bots.line.webhook import build_adapter as build

    return build(ctx)


def __getattr__(name: str) -> Any:  # `from bots.line import LineAdapter` still works
    if name in ("LineAdapter", "line_router"):
        from bots.line import webhook

        return getattr(webhook, name)
    raise AttributeError(name)
