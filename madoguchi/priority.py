"""Acknowledging before processing: the webhooks' answers get the event loop first.

Consumers in the same process (the embedded default) share the loop with the webhooks. This
pure ASGI middleware counts webhook requests in flight; a consumer about to take its next
event waits while there are any, for at most `handoff.queue.ACK_FIRST_MAX_WAIT` seconds, so
processing runs in the loop's idle time and still progresses under a sustained burst."""

from __future__ import annotations

from handoff.queue import WEBHOOKS_IN_FLIGHT
from madoguchi.security.asgi import ASGIApp, Receive, Scope, Send


class AckFirstMiddleware:
    def __init__(self, app: ASGIApp, prefix: str = "/webhooks/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        WEBHOOKS_IN_FLIGHT.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            WEBHOOKS_IN_FLIGHT.leave()
