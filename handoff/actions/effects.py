"""The dialog's effects applied inside the inbound step's transaction: one handler per effect
type, found by type in a registry (no switch on strings). Every type in
`dialogs.types.EFFECT_TYPES` has a handler; importing this module checks it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from casecore.models import ContactPoint, Conversation
from dialogs.engine import handed_over_message
from dialogs.profile import Profile
from dialogs.types import (
    EFFECT_TYPES,
    CreateCase,
    Effect,
    EndConversation,
    FlagLook,
    MarkUrgent,
    OutboundMessage,
    PurgeUnconsented,
    RecordConsent,
    RequestHuman,
    SetLanguage,
)
from handoff.actions import case, consent, conversation, purge
from handoff.actions.case import ToJapanese


@dataclass
class StepScope:
    """What an effect may touch: the step's session, conversation and contact, the messages
    going out (the case number is added to them), and whether the step purged."""

    s: AsyncSession
    conv: Conversation
    contact: ContactPoint
    profile: Profile
    messages: list[OutboundMessage]
    now: datetime
    to_japanese: ToJapanese
    purged: bool = False


E = TypeVar("E")
Handler = Callable[[StepScope, Any], Awaitable[None]]
HANDLERS: dict[type, Handler] = {}


def handles(effect_type: type[E]) -> Callable[[Callable[[StepScope, E], Awaitable[None]]], Handler]:
    def register(fn: Callable[[StepScope, E], Awaitable[None]]) -> Handler:
        HANDLERS[effect_type] = fn
        return fn
    return register


async def apply(scope: StepScope, effects: Sequence[Effect]) -> None:
    for eff in effects:
        await HANDLERS[type(eff)](scope, eff)


@handles(SetLanguage)
async def _set_language(x: StepScope, eff: SetLanguage) -> None:
    x.conv.language = eff.language
    if eff.source == "explicit" or x.contact.language is None:
        x.contact.language, x.contact.language_source = eff.language, eff.source


@handles(RecordConsent)
async def _record_consent(x: StepScope, eff: RecordConsent) -> None:
    await consent.record_in(x.s, x.conv, eff)


@handles(MarkUrgent)
async def _mark_urgent(x: StepScope, eff: MarkUrgent) -> None:
    await conversation.mark_urgent_in(x.s, x.conv, eff.reasons)


@handles(FlagLook)
async def _flag_look(x: StepScope, eff: FlagLook) -> None:
    await conversation.flag_look_in(x.s, x.conv, eff.reasons)


@handles(RequestHuman)
async def _request_human(x: StepScope, eff: RequestHuman) -> None:
    await conversation.request_human_in(x.s, x.conv, eff.reason, x.now)


@handles(CreateCase)
async def _create_case(x: StepScope, eff: CreateCase) -> None:
    created = await case.create_from_intake_in(x.s, x.conv, eff, x.now, x.to_japanese)
    if created is not None:
        x.messages.append(handed_over_message(x.profile, x.conv.language, created.number, created.urgent, x.now))


@handles(PurgeUnconsented)
async def _purge(x: StepScope, eff: PurgeUnconsented) -> None:
    x.purged = await purge.unconsented_in(x.s, x.conv) or x.purged


@handles(EndConversation)
async def _end(x: StepScope, eff: EndConversation) -> None:
    conversation.end_in(x.conv)


_missing = [t.__name__ for t in EFFECT_TYPES if t not in HANDLERS]
assert not _missing, f"effects without a handler: {_missing}"
