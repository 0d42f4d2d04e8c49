"""Send dialog and counsellor messages to LINE with the SDK's AsyncMessagingApi.

Reply while the webhook's reply token is fresh (replies are free and immediate), push after
that or when the reply fails. Pushes carry an X-Line-Retry-Key (one UUID per batch, reused on
every retry) so a push whose response was lost is answered 409 by LINE instead of being
delivered twice. 429 and 5xx are retried by the shared policy (bots.common.retry), honouring Retry-After.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from typing import Any

import aiohttp
import structlog
from linebot.v3.messaging import (
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    PushMessageRequest,
    ShowLoadingAnimationRequest,
)
from linebot.v3.messaging.exceptions import ApiException

from bots.common.retry import (
    GIVE_UP,
    RetryPolicy,
    Verdict,
    back_off,
    parse_retry_after,
    retry_after,
)
from bots.line.channels import LineChannel, LineChannels
from bots.line.memory import ChoiceMemory, UsedTokens
from bots.line.render import batches, render
from dialogs.types import OutboundMessage
from handoff.delivery import DeliveryError, DeliveryTarget

log = structlog.get_logger(__name__)

# LINE documents reply tokens as usable for about a minute; keep a margin for the request.
REPLY_TOKEN_TTL_SECONDS = 50.0
# loadingSeconds: a multiple of 5 from 5 to 60 (messaging-api.yml); a counsellor's console
# repeats typing events while they write, so a short animation is renewed rather than stale.
TYPING_SECONDS = 20
_TRANSIENT = (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError)
# What the SDK's generated reply_message passes to its client (messaging-api.yml).
_JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}
_REPLY_RESPONSE_TYPES = {"200": "ReplyMessageResponse", "400": "ErrorResponse", "429": "ErrorResponse"}


def retry_after_seconds(exc: ApiException) -> float | None:
    headers = {str(k).lower(): v for k, v in dict(exc.headers or {}).items()}
    return parse_retry_after(headers.get("retry-after"))


def classify(exc: BaseException) -> Verdict:
    """429 honours Retry-After, 5xx and network errors back off, any other status gives up."""
    if isinstance(exc, ApiException):
        if exc.status == 429:
            return retry_after(retry_after_seconds(exc))
        if (exc.status or 0) >= 500:
            return back_off(f"HTTP {exc.status}")
        return GIVE_UP
    if isinstance(exc, _TRANSIENT):
        return back_off(type(exc).__name__)
    return GIVE_UP


class LineApi:
    """One SDK client per channel, created lazily inside the running event loop, each with one
    pooled aiohttp session (kept-alive connections to LINE) that does not read the proxy
    environment and ~/.netrc on every request: the SDK's own session has trust_env=True."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._clients: dict[str, tuple[AsyncApiClient, AsyncMessagingApi]] = {}
        self._sdk_sessions: list[aiohttp.ClientSession] = []  # replaced; closed with the connector

    def api(self, channel: LineChannel) -> AsyncMessagingApi:
        entry = self._clients.get(channel.key)
        if entry is None:
            client = AsyncApiClient(Configuration(access_token=channel.access_token, host=self.base_url))
            rest = client.rest_client
            sdk_session = rest.pool_manager
            rest.pool_manager = aiohttp.ClientSession(connector=sdk_session.connector, trust_env=False)
            self._sdk_sessions.append(sdk_session)
            entry = (client, AsyncMessagingApi(client))
            self._clients[channel.key] = entry
        return entry[1]

    async def reply(self, channel: LineChannel, body: dict[str, Any], *, timeout: float | None = None) -> None:
        """POST /v2/bot/message/reply with the SDK's client (auth, pooled session, ApiException
        on a refusal, the response read as ReplyMessageResponse), the body as `render` made it.
        The generated `reply_message` would turn that dict into pydantic-v1 models, validate
        them twice (two `validate_arguments` layers) and dump them back to the same dict: about
        a tenth of an event's CPU (issue 19). What render makes is checked against LINE's
        OpenAPI spec by the tests, and against the SDK's models (tests/test_line_sender.py)."""
        await self.api(channel).api_client.call_api(
            "/v2/bot/message/reply", "POST", {}, [], dict(_JSON_HEADERS), body=body, post_params=[], files={},
            response_types_map=_REPLY_RESPONSE_TYPES, auth_settings=["Bearer"], _return_http_data_only=True,
            _preload_content=True, _request_timeout=timeout, collection_formats={},
        )

    def session(self, channel: LineChannel) -> aiohttp.ClientSession:
        """The channel's pooled HTTP session (tests check it)."""
        self.api(channel)
        return self._clients[channel.key][0].rest_client.pool_manager

    async def aclose(self) -> None:
        for client, _ in self._clients.values():
            await client.close()
        self._clients.clear()
        self._sdk_sessions.clear()


