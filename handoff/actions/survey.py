"""The post-session survey (002 §6(1)⑤): invited when a counsellor closes, answered one
question at a time on a chat channel or on a one-use form by mail, stored anonymously.

Anonymity: the answers row (casecore.reporting.models.SurveyAnswer) holds the profile, the
Japanese month, the channel and the language only — no conversation, no contact. While a chat
resident is answering, the coded answers so far (yes / partly / no) sit on the contact point
(`survey_state`) and are removed when the survey ends; the resident's answers are never
written into the transcript. The one trace on the conversation is the audit row `ANSWERED`,
so a second answer is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import audit
from casecore.models import AuditEvent, ContactPoint, Conversation, Message
from casecore.reporting.models import SurveyAnswer
from casecore.reporting.periods import Month
from casecore.types import utcnow
from dialogs.profile import Profile
from dialogs.survey import Step, survey_email_invitation, survey_invitation, survey_step
from dialogs.types import OutboundMessage
from handoff import relay, survey_links
from handoff.actions.base import OnCommit, atomic
from handoff.context import HandoffContext
from handoff.hub import conversation_topic

ANSWERED = "survey_answered"
KIND = "survey"  # the transcript rows of the survey's questions (the web chat keeps their buttons live)
CHAT_CHANNELS = ("webchat", "line", "telegram")


async def record_answer(ctx: HandoffContext, conv: Conversation, *, helped: object, easy: object, again: object,
                        comment: str | None, audit_action: str = ANSWERED) -> None:
    async with atomic(ctx) as (s, _):
        _store(s, conv, helped, easy, again, comment)
        await audit.record(s, action=audit_action, target_type="conversation", target_id=conv.id, actor_type="resident")


async def answered(s: AsyncSession, conversation_id: int) -> bool:
    return await s.scalar(select(AuditEvent.id).where(
        AuditEvent.action == ANSWERED, AuditEvent.target_type == "conversation",
        AuditEvent.target_id == str(conversation_id)).limit(1)) is not None


def _store(s: AsyncSession, conv: Conversation, helped: object, easy: object, again: object,
           comment: str | None) -> None:
    s.add(SurveyAnswer(profile_id=conv.profile_id, month=str(Month.of(utcnow())), channel=conv.channel,
                       language=conv.language, helped=helped, easy=easy, again=again,
                       comment=comment, has_comment=comment is not None))


# ── the invitation, in the close action's transaction ────────────────────────────────────
async def invite_in(s: AsyncSession, after: OnCommit, ctx: HandoffContext, conv: Conversation,
                    profile: Profile) -> int | None:
    """Invite the resident of a conversation being closed; returns the message id, or None
    when this profile sends no survey or the resident cannot be reached (blocked, gone)."""
    contact = await s.get(ContactPoint, conv.contact_point_id)
    if not profile.survey.enabled or contact is None or contact.blocked or contact.unfollowed_at is not None:
        return None
    if conv.channel in CHAT_CHANNELS:
        out = survey_invitation(conv.language)
        until = utcnow() + timedelta(hours=profile.survey.chat_hours)
        contact.survey_state = {"conversation_id": conv.id, "step": "invited", "answers": {},
                                "until": until.isoformat()}
    elif conv.channel == "email":
        token = survey_links.issue(ctx.settings.resolved_secret_key(), conv.id, days=profile.survey.link_days)
        out = survey_email_invitation(conv.language, survey_links.url(ctx.settings.public_base_url, token))
    else:
        return None
    msg = _row(conv, out)
    s.add(msg)
    await s.flush()
    await audit.record(s, action="survey_invited", target_type="conversation", target_id=conv.id,
                       detail={"message_id": msg.id, "channel": conv.channel})
    after.call(relay.deliver_after_commit, ctx, relay.target_of(conv), msg.id, "system_message", out)
    return msg.id


def _row(conv: Conversation, out: OutboundMessage) -> Message:
    return Message(
        conversation_id=conv.id, direction="out", sender="system", channel=conv.channel, kind=KIND,
        text=out.text, language=conv.language, choices=[{"id": c.id, "label": c.label} for c in out.choices],
        delivery_status="sent" if conv.channel == "webchat" else "pending", created_at=utcnow(),
    )


# ── one answer on a chat channel ────────────────────────────────────────────────────────
@dataclass
class Advanced:
    """The survey took the resident's message: what to say back (already stored as rows)."""

    conversation: Conversation
    messages: list[OutboundMessage]
    message_ids: list[int]
    state: str  # "survey_<next step>" or "survey_done"


def pending_for(contact: ContactPoint, now: datetime) -> dict | None:
    """The survey this contact is answering, if it has not lapsed."""
    state = contact.survey_state
    if not state:
        return None
    try:
        until = datetime.fromisoformat(state["until"])
    except (KeyError, TypeError, ValueError):
        return None
    return state if now <= until else None


async def advance_in(s: AsyncSession, contact: ContactPoint, *, choice: str | None, text: str | None,
                     event_id: str | None, now: datetime, max_comment: int = 2000) -> Advanced | None:
    """Take the resident's message as the next answer, in the caller's transaction. None when
    it is not an answer (the caller treats it as a new message; the survey is left) — the
    caller screens for risk first, so a crisis never lands here."""
    state = pending_for(contact, now)
    conv = await s.get(Conversation, state["conversation_id"]) if state else None
    if state is None or conv is None or conv.status != "closed":
        contact.survey_state = None
        return None
    if event_id and event_id == state.get("last_event"):  # a redelivery: answered already
        return Advanced(conv, [], [], f"survey_{state.get('step')}")
    step: Step = survey_step(state, conv.language, choice=choice, text=text, max_comment=max_comment)
    if step.abandoned:
        contact.survey_state = None
        return None
    if step.answers is not None and not await answered(s, conv.id):
        _store(s, conv, step.answers.get("helped"), step.answers.get("easy"), step.answers.get("again"), step.comment)
        await audit.record(s, action=ANSWERED, target_type="conversation", target_id=conv.id, actor_type="resident")
    # a new dict: the JSON column does not see changes made inside the old one
    contact.survey_state = None if step.progress is None else {
        **step.progress, "conversation_id": conv.id, "until": state["until"], "last_event": event_id}
    rows = [_row(conv, m) for m in step.messages]
    s.add_all(rows)
    await s.flush()
    next_step = step.progress["step"] if step.progress else "done"
    return Advanced(conv, list(step.messages), [r.id for r in rows], f"survey_{next_step}")


def publish(after: OnCommit, advanced: Advanced) -> None:
    cid = advanced.conversation.id
    after.publish(conversation_topic(cid), {"type": "activity", "conversation_id": cid,
                                            "conversation_status": "closed", "message_ids": advanced.message_ids})


async def answer_webchat(ctx: HandoffContext, conversation_id: int, *, choice: str | None, text: str | None,
                         event_id: str | None, max_comment: int = 2000) -> Advanced | None:
    """A web chat resident's answer after the chat ended (the page's token still names the
    closed conversation). None when no survey is open for it: the caller refuses as closed.
    The caller has screened the text for risk."""
    async with atomic(ctx) as (s, after):
        conv = await s.get(Conversation, conversation_id)
        contact = await s.get(ContactPoint, conv.contact_point_id) if conv else None
        state = pending_for(contact, utcnow()) if contact else None
        if contact is None or state is None or state.get("conversation_id") != conversation_id:
            return None
        took = await advance_in(s, contact, choice=choice, text=text, event_id=event_id, now=utcnow(),
                                max_comment=max_comment)
        if took is not None:
            publish(after, took)
        return took
