"""Security headers on the resident's and the counsellor's pages, as pure ASGI middleware.

Starlette's `@app.middleware("http")` (BaseHTTPMiddleware) runs every request in an anyio task
group and copies the response stream: on the webhook's ack that was a third of the CPU, for a
path that never gets these headers. Here the path is checked once and the headers are added to
the `http.response.start` message; other paths go straight through.
"""

from __future__ import annotations

from collections.abc import Mapping

from madoguchi.security.asgi import ASGIApp, Message, Receive, Scope, Send

PAGE_PREFIXES = ("/chat", "/console")


class PageHeadersMiddleware:
    def __init__(self, app: ASGIApp, headers: Mapping[str, str], prefixes: tuple[str, ...] = PAGE_PREFIXES) -> None:
        self.app = app
        self.prefixes = prefixes
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith(self.prefixes):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]  # setdefault semantics
                if extra:
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)
