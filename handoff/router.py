"""The inbound path every channel uses: dedupe, per-conversation order, bot or counsellor
ownership, one database transaction per step, then delivery and live updates."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from prometheus_client import Counter, Histogram
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casecore import audit, store
from casecore.db import transaction
from casecore.models import Case, Conversation, Message
from casecore.types import utcnow
from dialogs.engine import DialogContext, DialogInput, handed_over_message, step
from dialogs.profile import ProfileRegistry
from dialogs.state import DialogState
from dialogs.types import Effect, OutboundMessage
from handoff.delivery import DeliveryError, DeliveryTarget, SenderRegistry
from handoff.events import InboundEvent
from handoff.hub import QUEUE_TOPIC, Hub, conversation_topic
from handoff.locks import ConversationLocks
from i18n import risk
from i18n.catalog import catalog

log = structlog.get_logger(__name__)
EVENTS = Counter("madoguchi_inbound_events_total", "Inbound events", ["channel", "outcome"])
STEP_SECONDS = Histogram("madoguchi_inbound_step_seconds", "Inbound event processing time", ["channel"])
DELIVERY_FAILURES = Counter("madoguchi_delivery_failures_total", "Outbound deliveries given up", ["channel"])


class Queue(Protocol):
    async def start(self, handler: Callable[[InboundEvent], Awaitable[object]]) -> None: ...
    async def submit(self, event: InboundEvent) -> None: ...
    async def join(self) -> None: ...
    async def stop(self) -> None: ...


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


# Hooks filled in by i18n when available: (text) -> language code or None, and a translator.
Detector = Callable[[str], str | None]


class Router:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        profiles: ProfileRegistry,
        senders: SenderRegistry,
        hub: Hub,
        queue: Queue,
        locks: ConversationLocks,
        *,
        max_chars: int = 4000,
        resume_after: timedelta = timedelta(minutes=30),
        detector: Detector | None = None,
        translator: Any | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.profiles = profiles
        self.senders = senders
        self.hub = hub
        self.queue = queue
        self.locks = locks
        self.max_chars = max_chars
        self.resume_after = resume_after
        self.detector = detector
        self.translator = translator
        self.clock = clock

    async def start(self) -> None:
        await self.queue.start(self.process)

    async def submit(self, event: InboundEvent) -> None:
        """What webhooks call: enqueue and return; the queue keeps per-conversation order."""
        await self.queue.submit(event)

    async def process(self, event: InboundEvent) -> ProcessResult:
        started = time.perf_counter()
        async with self.locks.hold(event.conversation_key):
            try:
                result, target = await self._process_locked(event)
            except IntegrityError:
                # Another process stored the same channel event first: it is a redelivery.
                EVENTS.labels(event.channel, "duplicate").inc()
                return ProcessResult(conversation_id=None, duplicate=True)
        STEP_SECONDS.labels(event.channel).observe(time.perf_counter() - started)
        EVENTS.labels(event.channel, "duplicate" if result.duplicate else "processed").inc()
        if not result.duplicate and result.conversation_id is not None:
            await self._after_commit(event, result, target)
        return result

    # ── the transaction ────────────────────────────────────────────────────────
    async def _process_locked(self, event: InboundEvent) -> tuple[ProcessResult, DeliveryTarget | None]:
        now = self.clock()
        profile = self.profiles.get(event.profile_id)
        async with transaction(self.sessions) as s:
            if await store.event_seen(s, event.channel, event.channel_event_id):
                return await self._duplicate_result(s, event), None
            contact = await store.contact_point(s, profile.id, event.channel, event.external_user_id)
            if event.kind == "unfollow":
                contact.unfollowed_at = now
                await audit.record(s, action="contact_unfollowed", target_type="contact_point", target_id=contact.id)
                return ProcessResult(conversation_id=None, state=None), None
            if contact.blocked:
                # Removed for breaking the rules (002 §6(1)⑥): nothing is answered or stored;
                # the attempt is counted for the monthly report.
                await audit.record(s, action="blocked_contact_ignored", target_type="contact_point", target_id=contact.id)
                return ProcessResult(conversation_id=None, conversation_status="closed"), None
            if contact.unfollowed_at is not None and event.kind in ("follow", "message"):
                contact.unfollowed_at = None
            conv = await store.open_conversation(s, contact)
            if conv is None:
                conv = await store.new_conversation(s, contact, contact.language)
            text, cut = self._clip(event.text)
            inbound = Message(
                conversation_id=conv.id, direction="in", sender="resident", channel=event.channel,
                channel_event_id=event.channel_event_id, kind=(event.media_type and "media") or "text",
                text=text, language=conv.language, choice_id=event.choice, media_type=event.media_type,
                created_at=now,
            )
            s.add(inbound)
            await s.flush()  # the unique (channel, event id) constraint catches a racing redelivery
            resumed = bool(
                conv.last_inbound_at and now - conv.last_inbound_at > self.resume_after and conv.status == "bot"
            )
            conv.last_inbound_at = now
            result = ProcessResult(conversation_id=conv.id, case_id=conv.case_id)

            if conv.status == "counsellor":
                # The bot is silent while a counsellor owns the conversation, but the message is
                # still screened: the console flags it at once.
                await self._translate_inbound(inbound, conv)
                finding = risk.screen(text, *((inbound.translation,) if inbound.translation else ()),
                                      language=conv.language)
                if finding:
                    await self._flag_held(s, conv, finding)
                    result.risk_kinds, result.risk_level = finding.kinds, finding.level
                result.conversation_status, result.state = conv.status, conv.dialog_node
                result.message_ids = [inbound.id]
                return result, None

            state = DialogState.from_dict(conv.dialog_state)
            state.flow = state.flow or profile.flow
            # Detect until a language is chosen: a crisis at the language question is answered in
            # the language it was written in.
            unknown = state.node is None or state.language is None
            detected = self.detector(text) if (self.detector and text and unknown) else None
            translations = await self._translations_for_risk(text, conv.language)
            inp = DialogInput(
                text=text, choice=event.choice, kind="media" if event.kind == "media" else event.kind,
                language_hint=event.language_hint, detected_language=detected,
                translations=translations, resumed=resumed,
            )
            res = step(state, inp, DialogContext(profile=profile, now=now, max_chars=self.max_chars))
            messages = list(res.messages)
            if cut:
                messages.insert(0, OutboundMessage(text=catalog(res.state.language).text("message.cut", limit=self.max_chars)))
            purged = await self._apply_effects(s, conv, contact, res.effects, res.state, messages, now)
            conv.dialog_state = res.state.to_dict() if conv.dialog_state is not None or res.state.node else None
            if purged:
                conv.dialog_state = None
            conv.dialog_node = res.state.node or ""
            if not purged:
                await self._translate_inbound(inbound, conv)
            out_ids = []
            for m in messages:
                row = Message(
                    conversation_id=conv.id, direction="out", sender="bot", channel=event.channel,
                    kind=m.kind, text=None if purged else m.text, language=conv.language,
                    choices=[{"id": c.id, "label": c.label} for c in m.choices], multi=m.multi,
                    created_at=now,
                )
                s.add(row)
                out_ids.append(row)
            await s.flush()
            result.message_ids = [inbound.id, *(r.id for r in out_ids)]
            result.messages = messages
            result.conversation_status = conv.status
            result.state = res.state.node
            result.case_id = conv.case_id
            if conv.case_id:
                result.case_number = await s.scalar(select(Case.number).where(Case.id == conv.case_id))
            target = DeliveryTarget(
                profile_id=profile.id, channel=event.channel, external_user_id=event.external_user_id,
                conversation_id=conv.id, language=conv.language, reply_context=dict(event.reply_context),
            )
            return result, target

    def _clip(self, text: str | None) -> tuple[str | None, bool]:
        if text is None:
            return None, False
        text = text.replace("\x00", "")
        if len(text) > self.max_chars:
            return text[: self.max_chars], True
        return text, False

    async def _duplicate_result(self, s: AsyncSession, event: InboundEvent) -> ProcessResult:
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
                from dialogs.types import Choice

                replies.append(OutboundMessage(
                    text=m.text, choices=tuple(Choice(c["id"], c["label"]) for c in (m.choices or [])),
                    kind=m.kind if m.kind in ("text", "notice", "emergency", "summary") else "text", multi=m.multi,  # type: ignore[arg-type]
                ))
        return ProcessResult(
            conversation_id=conv.id if conv else None, messages=replies,
            conversation_status=conv.status if conv else "closed", state=conv.dialog_node if conv else None,
            case_id=conv.case_id if conv else None, duplicate=True,
        )

    async def _apply_effects(
        self, s: AsyncSession, conv: Conversation, contact: Any, effects: Sequence[Effect],
        state: DialogState, messages: list[OutboundMessage], now: datetime,
    ) -> bool:
        """Apply the step's effects; True when unconsented data was purged."""
        profile = self.profiles.get(conv.profile_id)
        purged = False
        for eff in effects:
            d = eff.data
            if eff.kind == "set_language":
                conv.language = d["language"]
                if d.get("source") == "explicit" or contact.language is None:
                    contact.language, contact.language_source = d["language"], d.get("source")
            elif eff.kind == "record_consent":
                await store.record_consent(
                    s, conv, kind=d["consent_kind"], decision=d["decision"],
                    wording_version=d["wording_version"], wording_hash=d["wording_hash"], language=d["language"],
                )
                if d["consent_kind"] == "use":
                    conv.consented_use = d["decision"] == "granted"
            elif eff.kind == "mark_urgent":
                conv.urgent = True
                conv.urgency_reasons = sorted({*(conv.urgency_reasons or []), *d["reasons"]})
                await audit.record(s, action="conversation_marked_urgent", target_type="conversation",
                                   target_id=conv.id, detail={"reasons": list(d["reasons"])})
                if conv.case_id:
                    case = await s.get(Case, conv.case_id)
                    if case:
                        case.urgent = True
                        case.urgency_reasons = sorted({*case.urgency_reasons, *d["reasons"]})
            elif eff.kind == "flag_look":
                conv.look_reasons = sorted({*(conv.look_reasons or []), *d["reasons"]})
                await audit.record(s, action="conversation_flagged_look", target_type="conversation",
                                   target_id=conv.id, detail={"reasons": list(d["reasons"])})
            elif eff.kind == "request_human":
                if conv.status == "bot":
                    conv.status = "waiting"
                    conv.waiting_since = now
                    await audit.record(s, action="handoff_requested", target_type="conversation",
                                       target_id=conv.id, detail={"reason": d.get("reason")})
            elif eff.kind == "create_case":
                if not conv.consented_use:  # defence in depth: never a case without consent
                    log.error("case_without_consent_refused", conversation_id=conv.id)
                    continue
                if conv.case_id is None:
                    case = await store.create_case(
                        s, conv, answers=d["answers"], language=d["language"],
                        urgent_reasons=d["urgent_reasons"], recommended=d["recommended"], now=now,
                    )
                    problem = d["answers"].get("problem_text")
                    if problem and conv.language != "ja":
                        case.problem_text_ja = await self._to_japanese(problem, conv.language)
                    messages.append(handed_over_message(profile, conv.language, case.number, case.urgent, now))
            elif eff.kind == "purge_unconsented":
                purged = await store.purge_unconsented(s, conv) or purged
            elif eff.kind == "end_conversation":
                if store.is_crisis_record(conv) and conv.status in ("waiting", "counsellor"):
                    continue  # a crisis stays in the queue until a counsellor closes it
                conv.status = "closed"
        return purged

    async def _flag_held(self, s: AsyncSession, conv: Conversation, finding: risk.RiskFinding) -> None:
        """A screened message in a conversation a counsellor holds: urgent (emergency) or
        flagged (look), on the conversation, its dialog state and its case."""
        kinds = list(finding.kinds)
        state = dict(conv.dialog_state or {})
        if finding.level == "look":
            conv.look_reasons = sorted({*(conv.look_reasons or []), *kinds})
            state["look_reasons"] = sorted({*(state.get("look_reasons") or []), *kinds})
            action = "conversation_flagged_look"
        else:
            conv.urgent = True
            conv.urgency_reasons = sorted({*(conv.urgency_reasons or []), *kinds})
            state["urgent_reasons"] = [*(state.get("urgent_reasons") or []),
                                       *(k for k in kinds if k not in (state.get("urgent_reasons") or []))]
            action = "conversation_marked_urgent"
            if conv.case_id:
                case = await s.get(Case, conv.case_id)
                if case:
                    case.urgent = True
                    case.urgency_reasons = sorted({*case.urgency_reasons, *kinds})
        if conv.dialog_state is not None:
            conv.dialog_state = state
        await audit.record(s, action=action, target_type="conversation", target_id=conv.id,
                           detail={"reasons": kinds, "held": True})

    # ── translation hooks (no-ops until a translator is installed) ─────────────
    async def _to_japanese(self, text: str, language: str) -> str | None:
        if self.translator is None or language.startswith("ja"):
            return None
        res = await self.translator.translate(text, language, "ja")
        return res.text if res.status == "translated" else None

    async def _translate_inbound(self, msg: Message, conv: Conversation) -> None:
        if not msg.text or conv.language.startswith("ja") or self.translator is None:
            return
        res = await self.translator.translate(msg.text, conv.language, "ja")
        msg.translation_status = res.status
        msg.translation_confidence = res.confidence
        if res.status == "translated":
            msg.translation, msg.translation_language = res.text, "ja"

    async def _translations_for_risk(self, text: str | None, language: str) -> tuple[str, ...]:
        if not text or self.translator is None or language in ("ja", "ja-easy", "en"):
            return ()
        res = await self.translator.translate(text, language, "en")
        return (res.text,) if res.status == "translated" else ()

    # ── after the commit ───────────────────────────────────────────────────────
    async def _after_commit(self, event: InboundEvent, result: ProcessResult, target: DeliveryTarget | None) -> None:
        assert result.conversation_id is not None
        await self.hub.publish(conversation_topic(result.conversation_id), {
            "type": "activity", "conversation_id": result.conversation_id,
            "conversation_status": result.conversation_status, "message_ids": result.message_ids,
        })
        if result.conversation_status in ("waiting", "counsellor"):
            await self.hub.publish(QUEUE_TOPIC, {"type": "queue_changed", "conversation_id": result.conversation_id})
        if result.risk_kinds:
            # The console shows a banner at once (the counsellor may be reading another case).
            alert = {"type": "risk_flagged", "conversation_id": result.conversation_id, "profile_id": event.profile_id,
                     "kinds": list(result.risk_kinds), "level": result.risk_level or "emergency"}
            await self.hub.publish(QUEUE_TOPIC, alert)
            await self.hub.publish(conversation_topic(result.conversation_id), alert)
        # The web chat answers in the HTTP response; every other channel is sent to.
        if target is not None and result.messages and event.channel != "webchat":
            await self.deliver(target, result.messages, result.message_ids[1:])

    async def deliver(self, target: DeliveryTarget, messages: Sequence[OutboundMessage], message_ids: Sequence[int] = ()) -> bool:
        sender = self.senders.get(target.channel)
        status = "sent"
        if sender is None:
            log.error("no_sender_for_channel", channel=target.channel, conversation_id=target.conversation_id)
            status = "failed"
        else:
            try:
                await sender.send(target, messages)
            except DeliveryError as exc:
                DELIVERY_FAILURES.labels(target.channel).inc()
                log.warning("delivery_failed", channel=target.channel, conversation_id=target.conversation_id, error=str(exc)[:200])
                status = "failed"
        if message_ids:
            async with transaction(self.sessions) as s:
                for mid in message_ids:
                    m = await s.get(Message, mid)
                    if m is not None:
                        m.delivery_status = status
        return status == "sent"
