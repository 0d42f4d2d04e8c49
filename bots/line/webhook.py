"""POST /webhooks/line: verify, parse, hand over to the router's queue, answer 200 at once.

- Signature: the SDK's SignatureValidator with each configured channel secret (the one that
  verifies names the channel and so the municipality profile). Missing or wrong: 401, nothing
  stored, a warning with the request id only (never the body).
- Body: not UTF-8 JSON with an `events` list: 400. Each event is parsed with the SDK's models
  on its own, so one malformed or unknown event is skipped (logged by type) without losing
  the others; event types the service does not handle are answered 200 and ignored. A user's
  message event (nearly all traffic) is queued on its routing fields and parsed with the SDK
  in the consumer (`inbound.deferred` / `inbound.expand`), where a malformed one is skipped
  and logged the same way.
- Work: the ack path verifies, parses and enqueues (`ctx.router.submit`: the journal or a Redis
  stream) before the 200, so an acknowledged event is never lost; a full inbox answers 503
  and LINE redelivers. Everything else runs in the consumer, which calls `prepare` (the
  follow's profile language, a typed number as a choice) and `while_slow` (the loading
  animation, only when the answer is slow) around the router's processing.
- Dedupe: `webhookEventId` becomes `channel_event_id`; the router drops repeats, so LINE's
  redeliveries (`deliveryContext.isRedelivery`) change nothing twice.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import inspect
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import aiohttp
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from linebot.v3.messaging.exceptions import ApiException
from linebot.v3.webhooks import Event
from starlette.routing import Route

from bots.common.adapter import BaseAdapter, Capabilities
from bots.common.language import hint_language
from bots.common.retry import RetryPolicy
from bots.line import content, events
from bots.line.channels import LineChannel, LineChannels
from bots.line.inbound import MEDIA_TYPES, Accepted, deferred, expand, to_inbound
from bots.line.memory import ChoiceMemory
from bots.line.render import MAX_LABEL, MAX_QUICK_REPLIES, MAX_TEXT, number_answer, typed_number
from bots.line.sender import LineApi, LineSender
from handoff.events import InboundEvent
from handoff.queue import QueueFull

if TYPE_CHECKING:
    from handoff.context import HandoffContext as AppContext

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 1_000_000  # LINE sends far less; anything bigger is not LINE
PROFILE_TIMEOUT_SECONDS = 3.0
EXTRAS_KEY = "line"
# Marks the ack path leaves on an event for the consumer (in reply_context, which travels with it).
ASK_LANGUAGE = "ask_language"
LOADING = "loading"
LOADING_AFTER_SECONDS = 1.0
DEFERRED_MARKS = {LOADING: "1"}  # what dispatch would add to a deferred message, put there at once


def _signed_by(secret: str, body: bytes, signature: str) -> bool:
    digest = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(digest, signature)


class LineAdapter(BaseAdapter):
    """Per-process LINE state: channels, SDK clients, the sender, pending background work."""

    name = "line"
    capabilities = Capabilities(
        typing_indicator=True, buttons=True, max_buttons=MAX_QUICK_REPLIES, max_button_label=MAX_LABEL,
        media_kinds=frozenset(MEDIA_TYPES.values()),
        max_text=MAX_TEXT, call_action=True,
    )

    def __init__(
        self,
        router: Any,
        channels: LineChannels,
        api: LineApi,
        memory: ChoiceMemory,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.router = router
        self.channels = channels
        self.api = api
        self.memory = memory
        self.sender = LineSender(channels, api, memory, policy)
        self.loading_after = LOADING_AFTER_SECONDS
        self.data_base_url = "https://api-data.line.me"
        self._background: set[asyncio.Task[None]] = set()

    @classmethod
    def from_context(cls, ctx: AppContext, policy: RetryPolicy | None = None) -> LineAdapter:
        profiles = ctx.profiles.all() if hasattr(ctx.profiles, "all") else []
        channels = LineChannels.from_config(ctx.settings, profiles)
        adapter = cls(ctx.router, channels, LineApi(ctx.settings.line_api_base_url), ChoiceMemory(ctx.redis), policy)
        adapter.data_base_url = ctx.settings.line_data_api_base_url
        ctx.senders.register(adapter.sender)
        hooks = getattr(ctx.router, "hooks", None)
        if hooks is not None:  # the consumer calls prepare / while_slow
            hooks["line"] = adapter
        ctx.extras[EXTRAS_KEY] = adapter
        return adapter

    # --- inbound -------------------------------------------------------------------------
    def parse(self, channel: LineChannel, payload: dict[str, Any], received_at: float,
              body: str | None = None) -> list[Accepted]:
        accepted: list[Accepted] = []
        whole = body if len(payload["events"]) == 1 else None  # the body is that one event's record
        for raw in payload["events"]:
            # a user's message: queued as it came, the SDK parses it in the consumer
            quick = deferred(raw, channel, received_at, marks=DEFERRED_MARKS, body=whole)
            if quick is not None:
                accepted.append(quick)
                continue
            try:
                event = Event.from_dict(raw)
            except Exception as exc:  # the SDK raises ValueError, KeyError or TypeError
                event_type = raw.get("type") if isinstance(raw, dict) else None
                log.warning(
                    "line_event_skipped_does_not_match_the_webhook_schema",
                    event_type=str(event_type)[:40], error=type(exc).__name__, channel=channel.key,
                )
                continue
            where = events.leave_target(event)  # added to a group or room: leave it
            if where is not None:
                self._spawn(events.leave(self.api.api(channel), where))
            withdrawn = events.unsent(event)  # the resident unsent a message
            if withdrawn is not None:
                self._spawn(events.withdraw(self.router, channel.profile_id, *withdrawn))
            item = to_inbound(event, channel, received_at)
            if item is not None:
                accepted.append(item)
        return accepted

    async def dispatch(self, items: list[Accepted]) -> None:
        """The ack path: enqueue each event in order, nothing else (raises QueueFull when the
        inbox is full). What needs LINE's API (the profile's language, the loading animation)
        is marked on the event and done by the consumer, in `prepare` and `while_slow`."""
        for item in items:
            event = item.event
            flags = {ASK_LANGUAGE: "1"} if item.wants_profile else {}
            if item.wants_loading:
                flags[LOADING] = "1"
            if flags and any(event.reply_context.get(k) != v for k, v in flags.items()):
                event = event.model_copy(update={"reply_context": {**event.reply_context, **flags}})
            await self.submit(event)

    # --- consumer side (called by the router before and while it processes an event) -----
    async def prepare(self, event: InboundEvent) -> InboundEvent:
        """The language hint of a follow (LINE profile) and a typed number as the choice it
        names in the last numbered list."""
        channel = self.channels.for_profile(event.profile_id)
        event = expand(event, channel)  # a message the ack queued unparsed (raises EventIgnored)
        if event.reply_context.get(ASK_LANGUAGE) and channel is not None:
            language = await self.profile_language(channel, event.external_user_id)
            if language:
                event = event.model_copy(update={"language_hint": language})
        if event.media_refs and channel is not None:
            event = await self.fetch_media(channel, event)
        # Only a typed number needs the last numbered list (a Redis read saved for the rest).
        if event.kind == "message" and event.choice is None and typed_number(event.text) is not None:
            choice = number_answer(event.text, await self.memory.numbered(event.conversation_key))
            if choice is not None:
                event = event.model_copy(update={"choice": choice, "text": None})
        return event

    async def fetch_media(self, channel: LineChannel, event: InboundEvent) -> InboundEvent:
        """The photo or file behind each reference, from LINE's content API (in the consumer)."""
        from handoff.actions.media import MediaLimits

        limit = MediaLimits.of(self.router).max_file_bytes
        got = [await content.fetch(self.api.session(channel), self.data_base_url, channel.access_token, ref, limit)
               for ref in event.media_refs]
        return event.model_copy(update={"attachments": [*event.attachments, *got], "media_refs": []})

    def while_slow(self, event: InboundEvent) -> asyncio.TimerHandle | None:
        """The loading animation, only when the answer takes longer than `loading_after`
        seconds (a translation, a busy queue): most answers come sooner, and a call to LINE
        per event was a third of the ack's CPU when it was made on the ack path."""
        channel = self.channels.for_profile(event.profile_id)
        if not event.reply_context.get(LOADING) or channel is None:
            return None
        return asyncio.get_running_loop().call_later(
            self.loading_after, lambda: self._spawn(self.sender.show_loading(channel, event.external_user_id)))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def profile_language(self, channel: LineChannel, user_id: str) -> str | None:
        """The LINE app language (BCP 47, as a catalog code) as a hint; the display name and
        picture in the same answer are never kept."""
        try:
            async with asyncio.timeout(PROFILE_TIMEOUT_SECONDS):
                profile = await self.api.api(channel).get_profile(user_id)
        except (ApiException, TimeoutError, OSError, aiohttp.ClientError) as exc:
            log.info("line_profile_unavailable", error=type(exc).__name__, channel=channel.key)
            return None
        return hint_language(profile.language)

    async def submit(self, event: InboundEvent) -> None:
        result = self.router.submit(event)
        if inspect.isawaitable(result):
            await result

    async def drain(self) -> None:
        """Wait for background work (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    def routes(self) -> APIRouter:
        return _routes(self)

    async def aclose(self) -> None:
        await self.drain()
        await self.api.aclose()


def _problem(status: int, detail: str) -> tuple[int, dict[str, Any]]:
    return status, {"detail": detail}


def _request_id() -> str:
    """An id to tie a refusal's log line to the request (made only when there is one to log)."""
    return uuid.uuid4().hex[:12]