class LineSender:
    channel = "line"

    def __init__(
        self,
        channels: LineChannels,
        api: LineApi,
        memory: ChoiceMemory,
        policy: RetryPolicy | None = None,
        reply_token_ttl: float = REPLY_TOKEN_TTL_SECONDS,
    ) -> None:
        self.channels = channels
        self.api = api
        self.memory = memory
        self.policy = policy or RetryPolicy()
        self.reply_token_ttl = reply_token_ttl
        self._used = UsedTokens()

    async def send(self, target: DeliveryTarget, messages: Sequence[OutboundMessage]) -> None:
        channel = self.channels.for_profile(target.profile_id)
        if channel is None:
            raise DeliveryError(f"no LINE channel configured for profile {target.profile_id}")
        rendered = render(messages, target.language)
        token = self._fresh_reply_token(target.reply_context)
        for batch in batches(rendered.messages):
            if token is not None:
                spent, token = token, None
                if await self._reply(channel, spent, batch, target):
                    continue
            await self._push(channel, target.external_user_id, batch, target)
        conv_key = f"{target.profile_id}:line:{target.external_user_id}"
        await self.memory.remember(conv_key, rendered.numbered)

    def _fresh_reply_token(self, ctx: dict[str, str]) -> tuple[str, float] | None:
        token = ctx.get("reply_token")
        if not token or ctx.get("redelivery") == "1":
            return None  # a redelivered event's reply token is stale: push, never try it
        try:
            received = float(ctx.get("reply_token_at", "0"))
        except ValueError:
            received = 0.0
        expires = received + self.reply_token_ttl
        if time.time() >= expires or not self._used.take(token):
            return None
        return token, expires

    async def _reply(
        self, channel: LineChannel, token: tuple[str, float], batch: list[dict[str, Any]], target: DeliveryTarget
    ) -> bool:
        """True when LINE accepted the reply; False means "push instead"."""
        reply_token, expires = token
        # notificationDisabled as the SDK's model fills it in (the same request as before)
        body = {"replyToken": reply_token, "messages": batch, "notificationDisabled": False}

        def only_429(exc: BaseException) -> Verdict:
            # 400 (token expired or already used), 5xx (may or may not have been delivered; a
            # push is the only way left to make sure it arrives): no retry of the reply.
            verdict = classify(exc)
            return verdict if isinstance(exc, ApiException) and exc.status == 429 else GIVE_UP

        try:
            await self.policy.call(
                lambda: self.api.reply(channel, body, timeout=self.policy.request_timeout),
                only_429, deadline=expires, log_event="line_reply_retrying",
                conversation_id=target.conversation_id, channel=channel.key,
            )
            return True
        except (ApiException, *_TRANSIENT) as exc:
            log.info(
                "line_reply_not_accepted_pushing_instead",
                status=getattr(exc, "status", None), error=type(exc).__name__,
                conversation_id=target.conversation_id, channel=channel.key,
            )
            return False

    async def _push(
        self, channel: LineChannel, user_id: str, batch: list[dict[str, Any]], target: DeliveryTarget
    ) -> None:
        retry_key = str(uuid.uuid4())  # one per logical push, reused on every retry
        request = PushMessageRequest.from_dict({"to": user_id, "messages": batch})
        try:
            await self.policy.call(
                lambda: self.api.api(channel).push_message(
                    request, x_line_retry_key=retry_key, _request_timeout=self.policy.request_timeout
                ),
                classify, log_event="line_push_retrying", conversation_id=target.conversation_id, channel=channel.key,
            )
        except ApiException as exc:
            if exc.status == 409:  # this retry key was already accepted: delivered once
                return
            if classify(exc).retry:
                raise DeliveryError(f"LINE push gave up after {self.policy.attempts} attempts (HTTP {exc.status})") from exc
            raise DeliveryError(f"LINE refused the push: HTTP {exc.status}") from exc
        except _TRANSIENT as exc:
            raise DeliveryError(f"LINE push gave up after {self.policy.attempts} attempts ({type(exc).__name__})") from exc

    async def show_typing(self, target: DeliveryTarget, seconds: int = TYPING_SECONDS) -> None:
        """The counsellor is writing: LINE's loading animation in the resident's chat (it
        ends when the next message arrives or after `seconds`). One attempt, no retry."""
        channel = self.channels.for_profile(target.profile_id)
        if channel is None:
            raise DeliveryError(f"no LINE channel configured for profile {target.profile_id}")
        await self.api.api(channel).show_loading_animation(
            ShowLoadingAnimationRequest(chat_id=target.external_user_id, loading_seconds=seconds),
            _request_timeout=5,
        )

    async def show_loading(self, channel: LineChannel, user_id: str, seconds: int = 20) -> None:
        """Best effort: the animation only makes waiting feel shorter, never block on it."""
        try:
            await self.api.api(channel).show_loading_animation(
                ShowLoadingAnimationRequest(chat_id=user_id, loading_seconds=seconds),
                _request_timeout=5,
            )
        except (ApiException, *_TRANSIENT) as exc:
            log.debug("line_loading_animation_failed", error=type(exc).__name__)
