"""The inbound step: one resident event in one transaction — dedupe, store, then the dialog
steps (owner: bot) or the message goes to the counsellor (owner: counsellor). The dialog's
effects are applied in the same transaction (handoff.actions.effects); the hub events and the
channel delivery run after the commit. A redelivery racing this one fails the unique
(channel, event id) constraint: the transaction rolls back and nothing is published."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import audit, store
from casecore import consent as ledger
from casecore.models import Case, ContactPoint, Conversation, Message
from dialogs import withdrawal
from dialogs.engine import DialogContext, DialogInput, step
from dialogs.profile import Profile
from dialogs.state import DialogState
from dialogs.types import Choice, OutboundMessage
from handoff.actions import conversation, effects, secure, survey, unsend
from handoff.actions import media as media_actions
from handoff.actions.base import OnCommit, grouped
from handoff.delivery import DeliveryTarget
from handoff.events import InboundEvent
from handoff.hub import QUEUE_TOPIC, conversation_topic
from handoff.offload import run_pure
from i18n import risk
from i18n.catalog import catalog
from i18n.detect import detect

if TYPE_CHECKING:
    from handoff.router import Router

_CASE_NUMBER = select(Case.__table__.c.number).where(Case.__table__.c.id == bindparam("case_id"))  # built once


@dataclass
class ProcessResult:
    conversation_id: int | None
    messages: list[OutboundMessage] = field(default_factory=list)
    conversation_status: str = "bot"
    state: str | None = None
    case_id: int | None = None
    case_number: str | None = None
    duplicate: bool = False
    message_ids: list[int] = field(default_factory=list)
    # A message screened while a counsellor holds the conversation: the console is told at once.
    risk_kinds: tuple[str, ...] = ()
    risk_level: str | None = None
    # issue 16: what the operator's secure page shows (None: not from the page), and whether
    # the chat hears nothing of this step (answered on the page)
    page_messages: list[OutboundMessage] | None = None
    channel_silent: bool = False
    secure_done: bool = False
    language: str | None = None  # the conversation's, after the step (Router.known_language)


async def process(router: Router, event: InboundEvent) -> ProcessResult:
    """The action. The caller holds the conversation's lock. On SQLite the step shares the
    writer's transaction with the steps waiting beside it (handoff.actions.base.grouped): it
    changes rows only, and runs again alone if the group is rolled back."""
    await _translate_ahead(router, event)
    return await grouped(router, lambda s, after: _step_in(router, s, after, event))


async def _translate_ahead(router: Router, event: InboundEvent) -> None:
    """Translation takes 100–300 ms a message. Done here, before the writer turn, in the
    conversation's language as last seen (Router.known_language), the step's own calls come
    from the translator's cache: a translated message used to hold SQLite's one writer while
    every other resident's step waited (issue 19). A language first known, or changed, in this
    step is translated in the step, as before."""
    language = router.known_language(event.conversation_key)
    if router.translator is None or language is None or not event.text:
        return
    text, _ = _clip(event.text, router.max_chars)
    ahead = []
    if _screened_in_english(language):
        ahead.append(router.translator.translate(text, language, "en", on_confidence=_confidence_not_needed))
    if _shown_in_japanese(language):
        ahead.append(router.translator.translate(text, language, "ja"))
    await asyncio.gather(*ahead)


async def _step_in(router: Router, s: AsyncSession, after: OnCommit, event: InboundEvent) -> ProcessResult:
    profile = router.profiles.get(event.profile_id)
    # One statement: the contact point, its open conversation, and whether this is a redelivery.
    found = await store.resident_of(s, profile.id, event.channel, event.external_user_id, event.channel_event_id)
    if found.seen:
        return await _duplicate_result(s, event)
    now = router.clock()
    if found.contact is not None:
        contact, new_contact = found.contact, False
    else:  # (when a racing first message made it, its conversation is looked up below)
        contact, new_contact = await store.create_contact(s, profile.id, event.channel, event.external_user_id,
                                                          found.index)
    refused = await _contact_refused(s, contact, event, now)
    if refused is not None:
        return refused
    looked_up = found.contact is not None  # its open conversation came with it
    if contact.survey_state is not None:  # answering the survey of a chat that ended?
        took = await _survey_answer(router, s, after, event, contact, now)
        if took is not None:
            return took
        looked_up = False  # the survey's step may have touched conversations: read again
    conv = await _open_or_new_conversation(s, contact, new_contact, found.conversation if looked_up else None,
                                           looked_up)
    text, cut = _clip(event.text, router.max_chars)
    inbound = Message(
        conversation_id=conv.id, direction="in", sender="resident", channel=event.channel,
        channel_event_id=event.channel_event_id, kind=(_media_type(event) and "media") or "text",
        text=text, language=conv.language, choice_id=event.choice, media_type=_media_type(event),
        created_at=now,
    )
    s.add(inbound)
    # Not flushed yet: on the bot's path the row is written with the replies in one flush
    # (one unit-of-work pass less per event, issue 19). The unique (channel, event id)
    # constraint still catches a racing redelivery there, and the whole step rolls back.
    with s.no_autoflush:  # the tombstone look-up reads audit rows, which this row cannot change
        unsent = await unsend.tombstoned(s, profile.id, event.channel, event.external_user_id,
                                         event.channel_event_id, now)
    if unsent:
        await s.flush()
        return await _unsent_before_stored(router, s, after, conv, inbound, event, text)
    stored = await _store_media(router, s, conv, inbound, event, now)
    resumed = bool(
        conv.last_inbound_at and now - conv.last_inbound_at > router.resume_after and conv.status == "bot"
    )
    conv.last_inbound_at = now
    target: DeliveryTarget | None
    if conv.status == "counsellor":
        result = await _to_counsellor(router, s, conv, inbound, text, _beyond_cut(event, cut))
        target = await _media_notices_only(router, s, conv, event, stored, result, now,
                                           _delivery_target(profile, event, conv))
    else:
        result = await _dialog_step(router, s, conv, contact, profile, inbound, event, text, cut, resumed, now,
                                    stored, new_contact=new_contact)
        target = _delivery_target(profile, event, conv)  # after the step: it may change the language
    _after_commit(router, after, event, result, target)
    result.language = conv.language
    return result


def _delivery_target(profile: Profile, event: InboundEvent, conv: Conversation) -> DeliveryTarget:
    return DeliveryTarget(
        profile_id=profile.id, channel=event.channel, external_user_id=event.external_user_id,
        conversation_id=conv.id, language=conv.language, reply_context=dict(event.reply_context),
    )


async def _unsent_before_stored(router: Router, s: AsyncSession, after: OnCommit, conv: Conversation,
                                inbound: Message, event: InboundEvent, text: str | None) -> ProcessResult:
    """The resident unsent this message before it reached us (handoff.actions.unsend): kept as
    `unsent` (the text never stored) and not answered; a crisis in it is still screened, and
    flagged for a counsellor to look at."""
    unsend.withdraw_stored(inbound, after)
    await audit.record(s, action="message_unsent", target_type="conversation", target_id=conv.id,
                       actor_type="resident", detail={"message_id": inbound.id, "late": True})
    finding = await run_pure(risk.screen, text, language=conv.language) if text else None
    if finding:
        state = dict(conv.dialog_state or {})
        await conversation.flag_look_in(s, conv, finding.kinds, held=conv.status == "counsellor", state=state)
        if conv.dialog_state is not None:
            conv.dialog_state = state
    return ProcessResult(conversation_id=conv.id, conversation_status=conv.status, state=conv.dialog_node or None,
                         case_id=conv.case_id, message_ids=[inbound.id])


async def _contact_refused(s: AsyncSession, contact: ContactPoint, event: InboundEvent,
                           now: datetime) -> ProcessResult | None:
    if event.kind == "unfollow":
        contact.unfollowed_at = now
        await audit.record(s, action="contact_unfollowed", target_type="contact_point", target_id=contact.id)
        return ProcessResult(conversation_id=None, state=None)
    if contact.blocked:
        # Removed for breaking the rules (002 §6(1)⑥): nothing is answered or stored; the
        # attempt is counted for the monthly report.
        await audit.record(s, action="blocked_contact_ignored", target_type="contact_point", target_id=contact.id)
        return ProcessResult(conversation_id=None, conversation_status="closed")
    if contact.unfollowed_at is not None and event.kind in ("follow", "message"):
        contact.unfollowed_at = None
    return None


async def _survey_answer(router: Router, s: AsyncSession, after: OnCommit, event: InboundEvent,
                         contact: ContactPoint, now: datetime) -> ProcessResult | None:
    """The survey takes a button press or a typed answer; anything else (a crisis above all,
    which is screened here first) leaves the survey and goes on as a new message."""
    whole = (event.screen_text,) if event.screen_text else ()
    if event.kind != "message" or (event.text and risk.screen(event.text, *whole, language=contact.language)):
        contact.survey_state = None
        return None
    took = await survey.advance_in(s, contact, choice=event.choice, text=event.text,
                                   event_id=event.channel_event_id, now=now, max_comment=router.max_chars)
    if took is None:
        return None
    conv = took.conversation
    survey.publish(after, took)
    if took.messages and event.channel != "webchat":
        target = DeliveryTarget(profile_id=conv.profile_id, channel=event.channel,
                                external_user_id=event.external_user_id, conversation_id=conv.id,
                                language=conv.language, reply_context=dict(event.reply_context))
        after.call(router.deliver, target, took.messages, took.message_ids)
    return ProcessResult(conversation_id=conv.id, messages=took.messages, conversation_status="closed",
                         state=took.state, case_id=conv.case_id, message_ids=took.message_ids,
                         duplicate=not took.messages)


async def _to_counsellor(router: Router, s: AsyncSession, conv: Conversation, inbound: Message,
                         text: str | None, beyond_cut: tuple[str, ...] = ()) -> ProcessResult:
    """The bot is silent while a counsellor holds the conversation, but the message is still
    screened: the console flags it at once."""
    await s.flush()  # the message's id, for the console (and a racing redelivery fails here)
    await _translate_inbound(router, inbound, conv)
    finding = await run_pure(risk.screen, text, *((inbound.translation,) if inbound.translation else ()),
                             *beyond_cut, language=conv.language)
    result = ProcessResult(conversation_id=conv.id, case_id=conv.case_id, conversation_status=conv.status,
                           state=conv.dialog_node, message_ids=[inbound.id])
    if finding:
        state = dict(conv.dialog_state or {})
        if finding.level == "look":
            await conversation.flag_look_in(s, conv, finding.kinds, held=True, state=state)
        else:
            await conversation.mark_urgent_in(s, conv, finding.kinds, held=True, state=state)
        if conv.dialog_state is not None:
            conv.dialog_state = state
        result.risk_kinds, result.risk_level = finding.kinds, finding.level
    return result


async def _dialog_step(
    router: Router, s: AsyncSession, conv: Conversation, contact: ContactPoint, profile: Profile,
    inbound: Message, event: InboundEvent, text: str | None, cut: bool, resumed: bool, now: datetime,
    stored: media_actions.Stored | None = None, *, new_contact: bool = False,
) -> ProcessResult:
    state = DialogState.from_dict(conv.dialog_state)
    if not conv.dialog_state:  # a new intake runs the profile's flow (DialogState defaults to "intake")
        state.flow = profile.flow
    # Detect until a language is chosen: a crisis at the language question is answered in the
    # language it was written in.
    unknown = state.node is None or state.language is None
    # (off the loop too: lingua loads its models, about a second, on first use)
    detected = await run_pure(router.detector, text) if (router.detector and text and unknown) else None
    guessed = (risk.term_language(text) or detect(text).language) if (text and unknown and detected is None) else None
    inp = DialogInput(
        text=text, choice=event.choice, kind="media" if event.kind == "media" else event.kind,
        language_hint=event.language_hint, detected_language=detected, guessed_language=guessed,
        translations=(*await _translations_for_risk(router, text, conv.language), *_beyond_cut(event, cut)),
        resumed=resumed, secure=secure.via_page(event), media=_media_input(event, stored),
    )
    # The ledger's consents matter only to a withdrawal (dialogs.withdrawal): read for it alone.
    granted = await _granted(s, contact, new_contact) if withdrawal.may_reach(state, inp) else ()
    if secure.refuses_in_chat(router, event, profile, state):
        return await _secure_refused(router, s, conv, contact, profile, inbound, event, state, now)
    # Off the loop: the risk screen inside the step can take tens of ms (handoff.offload).
    res = await run_pure(step, state, inp, DialogContext(profile=profile, now=now, max_chars=router.max_chars,
                                                         granted=granted))
    messages = list(res.messages)
    if cut:
        messages.insert(0, OutboundMessage(text=catalog(res.state.language).text("message.cut", limit=router.max_chars)))
    if stored is not None:
        messages[0:0] = _media_notices(router, stored, res.state.language)
    scope = effects.StepScope(s=s, conv=conv, contact=contact, profile=profile, messages=messages, now=now,
                              to_japanese=lambda t, lang: _to_japanese(router, t, lang))
    await effects.apply(scope, res.effects)
    routed = secure.route_step(router, conv, contact, profile, event, state, res.state, messages)
    messages = routed.messages
    conv.dialog_state = res.state.to_dict() if conv.dialog_state is not None or res.state.node else None
    if scope.purged:
        conv.dialog_state = None
    conv.dialog_node = res.state.node or ""
    if not scope.purged:
        await _translate_inbound(router, inbound, conv)
    rows = [
        Message(
            conversation_id=conv.id, direction="out", sender="bot", channel=event.channel,
            kind=m.kind, text=None if scope.purged else m.text, language=conv.language,
            choices=[{"id": c.id, "label": c.label} for c in m.choices], multi=m.multi, created_at=now,
        )
        for m in messages
    ]
    s.add_all(rows)
    await s.flush()
    case_number = await s.scalar(_CASE_NUMBER, {"case_id": conv.case_id}) if conv.case_id else None
    return ProcessResult(
        conversation_id=conv.id, messages=messages, conversation_status=conv.status, state=res.state.node,
        case_id=conv.case_id, case_number=case_number, message_ids=[inbound.id, *(r.id for r in rows)],
        page_messages=routed.page, channel_silent=routed.silent, secure_done=routed.done,
    )


async def _open_or_new_conversation(s: AsyncSession, contact: ContactPoint, new_contact: bool,
                                    found: Conversation | None, looked_up: bool) -> Conversation:
    """The resident's open conversation (`found`, when `looked_up` with the contact point), or a
    new one (a contact point made by this event has none: no look-up)."""
    if not looked_up and not new_contact:
        found = await store.open_conversation(s, contact)
    return found or await store.new_conversation(s, contact, contact.language)


async def _granted(s: AsyncSession, contact: ContactPoint, new_contact: bool) -> tuple[str, ...]:
    """The consents the resident has given (a resident may withdraw in a later conversation).
    A contact point made by this event has none. The read does not flush this event's pending
    changes first (they touch no consent row), so the conversation's row is written once."""
    if new_contact:
        return ()
    with s.no_autoflush:
        return await ledger.granted_kinds(s, contact.id)


