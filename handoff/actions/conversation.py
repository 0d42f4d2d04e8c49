"""Who answers the resident: claim, transfer, release (to the queue, or to the bot while the
intake is unfinished), reopen, close, block; and the inbound step's
own status changes (a request for a person, the dialog's end, urgency and "look" flags).

Status changes follow `casecore.lifecycle.CONVERSATION`; claim, transfer, release and close
are one conditional UPDATE each (WHERE the machine's source status and, for a hold, the
holder), so two counsellors acting at once cannot both win: the database decides and the
loser gets the refusal (409 with who holds it, or 403).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import access, audit
from casecore.lifecycle import CONVERSATION
from casecore.models import Case, ContactPoint, Conversation, Counsellor
from casecore.store import is_crisis_record
from casecore.types import utcnow
from handoff import blocks, relay
from handoff.actions import survey
from handoff.actions.base import ActionError, atomic, conversation_next
from handoff.actions.messages import add_counsellor_message, add_notice, notice
from handoff.context import HandoffContext
from handoff.ownership import (
    held_by,
    locked_conversation,
    not_mine,
    refusal,
    require_owner_or_supervisor,
)
from handoff.waiting_list import intake_finished


@dataclass(frozen=True)
class Changed:
    conversation_id: int
    status: str
    owner: Counsellor | None = None


async def claim(ctx: HandoffContext, conversation_id: int, actor: Counsellor) -> Changed:
    """Take a waiting conversation; the resident is told a counsellor joined."""
    status = conversation_next("waiting", "claim")
    async with atomic(ctx) as (s, after):
        res = await s.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.status.in_(CONVERSATION.sources("claim")))
            .values(status=status, owner_counsellor_id=actor.id, waiting_since=None, updated_at=utcnow(),
                    ever_claimed=True)
            .execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:
            raise await refusal(s, conversation_id, "claim")
        await audit.record(s, action="conversation_claimed", target_type="conversation", target_id=conversation_id,
                           actor_type="counsellor", actor_id=actor.id)
        await access.record_holder(s, conversation_id, actor.id)  # need-to-know (issue 11)
        after.status_changed(conversation_id, status)
        after.queue_changed(conversation_id)
    # The notice is its own action: a failed notice never undoes the claim.
    await notice(ctx, conversation_id, "counsellor_joined", relay.canned_notice("counsellor_joined"))
    return Changed(conversation_id, status, actor)


async def transfer(
    ctx: HandoffContext, conversation_id: int, actor: Counsellor, to_login: str, profile_id: str | None = None,
) -> Changed:
    """Hand a held conversation to another active counsellor (of the same municipality)."""
    async with atomic(ctx) as (s, after):
        target = await s.scalar(select(Counsellor).where(Counsellor.login == to_login))
        if target is None or not target.active:
            raise ActionError(422, f"no active counsellor with login {to_login!r}")
        if profile_id is not None and not access.can_see(target, profile_id):
            raise ActionError(422, f"{to_login!r} is not assigned to this municipality")
        from_id = (await locked_conversation(s, conversation_id)).owner_counsellor_id
        status = conversation_next("counsellor", "transfer")
        res = await s.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, held_by(actor, supervisors=True))
            .values(owner_counsellor_id=target.id, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:
            raise await not_mine(s, conversation_id, actor)
        await audit.record(s, action="conversation_transferred", target_type="conversation", target_id=conversation_id,
                           actor_type="counsellor", actor_id=actor.id, detail={"from": from_id, "to": target.id})
        await access.record_holder(s, conversation_id, target.id)  # need-to-know (issue 11)
        after.status_changed(conversation_id, status)
        after.queue_changed(conversation_id)
    return Changed(conversation_id, status, target)


async def _end_hold(s: AsyncSession, conversation_id: int, actor: Counsellor, trigger: str,
                    action: str, **values: Any) -> str:
    """Change a conversation the counsellor (or a supervisor) holds, atomically, and audit it."""
    status = conversation_next("counsellor", trigger)
    res = await s.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, held_by(actor, supervisors=True))
        .values(status=status, updated_at=utcnow(), **values)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        raise await not_mine(s, conversation_id, actor)
    await audit.record(s, action=action, target_type="conversation", target_id=conversation_id,
                       actor_type="counsellor", actor_id=actor.id)
    return status


async def release(ctx: HandoffContext, conversation_id: int, actor: Counsellor, to: str = "queue") -> Changed:
    """Let go of a conversation without losing it (issue 14): back to the queue, where the next
    counsellor claims it (`to="queue"`, the default), or to the bot only while the intake is
    unfinished (`to="bot"`: the dialog continues where it was). The resident is told which,
    in their language."""
    if to not in ("queue", "bot"):
        raise ActionError(422, "release to 'queue' or 'bot'")
    async with atomic(ctx) as (s, after):
        conv = await locked_conversation(s, conversation_id)
        if to == "bot" and intake_finished(conv, ctx.profiles):
            raise ActionError(409, "the intake is finished: release returns it to the queue")
        trigger, action = ("release", "conversation_released") if to == "bot" else ("requeue", "conversation_requeued")
        values: dict[str, Any] = {"owner_counsellor_id": None}
        if to == "queue":
            values["waiting_since"] = utcnow()
        status = await _end_hold(s, conversation_id, actor, trigger, action, **values)
        after.status_changed(conversation_id, status)
        after.queue_changed(conversation_id)
    key = "released_to_bot" if to == "bot" else "released_to_queue"
    await notice(ctx, conversation_id, key, relay.canned_notice(key))
    return Changed(conversation_id, status)


async def reopen(ctx: HandoffContext, conversation_id: int, actor: Counsellor) -> Changed:
    """Take a closed conversation up again (the counsellor holds it). Not a blocked resident's,
    and not when the resident has since started a newer conversation (open that one instead)."""
    async with atomic(ctx) as (s, after):
        conv = await locked_conversation(s, conversation_id)
        contact = await s.get(ContactPoint, conv.contact_point_id)
        if contact is not None and contact.blocked:
            raise ActionError(409, "the resident is blocked: lift the block first")
        newer = await s.scalar(select(Conversation.id).where(
            Conversation.contact_point_id == conv.contact_point_id, Conversation.id > conv.id,
            Conversation.status != "closed"))
        if newer is not None:
            raise ActionError(409, f"the resident has a newer conversation #{newer}", newer_conversation_id=newer)
        status = conversation_next(conv.status, "reopen")
        res = await s.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.status == "closed")
            .values(status=status, owner_counsellor_id=actor.id, waiting_since=None, updated_at=utcnow(),
                    ever_claimed=True)
            .execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:
            raise await refusal(s, conversation_id, "reopen")
        await audit.record(s, action="conversation_reopened", target_type="conversation", target_id=conversation_id,
                           actor_type="counsellor", actor_id=actor.id)
        after.status_changed(conversation_id, status)
        after.queue_changed(conversation_id)
    await notice(ctx, conversation_id, "conversation_reopened", relay.canned_notice("conversation_reopened"))
    return Changed(conversation_id, status, actor)


async def close(
    ctx: HandoffContext, conversation_id: int, actor: Counsellor, *, message: str | None = None,
    canned_key: str | None = None,
) -> Changed:
    """Closed for good, with a closing message (the counsellor's, translated; a canned one; or
    the service's standard closing text) and the survey's invitation stored in the same
    transaction. The resident's next message opens a new conversation (unless it answers the
    survey)."""
    async with atomic(ctx) as (s, _):  # a read: may they, and in which language
        conv = await require_owner_or_supervisor(s, conversation_id, actor)
        language = conv.language
    if message or canned_key:
        out = await relay.prepare(ctx, language, message, canned_key)  # outside: may take seconds
        rendered = None
    else:
        out, rendered = None, relay.catalog_notice("closed.body")(language)
    async with atomic(ctx) as (s, after):
        conv = await require_owner_or_supervisor(s, conversation_id, actor)
        if out is not None:
            await add_counsellor_message(s, after, ctx, conv, actor, out, canned_key)
        else:
            assert rendered is not None
            await add_notice(s, after, ctx, conv, "closed", rendered)
        # the invitation goes before the status change: the web chat page stops listening then
        await survey.invite_in(s, after, ctx, conv, ctx.profiles.get(conv.profile_id))
        status = await _end_hold(s, conversation_id, actor, "close", "conversation_closed", waiting_since=None)
        after.status_changed(conversation_id, status)
        after.queue_changed(conversation_id)
    return Changed(conversation_id, status)


async def block(ctx: HandoffContext, conversation_id: int, actor: Counsellor, *, blocked: bool = True,
                reason: str = "rules") -> bool:
    """Remove a resident who broke the rules and keep them from returning on this channel
    (002 §6(1)⑥), or lift it (`blocked=False`). Leads and admins only (checked by the caller)."""
    async with atomic(ctx) as (s, after):
        conv = await s.get(Conversation, conversation_id)
        if conv is None:
            raise ActionError(404, "no such conversation", plain=True)
        contact = await s.get(ContactPoint, conv.contact_point_id)
        assert contact is not None
        contact.blocked = blocked
        if blocked:
            conv.status, conv.owner_counsellor_id = conversation_next(conv.status, "block"), None
        # issue 17: a web chat block also covers this browser and network (handoff/blocks.py)
        await blocks.apply(s, ctx.settings, conversation_id, actor.id, reason, blocked)
        await audit.record(s, action="contact_blocked" if blocked else "contact_unblocked",
                           target_type="contact_point", target_id=contact.id, actor_type="counsellor",
                           actor_id=actor.id, detail={"conversation_id": conversation_id, "reason": reason})
        if blocked:
            after.status_changed(conversation_id, conv.status)
            after.queue_changed(conversation_id)
    return blocked


async def start_webchat_session(ctx: HandoffContext, conversation_id: int, token_hash: str,
                                device: str, ip: str | None) -> str:
    """A web chat session's bearer token (its hash) on the conversation, and the browser and
    network it came from (so a block holds, handoff/blocks.py); returns its language."""
    async with atomic(ctx) as (s, _):
        conv = await s.get(Conversation, conversation_id)
        if conv is None:
            raise ActionError(404, "no such conversation", plain=True)
        # A token moves to the new conversation a crisis opened after its chat ended.
        await s.execute(update(Conversation).where(
            Conversation.access_token_hash == token_hash, Conversation.id != conversation_id,
        ).values(access_token_hash=None).execution_options(synchronize_session=False))
        conv.access_token_hash = token_hash
        await blocks.remember_origin(s, conv.id, device, ip)
        return conv.language


# ── inside the inbound step's transaction (see handoff.actions.inbound) ─────────────────────

async def request_human_in(s: AsyncSession, conv: Conversation, reason: str | None, now: datetime) -> None:
    """The resident (or the dialog, for a risk or the end of the intake) asks for a person:
    the bot's conversation starts waiting. Waiting or held already: nothing changes."""
    if not CONVERSATION.can(conv.status, "request_human"):
        return
    conv.status = CONVERSATION.next(conv.status, "request_human")
    conv.waiting_since = now
    await audit.record(s, action="handoff_requested", target_type="conversation",
                       target_id=conv.id, detail={"reason": reason})


