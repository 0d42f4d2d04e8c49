"""A stand-in for the Telegram Bot API (api.telegram.org/bot<token>/<method>) on loopback.

Requests arrive as Telegram accepts them (form-encoded, multipart or JSON); each call is
recorded and checked the way Telegram checks it: a known token, a known method, required
parameters, text of 1-4096 characters, inline keyboards whose buttons carry 1-64 bytes of
callback_data, callback queries answered once. Anything Telegram would refuse is answered
with its error format AND recorded in `violations`, which the fixtures assert to be empty.
Updates can be queued for getUpdates, and 429 (with retry_after) and 5xx can be scripted.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.standins.server import LoopbackStandIn

MAX_TEXT = 4096
CHAT_ACTIONS = {"typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice", "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note"}


@dataclass
class TgFault:
    status: int
    retry_after: int | None = None


@dataclass
class TgCall:
    token: str
    method: str
    params: dict[str, Any]
    status: int = 200
    at: float = field(default_factory=time.monotonic)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TelegramApiStandIn(LoopbackStandIn):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.bots: dict[str, dict[str, Any]] = {}  # token -> getMe result
        self.calls: list[TgCall] = []
        self.violations: list[tuple[str, list[str]]] = []
        self.sent: list[dict[str, Any]] = []  # Message objects the bot sent
        self.faults: dict[str, list[TgFault]] = defaultdict(list)
        self.callbacks: dict[str, bool] = {}  # callback_query_id -> answered
        self.blocked: set[int] = set()
        self.updates: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] | None = None
        self._next_message_id = 1
        self.files: dict[str, tuple[str, bytes]] = {}  # file_id -> (file_path, bytes)
        self.documents: list[dict[str, Any]] = []  # sendDocument uploads: chat_id, filename, bytes, caption
        self.app = Starlette(routes=[
            Route("/bot{token}/{method}", self._handle, methods=["GET", "POST"]),
            Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
        ])

    # --- test controls ----------------------------------------------------------------
    def add_bot(self, token: str, username: str = "madoguchi_test_bot") -> None:
        bot_id = int(token.split(":", 1)[0])
        self.bots[token] = {"id": bot_id, "is_bot": True, "first_name": "窓口", "username": username}

    def add_file(self, file_id: str, data: bytes, file_path: str = "photos/file_0.jpg") -> None:
        """A file a resident sent: `getFile` names it, /file/bot<token>/<path> serves it."""
        with self._lock:
            self.files[file_id] = (file_path, data)

    def script(self, method: str, *faults: TgFault) -> None:
        with self._lock:
            self.faults[method].extend(faults)

    def issue_callback(self, callback_id: str) -> None:
        with self._lock:
            self.callbacks[callback_id] = False

    def queue_update(self, update: dict[str, Any]) -> None:
        with self._lock:
            self.updates.append(update)

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.sent if m["chat"]["id"] == chat_id]

    def calls_to(self, method: str) -> list[TgCall]:
        return [c for c in self.calls if c.method == method]

    def unanswered_callbacks(self) -> list[str]:
        return [cid for cid, answered in self.callbacks.items() if not answered]

    # --- the API -----------------------------------------------------------------------
    async def _params(self, request: Request) -> dict[str, Any]:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/json"):
            return dict(await request.json())
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            params: dict[str, Any] = {}
            for k, v in form.items():
                if isinstance(v, str):
                    params[k] = v
                else:  # an uploaded file (sendDocument): attach://<name> or the field itself
                    params[f"_upload:{k}"] = (v.filename, await v.read(), v.content_type)
            return params
        return dict(request.query_params)

    async def _handle(self, request: Request) -> JSONResponse:
        token, method = request.path_params["token"], request.path_params["method"]
        try:
            params = await self._params(request)
        except (ValueError, UnicodeDecodeError):
            params = {}
        call = TgCall(token, method, params)
        with self._lock:
            self.calls.append(call)
        if token not in self.bots:
            return self._error(call, 401, "Unauthorized")
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return self._error(call, 404, "Not Found")
        with self._lock:
            fault = self.faults[method].pop(0) if self.faults[method] else None
        if fault is not None:
            description = f"Too Many Requests: retry after {fault.retry_after}" if fault.status == 429 else "Internal Server Error"
            extra = {"parameters": {"retry_after": fault.retry_after}} if fault.retry_after is not None else {}
            return self._error(call, fault.status, description, extra, violation=False)
        result = handler(token, params)
        if asyncio.iscoroutine(result):
            result = await result
        if isinstance(result, JSONResponse):
            return result
        if isinstance(result, tuple):  # (status, description, problems)
            status, description, problems = result
            if problems:
                with self._lock:
                    self.violations.append((method, problems))
            return self._error(call, status, description, violation=False)
        return JSONResponse({"ok": True, "result": result})

    def _error(self, call: TgCall, status: int, description: str, extra: dict[str, Any] | None = None, violation: bool = True) -> JSONResponse:
        call.status = status
        if violation and status in (400, 404):
            with self._lock:
                self.violations.append((call.method, [description]))
        body = {"ok": False, "error_code": status, "description": description, **(extra or {})}
        return JSONResponse(body, status_code=status)

    @staticmethod
    def _keyboard_problems(raw: Any) -> list[str]:
        try:
            markup = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return ["reply_markup is not JSON"]
        rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            return ["reply_markup.inline_keyboard must be an array of button rows"]
        problems = []
        for row in rows:
            for b in row:
                if not isinstance(b, dict) or not b.get("text"):
                    problems.append("button without text")
                    continue
                kinds = [k for k in ("url", "callback_data", "web_app", "login_url", "switch_inline_query", "copy_text", "pay") if k in b]
                if len(kinds) != 1:
                    problems.append("a button needs exactly one action field")
                data = b.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode()) <= 64:
                    problems.append("BUTTON_DATA_INVALID: callback_data must be 1-64 bytes")
        return problems

    async def _download(self, request: Request) -> Response:
        token, path = request.path_params["token"], request.path_params["path"]
        if token not in self.bots:
            return Response(b"", status_code=401)
        for file_path, data in self.files.values():
            if file_path == path:
                return Response(data, media_type="application/octet-stream")
        return Response(b"", status_code=404)

    def _m_getFile(self, token: str, params: dict[str, Any]) -> Any:
        found = self.files.get(str(params.get("file_id", "")))
        if found is None:
            return 400, "Bad Request: invalid file_id", []
        path, data = found
        if len(data) > 20 * 1024 * 1024:  # the Bot API serves files up to 20 MB
            return 400, "Bad Request: file is too big", []
        return {"file_id": params["file_id"], "file_unique_id": "u" + str(params["file_id"])[-8:],
                "file_size": len(data), "file_path": path}

    def _m_sendDocument(self, token: str, params: dict[str, Any]) -> Any:
        problems = [] if params.get("chat_id") else ["chat_id is required"]
        upload = next((v for k, v in params.items() if k.startswith("_upload:")), None)
        if upload is None:
            problems.append("document is required (an uploaded file)")
        caption = params.get("caption")
        if caption is not None and utf16_len(caption) > 1024:
            problems.append("caption is longer than 1024 characters")
        if problems:
            return 400, "Bad Request: " + "; ".join(problems), problems
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked:
            return 403, "Forbidden: bot was blocked by the user", []
        name, data, ctype = upload
        with self._lock:
            self.documents.append({"chat_id": chat_id, "filename": name, "data": data, "content_type": ctype,
                                   "caption": caption})
            message_id, self._next_message_id = self._next_message_id, self._next_message_id + 1
        message = {"message_id": message_id, "date": int(time.time()), "chat": {"id": chat_id, "type": "private"},
                   "document": {"file_id": f"doc{message_id}", "file_unique_id": f"d{message_id}",
                                "file_name": name, "file_size": len(data)}}
        if caption:
            message["caption"] = caption
        with self._lock:
            self.sent.append(message)
        return message

    def _m_getMe(self, token: str, params: dict[str, Any]) -> Any:
        return self.bots[token]

    def _m_sendMessage(self, token: str, params: dict[str, Any]) -> Any:
        problems = []
        text = params.get("text")
        if "chat_id" not in params:
            problems.append("Bad Request: chat_id is empty")
        if not text:
            problems.append("Bad Request: message text is empty")
        elif utf16_len(str(text)) > MAX_TEXT:
            problems.append("Bad Request: message is too long")
        if params.get("parse_mode") not in (None, "", "HTML", "MarkdownV2", "Markdown"):
            problems.append("Bad Request: unsupported parse_mode")
        if "reply_markup" in params:
            problems += [f"Bad Request: {p}" for p in self._keyboard_problems(params["reply_markup"])]
        if problems:
            return (400, problems[0], problems)
        chat_id = int(params["chat_id"])
        if chat_id in self.blocked:
            return (403, "Forbidden: bot was blocked by the user", [])
        with self._lock:
            message_id = self._next_message_id
            self._next_message_id += 1
        message: dict[str, Any] = {
            "message_id": message_id, "date": int(time.time()), "text": text,
            "chat": {"id": chat_id, "type": "private"}, "from": self.bots[token],
        }
        if "reply_markup" in params:
            markup = params["reply_markup"]
            message["reply_markup"] = json.loads(markup) if isinstance(markup, str) else markup
        with self._lock:
            self.sent.append(message)
        return message

    def _m_answerCallbackQuery(self, token: str, params: dict[str, Any]) -> Any:
        cid = params.get("callback_query_id")
        if not cid:
            return (400, "Bad Request: callback_query_id is empty", ["callback_query_id missing"])
        with self._lock:
            known = cid in self.callbacks
            answered = self.callbacks.get(cid, False)
            if known:
                self.callbacks[cid] = True
        if not known or answered:
            return (400, "Bad Request: query is too old and response timeout expired or query ID is invalid", [f"callback {cid} unknown or answered twice"])
        if len(str(params.get("text", ""))) > 200:
            return (400, "Bad Request: text is too long", ["answerCallbackQuery text > 200"])
        return True

    def _m_sendChatAction(self, token: str, params: dict[str, Any]) -> Any:
        if "chat_id" not in params or params.get("action") not in CHAT_ACTIONS:
            return (400, "Bad Request: wrong parameter action in request", ["bad sendChatAction"])
        return True

    def _m_deleteWebhook(self, token: str, params: dict[str, Any]) -> Any:
        self.webhook = None
        return True

    def _m_setWebhook(self, token: str, params: dict[str, Any]) -> Any:
        secret = str(params.get("secret_token", ""))
        if not params.get("url") or (secret and not all(c.isalnum() or c in "_-" for c in secret)):
            return (400, "Bad Request: bad webhook", ["bad setWebhook"])
        self.webhook = params
        return True

    async def _m_getUpdates(self, token: str, params: dict[str, Any]) -> Any:
        if self.webhook is not None:
            return (409, "Conflict: can't use getUpdates method while webhook is active", ["getUpdates with webhook set"])
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 2.0)
        while True:
            with self._lock:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                ready = list(self.updates)
            if ready or time.monotonic() >= deadline:
                return ready
            await asyncio.sleep(0.05)
