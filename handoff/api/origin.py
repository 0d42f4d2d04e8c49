"""Cross-origin request refusal for the staff routes (issue 11), as pure ASGI.

SameSite=Strict keeps the cookie off other *sites*, but a page on another port or subdomain
of the same site is "same-site": its form would carry the counsellor's cookie. So every
state-changing request to the staff API that carries the session cookie (and every login)
must come from the console's own origin: `Sec-Fetch-Site` (sent by every current browser)
must be `same-origin` or `none`, and an `Origin` must be the service's own. A request with
neither header is not from a browser page (curl, the CLI, tests) and passes.

The web chat API and the channel webhooks are cross-origin by design (embedded on the
municipality's site; called by LINE and Telegram) and authenticate otherwise: not checked.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
COOKIE = b"madoguchi_session="
OPEN_PREFIXES = ("/api/webchat", "/webhooks/")


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _header(scope: Scope, name: bytes) -> str | None:
    for k, v in scope.get("headers") or ():
        if k == name:
            return v.decode("latin-1")
    return None


def _staff_change(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    if scope.get("method", "GET") in SAFE or not path.startswith("/api/") or path.startswith(OPEN_PREFIXES):
        return False
    cookie = _header(scope, b"cookie") or ""
    return path.startswith("/api/auth/") or COOKIE.decode() in cookie


def allowed_origins(scope: Scope) -> set[str]:
    own = {_origin_of(f"{scope.get('scheme', 'http')}://{_header(scope, b'host') or ''}")}
    app = scope.get("app")
    ctx = getattr(getattr(app, "state", None), "ctx", None)
    if ctx is not None:
        own.add(_origin_of(ctx.settings.public_base_url))
    return own


def cross_origin(scope: Scope) -> str | None:
    """Why this request is refused, or None."""
    site = _header(scope, b"sec-fetch-site")
    if site is not None and site.lower() not in ("same-origin", "none"):
        return f"cross-site request ({site})"
    origin = _header(scope, b"origin")
    if origin is not None and origin.lower() not in allowed_origins(scope):
        return "foreign origin"
    return None


class SameOriginMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and _staff_change(scope):
            why = cross_origin(scope)
            if why is not None:
                body = json.dumps({"detail": {"code": "cross_origin", "message": why}}).encode()
                await send({"type": "http.response.start", "status": 403,
                            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