async def _secure_refused(router: Router, s: AsyncSession, conv: Conversation, contact: ContactPoint, profile: Profile,
                          inbound: Message, event: InboundEvent, state: DialogState, now: datetime) -> ProcessResult:
    """A secure step's answer typed in the chat of a profile that keeps those steps off it: the
    words are not kept (the row says only that something was withheld); a fresh link answers."""
    inbound.text, inbound.kind = None, "withheld"
    messages = secure.refused(router, conv, contact, profile, state, event.channel)
    conv.dialog_state = state.to_dict()
    rows = [Message(conversation_id=conv.id, direction="out", sender="bot", channel=event.channel, kind=m.kind,
                    text=m.text, language=conv.language, created_at=now) for m in messages]
    s.add_all(rows)
    await s.flush()
    return ProcessResult(conversation_id=conv.id, messages=messages, conversation_status=conv.status,
                         state=conv.dialog_node, case_id=conv.case_id, message_ids=[inbound.id, *(r.id for r in rows)])


def _after_commit(router: Router, after: OnCommit, event: InboundEvent, result: ProcessResult,
                  target: DeliveryTarget | None) -> None:
    """Hub events for the console and the web chat socket, then the channel's delivery."""
    cid = result.conversation_id
    assert cid is not None
    after.publish(conversation_topic(cid), {
        "type": "activity", "conversation_id": cid,
        "conversation_status": result.conversation_status, "message_ids": result.message_ids,
    })
    if result.conversation_status in ("waiting", "counsellor"):
        after.queue_changed(cid)
    if result.risk_kinds:
        # The console shows a banner at once (the counsellor may be reading another case).
        alert = {"type": "risk_flagged", "conversation_id": cid, "profile_id": event.profile_id,
                 "kinds": list(result.risk_kinds), "level": result.risk_level or "emergency"}
        after.publish(QUEUE_TOPIC, alert)
        after.publish(conversation_topic(cid), alert)
    # The web chat answers in the HTTP response; every other channel is sent to.
    if target is not None and result.messages and event.channel != "webchat" and not result.channel_silent:
        after.call(router.deliver, target, result.messages, result.message_ids[1:])