async def acknowledge(adapter: LineAdapter, body: bytes, signature: str | None) -> tuple[int, dict[str, Any]]:
    """The webhook's work: verify, parse, enqueue. Answers (status, JSON body)."""
    received_at = time.time()
    if len(body) > MAX_BODY_BYTES:
        log.warning("line_webhook_refused_body_too_large", request_id=_request_id(), bytes=len(body))
        return _problem(413, "body too large")
    if not signature:
        log.warning("line_webhook_refused_no_x_line_signature", request_id=_request_id())
        return _problem(401, "missing X-Line-Signature")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        # Not text at all: still say 401 unless a channel really signed these bytes.
        if any(_signed_by(c.channel_secret, body, signature) for c in adapter.channels):
            return _problem(400, "body is not UTF-8")
        log.warning("line_webhook_refused_bad_signature", request_id=_request_id())
        return _problem(401, "invalid signature")
    channel = adapter.channels.verify(text, signature)
    if channel is None:
        log.warning("line_webhook_refused_bad_signature", request_id=_request_id())
        return _problem(401, "invalid signature")
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        log.warning("line_webhook_malformed_json", request_id=_request_id(), channel=channel.key)
        return _problem(400, "malformed JSON")
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        log.warning("line_webhook_no_events_list", request_id=_request_id(), channel=channel.key)
        return _problem(400, "expected an object with an events list")
    items = adapter.parse(channel, payload, received_at, text)
    try:
        await adapter.dispatch(items)
    except QueueFull:
        log.warning("line_webhook_inbox_full", request_id=_request_id())
        return _problem(503, "inbox full; retry later")
    except Exception:
        # Not acknowledged: LINE redelivers, and the router's dedupe makes that safe.
        log.exception("line_webhook_could_not_enqueue", request_id=_request_id())
        return _problem(503, "could not enqueue; retry")
    return 200, {}


