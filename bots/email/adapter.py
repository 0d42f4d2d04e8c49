"""Email as a channel adapter: no routes; IMAP pollers and LMTP listeners run from `start`
(which also registers one sender per mailbox), and stop first at shutdown so IMAP sessions
end cleanly. Built only where a mailbox is configured."""

from __future__ import annotations

import asyncio

from bots.common.adapter import BaseAdapter, Capabilities, register_channel
from bots.email.channel import email_configured, start_email_channel, stop_email_channel
from handoff.context import HandoffContext


class EmailAdapter(BaseAdapter):
    name = "email"
    capabilities = Capabilities(media_kinds=frozenset({"image", "file", "audio", "video"}))  # attachments kept (issue 16)

    def __init__(self, ctx: HandoffContext) -> None:
        self.ctx = ctx

    async def start(self) -> list[asyncio.Task[None]]:
        return await start_email_channel(self.ctx)

    async def stop(self) -> None:
        await stop_email_channel(self.ctx)


@register_channel("email")
def build_adapter(ctx: HandoffContext) -> EmailAdapter | None:
    return EmailAdapter(ctx) if email_configured(ctx) else None