def end_in(conv: Conversation) -> None:
    """The dialog ended (declined, stopped). A crisis stays in the queue until a counsellor
    closes it."""
    if is_crisis_record(conv) and conv.status in ("waiting", "counsellor"):
        return
    if CONVERSATION.can(conv.status, "close"):
        conv.status = CONVERSATION.next(conv.status, "close")


async def mark_urgent_in(s: AsyncSession, conv: Conversation, reasons: Sequence[str], *, held: bool = False,
                         state: dict[str, Any] | None = None) -> None:
    """Urgent on the conversation and its case (and, for a held conversation, its dialog state)."""
    kinds = list(reasons)
    conv.urgent = True
    conv.urgency_reasons = sorted({*(conv.urgency_reasons or []), *kinds})
    if state is not None:
        prior = state.get("urgent_reasons") or []
        state["urgent_reasons"] = [*prior, *(k for k in kinds if k not in prior)]
    if conv.case_id:
        case = await s.get(Case, conv.case_id)
        if case:
            case.urgent = True
            case.urgency_reasons = sorted({*case.urgency_reasons, *kinds})
    await audit.record(s, action="conversation_marked_urgent", target_type="conversation", target_id=conv.id,
                       detail={"reasons": kinds, "held": True} if held else {"reasons": kinds})


async def flag_look_in(s: AsyncSession, conv: Conversation, reasons: Sequence[str], *, held: bool = False,
                       state: dict[str, Any] | None = None) -> None:
    """A counsellor looks soon (not urgent)."""
    kinds = list(reasons)
    conv.look_reasons = sorted({*(conv.look_reasons or []), *kinds})
    if state is not None:
        state["look_reasons"] = sorted({*(state.get("look_reasons") or []), *kinds})
    await audit.record(s, action="conversation_flagged_look", target_type="conversation", target_id=conv.id,
                       detail={"reasons": kinds, "held": True} if held else {"reasons": kinds})
