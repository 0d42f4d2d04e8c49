"""A stand-in for LINE's Messaging API (api.line.me) on loopback.

Every request is checked against the official `messaging-api.yml` (path, method, headers,
Bearer token, body schema with discriminators and LINE's documented limits); a request LINE
would refuse is answered 400 in LINE's error format AND recorded in `violations`, which the
test fixtures assert to be empty. It answers as LINE documents: reply tokens are single-use
and expire, `X-Line-Retry-Key` makes a retried push a 409 instead of a second delivery, and
tests can script 429 (with Retry-After) and 500 answers per operation.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.standins.line_spec import MessagingApiSpec, messaging_spec
from tests.standins.server import LoopbackStandIn


@dataclass
class Fault:
    """A scripted answer. `accept=True` delivers first and then fails (a lost response)."""

    status: int
    retry_after: int | None = None
    accept: bool = False


@dataclass
class Call:
    method: str
    path: str
    operation_id: str | None
    headers: dict[str, str]
    body: Any
    status: int = 0
    at: float = field(default_factory=time.monotonic)
    raw: bytes = b""


@dataclass
class Delivered:
    user_id: str
    message: dict[str, Any]
    via: str  # reply | push
    at: float = field(default_factory=time.monotonic)


class LineApiStandIn(LoopbackStandIn):
    def __init__(self, spec: MessagingApiSpec | None = None) -> None:
        self.spec = spec or messaging_spec()
        self._lock = threading.Lock()
        self.access_tokens: set[str] = set()
        self.bot_user_ids: dict[str, str] = {}  # access token -> bot user id
        self.profiles: dict[str, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self.violations: list[tuple[str, str, list[str]]] = []
        self.delivered: list[Delivered] = []
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        self._reply_tokens: dict[str, tuple[str, float, str]] = {}  # token -> user, expiry, bot
        self._retry_keys: dict[str, str] = {}  # key -> accepted request id
        self.loading: list[dict[str, Any]] = []
        self.left: list[tuple[str, str]] = []  # (group | room, id) the bot left
        self.rich_menus: dict[str, dict[str, Any]] = {}
        self.rich_menu_images: dict[str, tuple[str, bytes]] = {}  # id -> (content type, bytes)
        self.default_rich_menu: str | None = None
        self.contents: dict[str, tuple[str, bytes]] = {}  # message id -> (content type, bytes)
        self.app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PUT", "DELETE"])])

    # --- test controls ----------------------------------------------------------------
    def add_channel(self, access_token: str, bot_user_id: str | None = None) -> str:
        bot = bot_user_id or "U" + uuid.uuid4().hex
        self.access_tokens.add(access_token)
        self.bot_user_ids[access_token] = bot
        return bot

    def add_profile(self, user_id: str, language: str | None = "ja", name: str = "テスト") -> None:
        profile: dict[str, Any] = {"userId": user_id, "displayName": name}
        if language:
            profile["language"] = language
        self.profiles[user_id] = profile

    def issue_reply_token(self, user_id: str, ttl: float = 60.0, access_token: str = "") -> str:
        token = uuid.uuid4().hex
        with self._lock:
            self._reply_tokens[token] = (user_id, time.monotonic() + ttl, access_token)
        return token

    def add_content(self, message_id: str, data: bytes, content_type: str = "image/jpeg") -> None:
        """What `GET /v2/bot/message/{messageId}/content` (api-data.line.me) serves for a message
        the resident sent (LINE keeps it for a while; an unknown id is 404)."""
        with self._lock:
            self.contents[message_id] = (content_type, data)

    def script(self, operation_id: str, *faults: Fault) -> None:
        with self._lock:
            self.faults[operation_id].extend(faults)

    def messages_to(self, user_id: str) -> list[dict[str, Any]]:
        return [d.message for d in self.delivered if d.user_id == user_id]

    def calls_to(self, operation_id: str) -> list[Call]:
        return [c for c in self.calls if c.operation_id == operation_id]

    # --- the API -----------------------------------------------------------------------
    async def _handle(self, request: Request) -> Response:
        raw = await request.body()
        path = request.url.path
        headers = dict(request.headers)
        op, problems = self.spec.check_request(
            request.method, path, headers, raw, request.url.query
        )
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = raw.decode("utf-8", "replace")
        call = Call(request.method, path, op.operation_id if op else None, headers, body, raw=raw)
        with self._lock:
            self.calls.append(call)
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.access_tokens:
            return self._answer(call, 401, {"message": "Authentication failed. Confirm that the access token in the authorization header is valid."})
        if problems:
            with self._lock:
                self.violations.append((request.method, path, problems))
            details = [{"message": p, "property": p.split(":", 1)[0]} for p in problems]
            return self._answer(call, 400, {"message": f"The request body has {len(problems)} error(s)", "details": details})
        assert op is not None
        fault = None
        with self._lock:
            if self.faults[op.operation_id]:
                fault = self.faults[op.operation_id].pop(0)
        if fault and not fault.accept:
            return self._fault(call, fault)
        handler = getattr(self, f"_op_{op.operation_id}", None)
        if handler is None:
            return self._answer(call, 501, {"message": f"stand-in does not implement {op.operation_id}"})
        response = handler(call, token)
        if fault:  # delivered, but the caller sees a failure
            return self._fault(call, fault)
        return response

    def _fault(self, call: Call, fault: Fault) -> Response:
        extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        message = "Too Many Requests" if fault.status == 429 else "Internal Server Error"
        return self._answer(call, fault.status, {"message": message}, extra)

    def _answer(self, call: Call, status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
        call.status = status
        all_headers = {"x-line-request-id": uuid.uuid4().hex, **(headers or {})}
        return JSONResponse(body, status_code=status, headers=all_headers)

    def _sent(self, user_id: str, messages: list[dict[str, Any]], via: str) -> dict[str, Any]:
        with self._lock:
            for m in messages:
                self.delivered.append(Delivered(user_id, m, via))
        return {"sentMessages": [{"id": str(uuid.uuid4().int)[:18], "quoteToken": uuid.uuid4().hex} for _ in messages]}

    def _op_replyMessage(self, call: Call, token: str) -> Response:
        reply_token = call.body["replyToken"]
        with self._lock:
            entry = self._reply_tokens.pop(reply_token, None)
        if entry is None or entry[1] < time.monotonic() or (entry[2] and entry[2] != token):
            return self._answer(call, 400, {"message": "Invalid reply token"})
        return self._answer(call, 200, self._sent(entry[0], call.body["messages"], "reply"))

    def _op_pushMessage(self, call: Call, token: str) -> Response:
        key = call.headers.get("x-line-retry-key")
        with self._lock:
            accepted = self._retry_keys.get(key) if key else None
        if accepted:
            return self._answer(
                call, 409, {"message": "The retry key is already accepted"},
                {"x-line-accepted-request-id": accepted},
            )
        response = self._sent(call.body["to"], call.body["messages"], "push")
        if key:
            with self._lock:
                self._retry_keys[key] = uuid.uuid4().hex
        return self._answer(call, 200, response)

    def _op_showLoadingAnimation(self, call: Call, token: str) -> Response:
        with self._lock:
            self.loading.append(call.body)
        return self._answer(call, 202, {})

    def _op_getProfile(self, call: Call, token: str) -> Response:
        user_id = call.path.rsplit("/", 1)[-1]
        profile = self.profiles.get(user_id)
        if profile is None:
            return self._answer(call, 404, {"message": "Not found"})
        return self._answer(call, 200, profile)

    def _op_leaveGroup(self, call: Call, token: str) -> Response:
        with self._lock:
            self.left.append(("group", call.path.split("/")[-2]))
        return self._answer(call, 200, {})

    def _op_leaveRoom(self, call: Call, token: str) -> Response:
        with self._lock:
            self.left.append(("room", call.path.split("/")[-2]))
        return self._answer(call, 200, {})

    def _op_createRichMenu(self, call: Call, token: str) -> Response:
        menu_id = f"richmenu-{uuid.uuid4().hex}"
        with self._lock:
            self.rich_menus[menu_id] = {"richMenuId": menu_id, **call.body}
        return self._answer(call, 200, {"richMenuId": menu_id})

    def _op_setRichMenuImage(self, call: Call, token: str) -> Response:
        menu_id = call.path.split("/")[-2]
        if menu_id not in self.rich_menus:
            return self._answer(call, 404, {"message": "Not found"})
        with self._lock:
            self.rich_menu_images[menu_id] = (call.headers.get("content-type", ""), call.raw)
        return self._answer(call, 200, {})

    def _op_setDefaultRichMenu(self, call: Call, token: str) -> Response:
        menu_id = call.path.split("/")[-1]
        if menu_id not in self.rich_menus or menu_id not in self.rich_menu_images:
            return self._answer(call, 400, {"message": "must upload richmenu image before applying it to user"})
        with self._lock:
            self.default_rich_menu = menu_id
        return self._answer(call, 200, {})

    def _op_getRichMenu(self, call: Call, token: str) -> Response:
        # (/v2/bot/richmenu/list also matches the {richMenuId} template of the spec)
        menu_id = call.path.split("/")[-1]
        if menu_id == "list":
            return self._op_getRichMenuList(call, token)
        menu = self.rich_menus.get(menu_id)
        return self._answer(call, 200, menu) if menu else self._answer(call, 404, {"message": "Not found"})

    def _op_getRichMenuList(self, call: Call, token: str) -> Response:
        return self._answer(call, 200, {"richmenus": list(self.rich_menus.values())})

    def _op_deleteRichMenu(self, call: Call, token: str) -> Response:
        with self._lock:
            self.rich_menus.pop(call.path.split("/")[-1], None)
        return self._answer(call, 200, {})

    def _op_getMessageContent(self, call: Call, token: str) -> Response:
        found = self.contents.get(call.path.split("/")[-2])
        if found is None:
            return self._answer(call, 404, {"message": "Not found"})
        call.status = 200
        return Response(found[1], status_code=200, media_type=found[0],
                        headers={"x-line-request-id": uuid.uuid4().hex})

    def _op_getBotInfo(self, call: Call, token: str) -> Response:
        return self._answer(call, 200, {
            "userId": self.bot_user_ids[token], "basicId": "@000test", "displayName": "窓口",
            "chatMode": "bot", "markAsReadMode": "auto",
        })
