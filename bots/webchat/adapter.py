"""The web chat as a channel adapter: its page, JSON API and socket. It has no sender: the
resident's page reads new messages from the store when the hub says there are some."""

from __future__ import annotations

from fastapi import APIRouter

from bots.common.adapter import BaseAdapter, Capabilities, register_channel
from bots.webchat.api import webchat_router
from handoff.context import HandoffContext


class WebchatAdapter(BaseAdapter):
    name = "webchat"
    capabilities = Capabilities(typing_indicator=True, buttons=True, call_action=True)

    def __init__(self, ctx: HandoffContext) -> None:
        self.ctx = ctx

    def routes(self) -> APIRouter:
        return webchat_router(self.ctx)


@register_channel("webchat")
def build_adapter(ctx: HandoffContext) -> WebchatAdapter:
    return WebchatAdapter(ctx)
