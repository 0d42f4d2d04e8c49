"""One pure ASGI middleware (no BaseHTTPMiddleware: no per-request task and stream copy) for the
request-side defences of issue 17:

- operational endpoints (/metrics, /docs, /redoc, /openapi.json) off, loopback only, behind a
  bearer token, or open (`MADOGUCHI_OPS_ACCESS`);
- integer path segments beyond int64 answer 404 and such query values 422, before any
  database sees them (no OverflowError);
- control characters in the path or query string answer 422; a JSON body's `\\u0000` escapes
  are removed (PostgreSQL cannot store NUL), except on webhooks, whose bytes are signed;
- body size limits per route, 413 with JSON, checked on Content-Length and while reading;
- a last-resort handler: an unhandled exception is logged as its type and route only (no
  traceback, so no SQL parameters), and answered 500 with the same JSON shape.

Every refusal is `{"detail": {"code": …, "message": …}}`, FastAPI's shape, as elsewhere.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, unquote

import structlog

log = structlog.get_logger("madoguchi.security")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

INT64_MAX = 2**63 - 1
OPS_PATHS = ("/metrics", "/docs", "/docs/oauth2-redirect", "/redoc", "/openapi.json")
_DIGITS = re.compile(r"^[+-]?\d+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# A JSON \u0000 escape that is not itself an escaped backslash followed by "u0000".
_JSON_NUL = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000", re.IGNORECASE)


def _out_of_range(value: str) -> bool:
    return bool(_DIGITS.match(value)) and abs(int(value)) > INT64_MAX


# Routes that take a file as the body (issue 16): the per-file media cap, not the JSON one.
UPLOAD_PATHS = re.compile(r"^/api/conversations/\d+/documents$|^/api/webchat/sessions/\d+/uploads$")


class HardeningMiddleware:
    def __init__(self, app: ASGIApp, *, ops_access: str = "loopback", ops_token: str | None = None,
                 max_json: int = 64 * 1024, max_webhook: int = 1024 * 1024, max_login: int = 4 * 1024,
                 max_upload: int = 10 * 1024 * 1024 + 64 * 1024) -> None:
        self.app = app
        self.ops_access = ops_access.strip().lower()
        self.ops_token = ops_token
        self.max_json, self.max_webhook, self.max_login = max_json, max_webhook, max_login
        self.max_upload = max_upload

    def limit_for(self, path: str) -> int:
        if path.startswith("/webhooks/"):
            return self.max_webhook
        if UPLOAD_PATHS.match(path):
            return self.max_upload
        if path == "/api/auth/login":
            return self.max_login
        return self.max_json

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        refusal = self._check_target(scope, path)
        if refusal is not None:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4400})
                return
            await _json(send, *refusal)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            if scope.get("method") in ("POST", "PUT", "PATCH", "DELETE"):
                body = await self._read_body(scope, receive, path)
                if isinstance(body, tuple):
                    await _json(send, *body)
                    return
                receive = _replay(body, receive)
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            route = scope.get("route")
            log.error("unhandled_error", error=type(exc).__name__, method=scope.get("method"),
                      route=getattr(route, "path", None) or _generic(path))
            if not started:
                await _json(send, 500, "internal_error", "Something went wrong on our side. Please try again.")

    def _check_target(self, scope: Scope, path: str) -> tuple[int, str, str, dict[str, str] | None] | None:
        if path in OPS_PATHS:
            denied = self._ops_denied(scope)
            if denied is not None:
                return denied
        if _CONTROL.search(path) or _CONTROL.search(unquote(scope.get("query_string", b"").decode("latin-1"))):
            return 422, "control_character", "The address holds control characters.", None
        if any(_out_of_range(seg) for seg in path.split("/")):
            return 404, "not_found", "Not found.", None
        query = scope.get("query_string", b"").decode("latin-1")
        if query and any(_out_of_range(v) for _, v in parse_qsl(query, keep_blank_values=True)):
            return 422, "out_of_range", "A number in the query is out of range.", None
        return None

    def _ops_denied(self, scope: Scope) -> tuple[int, str, str, dict[str, str] | None] | None:
        mode = self.ops_access
        if mode == "open":
            return None
        if mode == "token" and self.ops_token:
            auth = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
            if auth.lower().startswith("bearer ") and hmac.compare_digest(auth[7:].strip(), self.ops_token):
                return None
            return 401, "unauthorized", "A bearer token is required.", {"www-authenticate": "Bearer"}
        if mode == "loopback":
            client = scope.get("client")
            try:
                if client and ipaddress.ip_address(client[0]).is_loopback:
                    return None
            except ValueError:
                pass
        return 404, "not_found", "Not found.", None  # off, or not from this machine: not even there

    async def _read_body(self, scope: Scope, receive: Receive, path: str) -> bytes | tuple[int, str, str, None]:
        limit = self.limit_for(path)
        too_large = (413, "body_too_large", f"The request body is larger than {limit} bytes.", None)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                if int(length) > limit:
                    return too_large
            except ValueError:
                return 400, "bad_request", "Invalid Content-Length.", None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return too_large
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if ctype.endswith(b"json") and not path.startswith("/webhooks/") and b"\\u0000" in body.lower():
            body = _JSON_NUL.sub(rb"\1", body)
        return body


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # then wait for the disconnect, as the server would

    return replay


def _generic(path: str) -> str:
    return "/".join("{id}" if seg.isdigit() else seg for seg in path.split("/"))


async def _json(send: Send, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": {"code": code, "message": message}}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