# ── media (issue 16): stored with the message, in this transaction ─────────────────────────
def _media_type(event: InboundEvent) -> str | None:
    if event.media_type or not (event.attachments or event.media_refs):
        return event.media_type
    first = (event.attachments or event.media_refs)[0]
    return first.kind or "file"


async def _store_media(router: Router, s: AsyncSession, conv: Conversation, inbound: Message,
                       event: InboundEvent, now: datetime) -> media_actions.Stored | None:
    items = media_actions.event_items(event)
    if not items:
        return None
    await s.flush()  # the media rows name the message
    return await media_actions.store(
        s, conv, inbound, items, limits=media_actions.MediaLimits.of(router), now=now,
        media_type=event.media_type, album=event.media_group.id if event.media_group else None)


def _media_input(event: InboundEvent, stored: media_actions.Stored | None) -> str | None:
    if stored is None:
        return None
    if stored.album_repeat:
        return "album_more"
    return "received" if stored.received else "not_kept"


def _media_notices(router: Router, stored: media_actions.Stored, language: str | None) -> list[OutboundMessage]:
    words = catalog(language, "media")
    limit = max(1, media_actions.MediaLimits.of(router).max_file_bytes // (1024 * 1024))
    return [OutboundMessage(text=words.text(key, limit=limit), kind="notice") for key in stored.notices()]


async def _media_notices_only(router: Router, s: AsyncSession, conv: Conversation, event: InboundEvent,
                              stored: media_actions.Stored | None, result: ProcessResult, now: datetime,
                              target: DeliveryTarget) -> DeliveryTarget | None:
    """While a counsellor holds the conversation the bot is silent, except to say that a file
    was not kept (the resident would otherwise think it arrived)."""
    notices = _media_notices(router, stored, conv.language) if stored is not None else []
    if not notices:
        return None
    rows = [Message(conversation_id=conv.id, direction="out", sender="system", channel=event.channel,
                    kind="notice", text=m.text, language=conv.language, created_at=now) for m in notices]
    s.add_all(rows)
    await s.flush()
    result.messages = notices
    result.message_ids = [*result.message_ids, *(r.id for r in rows)]
    return target


def _beyond_cut(event: InboundEvent, cut: bool) -> tuple[str, ...]:
    """What was cut off a long message, screened with the rest (never stored): the whole text
    the channel had, or the event's own text when the router cut it."""
    whole = event.screen_text or (event.text if cut else None)
    return (whole.replace("\x00", ""),) if whole else ()


def _clip(text: str | None, max_chars: int) -> tuple[str | None, bool]:
    if text is None:
        return None, False
    text = text.replace("\x00", "")
    if len(text) > max_chars:
        return text[:max_chars], True
    return text, False


async def _duplicate_result(s: AsyncSession, event: InboundEvent) -> ProcessResult:
    """The answer given the first time (so a client's retry gets its replies back)."""
    first = await s.scalar(
        select(Message).where(Message.channel == event.channel, Message.channel_event_id == event.channel_event_id)
    )
    assert first is not None
    conv = await s.get(Conversation, first.conversation_id)
    later = (
        await s.scalars(
            select(Message).where(Message.conversation_id == first.conversation_id, Message.id > first.id).order_by(Message.id)
        )
    ).all()
    replies: list[OutboundMessage] = []
    for m in later:
        if m.direction == "in":
            break
        if m.sender == "bot" and m.text:
            replies.append(OutboundMessage(
                text=m.text, choices=tuple(Choice(c["id"], c["label"]) for c in (m.choices or [])),
                kind=m.kind if m.kind in ("text", "notice", "emergency", "summary") else "text", multi=m.multi,  # type: ignore[arg-type]
            ))
    return ProcessResult(
        conversation_id=conv.id if conv else None, messages=replies,
        conversation_status=conv.status if conv else "closed", state=conv.dialog_node if conv else None,
        case_id=conv.case_id if conv else None, duplicate=True,
    )


# ── translation hooks (no-ops until a translator is installed) ─────────────────────────────
async def _to_japanese(router: Router, text: str, language: str) -> str | None:
    if router.translator is None or language.startswith("ja"):
        return None
    res = await router.translator.translate(text, language, "ja", on_confidence=_confidence_not_needed)
    return res.text if res.status == "translated" else None


async def _confidence_not_needed(_complete: object) -> None:
    """For a translation whose text alone is used (the risk screen's English, the case's
    Japanese summary): the round trip that scores it finishes, and is cached, after the reply."""


def _shown_in_japanese(language: str) -> bool:
    """A resident's message is translated for the counsellor (Japanese) unless it is Japanese."""
    return not language.startswith("ja")


def _screened_in_english(language: str) -> bool:
    """The risk screen also reads an English translation, unless the text is Japanese or English."""
    return language not in ("ja", "ja-easy", "en")


async def _translate_inbound(router: Router, msg: Message, conv: Conversation) -> None:
    if not msg.text or not _shown_in_japanese(conv.language) or router.translator is None:
        return
    res = await router.translator.translate(msg.text, conv.language, "ja")
    msg.translation_status = res.status
    msg.translation_confidence = res.confidence
    if res.status == "translated":
        msg.translation, msg.translation_language = res.text, "ja"


async def _translations_for_risk(router: Router, text: str | None, language: str) -> tuple[str, ...]:
    if not text or router.translator is None or not _screened_in_english(language):
        return ()
    res = await router.translator.translate(text, language, "en", on_confidence=_confidence_not_needed)
    return (res.text,) if res.status == "translated" else ()
