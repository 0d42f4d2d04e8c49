"""What the resident reads while a counsellor holds the conversation, and getting it to them.

The messages themselves are stored by actions (`handoff.actions.messages`); this module
prepares their text (translation, canned replies), delivers them after the commit and shows
the typing indicator.

The counsellor writes Japanese. The transcript keeps that original in `text` and what the
resident reads in `translation` (machine translation, or a canned reply's human-written
version). Without a translator the Japanese goes out untranslated and is marked so
(`translation_status`), never silently. Web chat residents read from the store and get a hub
event; every other channel is sent to through the router's sender registry.

System notices (a counsellor joined, "we have not forgotten you", out-of-hours contacts) are
stored the other way round, like inbound messages: `text` is what the resident reads and
`translation` the Japanese for the console.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog

from casecore.db import transaction
from casecore.models import Conversation, Counsellor
from dialogs.types import OutboundMessage
from handoff import canned
from handoff.actions.base import ActionError
from handoff.context import HandoffContext as AppContext
from handoff.delivery import DeliveryTarget
from handoff.hub import conversation_topic
from handoff.ownership import require_owner
from handoff.security_texts import security_text
from i18n.catalog import catalog

log = structlog.get_logger(__name__)




@dataclass(frozen=True)
class Outgoing:
    ja: str
    resident_text: str
    translation: str | None
    translation_language: str | None
    translation_status: str | None
    confidence: float | None
    machine_translated: bool


def needs_translation(language: str) -> bool:
    return not language.startswith("ja")


async def prepare(ctx: AppContext, language: str, text: str | None, canned_key: str | None) -> Outgoing:
    if canned_key is not None:
        async with transaction(ctx.sessions) as s:  # the replies leads edited in the console
            edited = await canned.edits(s)
        try:
            c = canned.reply(canned_key, language, edited)
        except KeyError:
            raise ActionError(422, f"no canned reply {canned_key!r}") from None
        if not needs_translation(language):
            return Outgoing(c.ja, c.ja, None, None, None, None, False)
        return Outgoing(c.ja, c.text, c.text, c.language, "canned", None, False)
    assert text is not None
    if not needs_translation(language):
        return Outgoing(text, text, None, None, None, None, False)
    translator = ctx.router.translator
    if translator is None:
        return Outgoing(text, text, None, None, "unavailable", None, False)
    res = await translator.translate(text, "ja", language)
    if res.status == "translated":
        return Outgoing(text, res.text, res.text, language, "translated", res.confidence, True)
    # untranslated / timeout / error: the Japanese goes out, marked in the transcript
    return Outgoing(text, text, None, None, res.status, None, False)


def target_of(conv: Conversation) -> DeliveryTarget:
    return DeliveryTarget(
        profile_id=conv.profile_id, channel=conv.channel, external_user_id=conv.contact_point.external_id,
        conversation_id=conv.id, language=conv.language, reply_context={},
    )


Render = Callable[[str], tuple[str, str, str]]  # language -> (resident text, its language, Japanese)


def canned_notice(key: str, params: dict[str, Any] | None = None, ja_params: dict[str, Any] | None = None) -> Render:
    return lambda language: canned.notice(key, language, params, ja_params)


def catalog_notice(key: str) -> Render:
    """A text of the intake's catalogs (i18n), e.g. `closed.body`."""
    def render(language: str) -> tuple[str, str, str]:
        cat = catalog(language)
        return cat.text(key), cat.language, catalog("ja").text(key)
    return render


async def deliver_after_commit(ctx: AppContext, target: DeliveryTarget, message_id: int, event_type: str, message: OutboundMessage) -> None:
    topic = conversation_topic(target.conversation_id)
    # The web chat resident (and every console watching) picks it up from the store.
    await ctx.hub.publish(topic, {"type": event_type, "conversation_id": target.conversation_id, "message_id": message_id})
    if target.channel == "webchat":
        return
    ok = await ctx.router.deliver(target, [message], [message_id])
    log.info("relayed", conversation_id=target.conversation_id, message_id=message_id, channel=target.channel, delivered=ok)
    await ctx.hub.publish(topic, {
        "type": "delivery", "conversation_id": target.conversation_id, "message_id": message_id,
        "delivery_status": "sent" if ok else "failed",
    })


async def show_typing(ctx: AppContext, conversation_id: int, me: Counsellor) -> bool:
    """Tell the resident the counsellor is writing, where the channel can show it: a hub
    event for the web chat page, and `show_typing(target)` of the channel's sender when it
    has one (LINE's loading animation, Telegram's chat action). Best effort, never raises."""
    async with transaction(ctx.sessions) as s:
        conv = await require_owner(s, conversation_id, me)
        target = target_of(conv)
    await ctx.hub.publish(conversation_topic(conversation_id), {
        "type": "typing", "conversation_id": conversation_id, "sender": "counsellor",
    })
    sender = ctx.router.senders.get(target.channel)
    hook = getattr(sender, "show_typing", None)
    if hook is None:
        return False
    try:
        await hook(target)
    except Exception as exc:  # an indicator is never worth an error
        log.debug("typing_indicator_failed", channel=target.channel, error=type(exc).__name__)
        return False
    return True




async def publish_status(ctx: AppContext, conversation_id: int, status: str) -> None:
    """Tell the resident's page and every console that the owner changed (actions queue the
    same event with `OnCommit.status_changed`, published after their commit)."""
    await ctx.hub.publish(conversation_topic(conversation_id), {
        "type": "conversation_status", "conversation_id": conversation_id, "conversation_status": status,
    })


def security_notice(key: str) -> Render:
    """A notice from the security texts: (the resident's words, their language, Japanese)."""
    def render(language: str) -> tuple[str, str, str]:
        return security_text(key, language), language, security_text(key, "ja")
    return render