class _AckApp:
    """POST /webhooks/line as a bare ASGI app: the body read, `acknowledge`, the answer sent."""

    def __init__(self, adapter: LineAdapter) -> None:
        self.adapter = adapter

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= MAX_BODY_BYTES:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        signature = None
        for name, value in scope["headers"]:
            if name == b"x-line-signature":
                signature = value.decode("latin-1")
                break
        if size > MAX_BODY_BYTES:
            log.warning("line_webhook_refused_body_too_large", request_id=_request_id(), bytes=size)
            status, payload = _problem(413, "body too large")
        else:
            status, payload = await acknowledge(self.adapter, b"".join(chunks), signature)
        # as Starlette's JSONResponse renders it
        raw = b"{}" if not payload else json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]})
        await send({"type": "http.response.body", "body": raw})


def line_router(ctx: AppContext) -> APIRouter:
    """The LINE webhook route; builds the adapter and registers its sender on `ctx`."""
    return (ctx.extras.get(EXTRAS_KEY) or LineAdapter.from_context(ctx)).routes()


def build_adapter(ctx: AppContext) -> LineAdapter:
    """Built (by `bots.line`'s factory) when a channel is configured."""
    return ctx.extras.get(EXTRAS_KEY) or LineAdapter.from_context(ctx)


def _routes(adapter: LineAdapter) -> APIRouter:
    router = APIRouter(tags=["channels"])

    @router.post(
        "/webhooks/line",
        summary="LINE Messaging API webhook (X-Line-Signature)",
        responses={
            200: {"description": "Accepted (also for event types that are ignored)"},
            400: {"description": "Body is not a LINE webhook payload"},
            401: {"description": "Missing or invalid X-Line-Signature"},
            413: {"description": "Body too large"},
            503: {"description": "Could not enqueue; LINE redelivers (enable redelivery in the console)"},
        },
    )
    async def line_webhook(request: Request) -> JSONResponse:
        status, payload = await acknowledge(adapter, await request.body(), request.headers.get("x-line-signature"))
        return JSONResponse(payload, status_code=status)

    # The same handler as a bare ASGI route ahead of the documented one (which stays for the
    # OpenAPI schema): FastAPI's per-endpoint work (dependencies, Request, JSONResponse) was a
    # sixth of the ack's CPU. Every middleware (security headers, body limit) still wraps it.
    router.routes.insert(0, Route("/webhooks/line", _AckApp(adapter), methods=["POST"], include_in_schema=False))
    return router
