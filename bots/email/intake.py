"""The intake by email: one bot mail asks what the chat asks step by step, and a free-form
reply is fed to the same dialog as a run of inputs, answered with ONE mail.

Per inbound mail:
1. parse; automatic mail (auto-replies, bounces, lists) is recorded in the audit trail and
   never answered; a per-address rate limit stops loops that slip through;
2. find the conversation (sender address, or the thread token of a reply from elsewhere);
3. the whole new text goes to the router as the mail's own event (Message-ID = channel
   event id): the counsellor sees the resident's original words in the transcript;
4. what can be read from the reply (consent, the Qn form lines, keywords) becomes further
   dialog inputs with derived ids `<Message-ID>#<node>:<answer>`, so a retried mail dedupes
   step by step; the loop follows the dialog's actual state, never a fixed script;
5. the dialog's replies are collected (the sender holds them back) and one mail goes out:
   the intake form for a first mail, otherwise what matters from the run (emergency notices
   first, then the last step's answer — e.g. the case number).
Consent is read only from a mail written after the resident was shown the wording.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter
from sqlalchemy import func, select

from bots.email import parsepool
from bots.email.answers import FORM, MailAnswers, keywords, match_choices, read_answers
from bots.email.loops import RateLimiter, RepeatCounter, classify, fingerprint, soft_verdict
from bots.email.parse import MAX_MAIL_BYTES, STRIP_CHARS, ParsedMail
from bots.email.sender import EmailSender
from bots.email.texts import email_text, for_email
from bots.email.threading import ThreadKeys, find_conversation
from casecore import audit, crypto
from casecore.db import transaction
from casecore.models import AuditEvent, ContactPoint, Conversation, Message
from casecore.types import utcnow as _utcnow
from dialogs.flow import Node, load_flow
from dialogs.profile import Profile
from dialogs.types import OutboundMessage
from handoff.delivery import DeliveryError, DeliveryTarget
from handoff.events import InboundEvent, InboundMedia

if TYPE_CHECKING:
    from handoff.context import HandoffContext as AppContext
    from handoff.router import ProcessResult

log = logging.getLogger(__name__)
INBOUND = Counter("madoguchi_email_inbound_total", "Inbound mails by outcome", ["outcome"])

# The intake mail goes at most this often to one conversation a day: an auto-responder that
# slips every other check gets three forms, not twenty.
FORM_CAP = 3
MAX_STEPS = 80  # a whole intake is about 40 inputs; this only guards against a surprise loop
_BUTTON_TALK = re.compile(r"(押して|押す|おして|ボタン|タップ|\bpress\b|\btap\b|\bbutton)", re.IGNORECASE)
# A sentence with the space after it, so that joining the kept ones loses nothing. (Thai marks
# no sentence end at all; its button talk is cut out as a clause below.)
_ENDS = "。．!?！？.।။"
_SENTENCE = re.compile(rf"[^{_ENDS}]*(?:[{_ENDS}]+[\"」』”»)']*\s*|$)")

Inputs = list[tuple[str, str | None, str | None]]


def _consent_inputs(ans: MailAnswers, _language: str) -> Inputs:
    return [(ans.consent, ans.consent, None)] if ans.consent in ("agree", "decline") else []


# Roles answered the same way in every mail: consent in words, the mail's language, the
# summary confirmed (the counsellor reads it back).
_FIXED: dict[str, Callable[[MailAnswers, str], Inputs]] = {
    "consent_use": _consent_inputs,
    "language": lambda _ans, language: [(language, language, None)],
    "summary": lambda _ans, _language: [("confirm", "confirm", None)],
}
# Left blank in the form: answered by mail, as they wrote; sharing is never assumed (the
# counsellor asks).
_NEVER_ASSUMED = {"contact": "this_channel", "consent_share": "discuss"}


def _multi_inputs(node: Node, picked: list[str], skip: Inputs) -> Inputs:
    picked = [c for c in picked if c != node.none]
    if not picked:
        if node.none:
            return [(node.none, node.none, None)]
        picked = ["other"] if node.min else []
    if not picked:
        return skip
    return [*((c, c, None) for c in picked), ("done", "done", None)]


@dataclass
class Prior:
    conversation_id: int
    node: str
    status: str
    language: str


@dataclass
class Run:
    steps: list[ProcessResult] = field(default_factory=list)

    @property
    def all_duplicate(self) -> bool:
        return bool(self.steps) and all(s.duplicate for s in self.steps)

    @property
    def last(self) -> ProcessResult:
        return self.steps[-1]


class EmailIntake:
    """The handler for IMAP and LMTP: `await intake.handle(raw, size) -> outcome code`."""

    def __init__(
        self,
        ctx: AppContext,
        sender: EmailSender,
        keys: ThreadKeys,
        *,
        from_addr: str,
        profile_id: str | None = None,
        limiter: RateLimiter | None = None,
        max_bytes: int | None = None,
        max_chars: int | None = None,
    ) -> None:
        self.ctx = ctx
        self.sender = sender
        self.keys = keys
        self.from_addr = from_addr.lower()
        self.profile_id = profile_id or ctx.profiles.default_id
        self.limiter = limiter or RateLimiter(redis=ctx.redis)
        self.repeats = RepeatCounter(redis=ctx.redis)
        self.max_bytes = max_bytes
        self.max_chars = max_chars or ctx.settings.max_message_chars
        self._unsent: set[str] = set()  # mails whose answer could not be sent (retry sends it)

    # ── entry point ──────────────────────────────────────────────────────────────
    async def handle(self, raw: bytes, size: int | None = None) -> str:
        kwargs: dict[str, Any] = {"size": size, "max_chars": self.max_chars}
        if self.max_bytes:
            kwargs["max_bytes"] = self.max_bytes
        # CPU work on up to 5 MB: off the event loop, so /healthz and the chats stay answered
        mail = await parsepool.parse(raw, **kwargs)
        outcome = await self._handle(mail)
        INBOUND.labels(outcome.split(":", 1)[0]).inc()
        log.info("email.inbound", extra={"outcome": outcome, "defects": mail.defects})
        return outcome

    async def _handle(self, mail: ParsedMail) -> str:
        thread_conv = find_conversation(mail, self.keys, self.from_addr)
        verdict = classify(mail, [self.from_addr])
        if verdict.automatic:
            await self._record("email_ignored", mail, verdict.reason, thread_conv)
            return f"ignored:{verdict.reason}"
        if not await self.limiter.allow(mail.sender):
            await self._record("email_rate_limited", mail, "rate-limit", thread_conv)
            return "rate-limited"

        # soft signs of an auto-responder: the mail is kept, not answered
        quiet = soft_verdict(mail)
        if quiet is None and len(mail.text.strip()) >= 10 and await self.repeats.repeated(
            mail.sender, fingerprint(mail)
        ):
            quiet = "repeated-text"
        profile_id, address = self.profile_id, mail.sender
        if thread_conv is not None:
            owner = await self._thread_owner(thread_conv)
            if owner is not None and owner[0] == profile_id and owner != (profile_id, address):
                # A reply from another address (phone vs. PC) lands in its conversation; the
                # answer goes to the conversation's address only, never to the new one.
                profile_id, address = owner
        # One run per resident at a time, across app processes (Redis lock when there is
        # Redis): two pollers reading the same mail must not both answer it.
        async with self.ctx.router.locks.hold(f"email-intake:{profile_id}:{address}"):
            return await self._answer(mail, profile_id, address, quiet)

    async def _answer(self, mail: ParsedMail, profile_id: str, address: str, quiet: str | None = None) -> str:
        profile = self.ctx.profiles.get(profile_id)
        prior = await self._peek(profile_id, address)
        hint = None if prior is not None else await _language_of(mail.text or mail.subject)

        base = mail.message_id[:400]
        batch = secrets.token_hex(8)
        reply_context = {
            "message_id": mail.message_id,
            "subject": mail.subject,
            "references": " ".join(f"<{r}>" for r in mail.references[-10:]),
        }
        self.sender.collect(batch)
        try:
            run = await self._run(mail, profile, address, hint, {**reply_context, "batch": batch}, prior)
        finally:
            self.sender.collected(batch)  # the dialog's messages come back in the results

        if not run.steps or run.last.conversation_id is None:
            return "stored"
        if run.all_duplicate and base not in self._unsent:
            return "duplicate"
        if run.last.conversation_status == "counsellor":
            return "to-counsellor"  # the counsellor answers; the bot stays silent
        conversation_id = run.last.conversation_id
        if quiet is not None:
            # kept in the conversation for the counsellor, never answered
            await self._record("email_not_answered", mail, quiet, conversation_id)
            return f"quiet:{quiet}"
        language = await self._language_of_conversation(conversation_id) or (hint or "ja")
        messages, body = self._compose(mail, run, prior, profile, language)
        if not messages and body is None:
            return "stored"
        target = DeliveryTarget(
            profile_id=profile_id, channel="email", external_user_id=address,
            conversation_id=conversation_id, language=language, reply_context=reply_context,
        )
        if body is not None and await self._forms_sent(conversation_id) >= FORM_CAP:
            await self._record("email_form_capped", mail, "form-cap", conversation_id)
            return "form-capped"
        rendered = self.sender.render(target, messages, body=body)
        try:
            await self.sender.deliver(rendered.message)
        except DeliveryError:
            self._unsent.add(base)
            raise  # the mail stays unmarked and is read again; its events dedupe
        self._unsent.discard(base)
        if body is not None:
            await self._record("email_form_sent", mail, None, conversation_id, by_conversation=True)
        return "answered"

    # ── feeding the dialog ───────────────────────────────────────────────────────
    async def _run(
        self, mail: ParsedMail, profile: Profile, address: str, hint: str | None,
        reply_context: dict[str, str], prior: Prior | None,
    ) -> Run:
        run = Run()
        base = mail.message_id[:400]

        # what lies past the text limit is screened for risk too: the parts that matter, found
        # in a worker thread (a 200,000-character body screened on the event loop stalls it)
        beyond = await _risky_excerpt(mail.body) if mail.truncated else None

        async def send(suffix: str | None, *, text: str | None = None, choice: str | None = None,
                       kind: str = "message", media_type: str | None = None,
                       attachments: list[InboundMedia] | None = None) -> ProcessResult:
            event = InboundEvent(
                channel="email", channel_event_id=base if suffix is None else f"{base}#{suffix}"[:512],
                external_user_id=address, profile_id=profile.id, kind=kind,  # type: ignore[arg-type]
                text=text, choice=choice, media_type=media_type, language_hint=hint,
                reply_context=reply_context,
                screen_text=beyond if suffix is None else None, attachments=attachments or [],
            )
            result = await self.ctx.router.process(event)
            run.steps.append(result)
            return result

        if mail.too_large:
            await send(None, kind="media", media_type="file")
            return run
        # 1. the mail itself, in the resident's words
        res = await send(None, text=mail.text or None)
        # 2. what the reply answers
        # (the risk screen's learned layer costs tens of milliseconds: off the event loop)
        answers = await asyncio.to_thread(read_answers, mail.text, mail.body[:STRIP_CHARS])
        if prior is None:
            answers.consent = None  # they have not been shown the wording yet
        if prior is not None and res.conversation_id is not None:
            earlier = await self._earlier_texts(res.conversation_id, base)
            if earlier:
                answers.problem_text = "\n\n".join([*earlier, answers.problem_text]).strip()
                answers.categories, answers.safety = await asyncio.to_thread(keywords, answers.problem_text)
        await self._walk(send, res, answers, profile, hint or "ja")
        # 3. the attachments (a photographed letter, a PDF, the HTML's inline images): checked and
        # stored encrypted for the counsellor, one transcript entry for all of them
        if mail.attachments:
            kinds = mail.attachment_kinds
            await send("attachments", kind="media", media_type="image" if kinds == ["image"] else "file",
                       attachments=mail_media(mail))
        return run

    async def _walk(self, send: Callable[..., Awaitable[ProcessResult]], res: ProcessResult,
                    answers: MailAnswers, profile: Profile, language: str) -> None:
        """Answer the flow's questions, node by node, with what the mail says; stop where it
        says nothing (the answer mail asks that question again)."""
        flow = load_flow(profile.flow)
        visited: set[str] = set()
        resumed = False
        for _ in range(MAX_STEPS):
            if res.conversation_status in ("counsellor", "closed") or not res.state:
                return
            if not resumed and res.messages and any(c.id == "continue" for c in res.messages[-1].choices):
                resumed = True
                res = await send("resume", choice="continue")
                continue
            node = flow.nodes.get(res.state)
            if node is None or node.type == "end" or node.name in visited:
                return
            inputs = self._inputs_for(node, answers, profile, language)
            if not inputs:
                return
            visited.add(node.name)
            for suffix, choice, text in inputs:
                res = await send(f"{node.name}:{suffix}", choice=choice, text=text)
            if res.state == node.name and not res.duplicate:
                return  # the answer was not accepted: the mail asks this question again

    def _inputs_for(
        self, node: Node, ans: MailAnswers, profile: Profile, language: str
    ) -> list[tuple[str, str | None, str | None]]:
        """(event id suffix, choice, text) inputs answering `node`, or [] to stop there. The
        node is known by its role in the flow file, never by its name."""
        role = node.role or node.name
        fixed = _FIXED.get(role)
        if fixed is not None:
            return fixed(ans, language)
        value = ans.form.get(role)
        skip: list[tuple[str, str | None, str | None]] = [("skip", "skip", None)] if node.optional else []
        if node.type == "multi":
            picked = self._pick(node, value, profile, language, multi=True)
            return _multi_inputs(node, picked or (ans.safety if role == "safety" else ans.categories), skip)
        if node.type == "text":
            text = ans.problem_text if role == "problem" else value
            return [("text", None, text)] if text else skip
        if role in _NEVER_ASSUMED and not value:
            default = _NEVER_ASSUMED[role]
            return [(default, default, None)]
        chosen = self._pick(node, value, profile, language, multi=False)
        if not chosen and role == "for_whom" and ans.for_whom:
            chosen = [ans.for_whom]
        return [(chosen[0], chosen[0], None)] if chosen else skip

    def _pick(self, node: Node, value: str | None, profile: Profile, language: str, *, multi: bool) -> list[str]:
        return match_choices(value, self._choice_labels(node, profile, language), multi) if value else []

    def _choice_labels(self, node: Node, profile: Profile, language: str) -> list[tuple[str, list[str]]]:
        from i18n.catalog import catalog

        if node.choices == "$districts":
            ids = [*profile.districts, "outside"]
        elif isinstance(node.choices, str):
            ids = []
        else:
            ids = list(node.choices)
        if node.type == "multi" and node.none:
            ids.append(node.none)
        out = []
        for cid in ids:
            labels = [cid] if cid in profile.districts else []
            labels += [catalog(lang).label(cid) for lang in (language, "ja", "en")]
            if cid in ("this_channel", "email"):
                key = "this_channel" if cid == "this_channel" else "other_email"
                labels += [email_text(lang, key) for lang in (language, "ja", "en")]
            out.append((cid, labels))
        return out

    def _display_label(self, cid: str, profile: Profile, language: str) -> str:
        from i18n.catalog import catalog

        if cid in profile.districts:
            return cid
        if cid == "this_channel":
            return email_text(language, "this_channel")
        if cid == "email":
            return email_text(language, "other_email")
        return catalog(language).label(cid)

    # ── the one answer mail ──────────────────────────────────────────────────────
    def _compose(
        self, mail: ParsedMail, run: Run, prior: Prior | None, profile: Profile, language: str
    ) -> tuple[list[OutboundMessage], str | None]:
        notices: list[OutboundMessage] = []
        if mail.too_large:
            limit_mb = round((self.max_bytes or MAX_MAIL_BYTES) / 1024 / 1024, 1)
            notices.append(OutboundMessage(email_text(language, "too_large", limit_mb=limit_mb), kind="notice"))
        if mail.attachments and not mail.too_large and len(run.steps) > 1:
            # what the media store said: received, or why a file was not kept
            notices.extend(m for m in run.steps[-1].messages if m.kind == "notice")
        if mail.truncated:
            notices.append(OutboundMessage(email_text(language, "truncated", limit=self.max_chars), kind="notice"))
        if not mail.text and not mail.too_large and not mail.attachments:
            notices.append(OutboundMessage(email_text(language, "empty_reply"), kind="notice"))

        steps = [s for s in run.steps if s.messages]
        emergency: list[OutboundMessage] = []
        for s in steps:
            for m in s.messages:
                if m.kind == "emergency" and m.text not in {e.text for e in emergency}:
                    emergency.append(m)
        # the mail's own steps (not the attachment note) decide what we say last
        final = run.steps[-2] if mail.attachments and len(run.steps) > 1 else run.steps[-1]
        if load_flow(profile.flow).role_of(final.state) == "consent_use" and final.conversation_status != "closed":
            return [], self._form(run, prior, profile, language, emergency, notices)
        last = [m for m in final.messages if m.kind not in ("emergency", "summary")]
        if not last and not emergency and not notices:
            return [], None
        return [*notices, *(self._wording(m, language) for m in [*emergency, *last])], None

    def _wording(self, m: OutboundMessage, language: str) -> OutboundMessage:
        from dataclasses import replace

        from i18n.catalog import catalog

        cat = catalog(language)
        with contextlib.suppress(KeyError):
            if any(cat.consent(kind).text in m.text for kind in ("use", "share_agencies")):
                return m  # a consent wording is shown exactly as recorded
        choices = tuple(
            replace(c, label=email_text(language, "other_email") if c.id == "email" else
                    email_text(language, "this_channel") if c.id == "this_channel" else c.label)
            for c in m.choices
        )
        return replace(m, text=for_email(m.text, language), choices=choices)

    def _form(
        self, run: Run, prior: Prior | None, profile: Profile, language: str,
        emergency: list[OutboundMessage], notices: list[OutboundMessage],
    ) -> str:
        """The intake mail: service, purpose, consent, safety notice, the questions."""
        from i18n.catalog import catalog

        cat = catalog(language)
        params = {
            "centre_name": profile.t(profile.centre_name, language),
            "operator": profile.t(profile.operator, language),
            "municipality": profile.t(profile.municipality, language),
            "emergency_contacts": profile.emergency_text(language),
            "contact_line": f"{profile.t(profile.address, language)}\nTEL {profile.phone}",
        }
        blocks: list[str] = [m.text for m in notices]
        if emergency:
            blocks.append(email_text(language, "emergency_heading"))
            blocks += [m.text for m in emergency]
        if prior is not None:
            blocks.append(email_text(language, "not_consented_yet"))
        else:
            blocks.append(for_email(cat.text("about.body", **params), language))
        # the consent wording exactly as recorded with its version and hash (never reworded)
        blocks.append(cat.consent("use").text)
        blocks.append(for_email(cat.text("consent_use.more", **params), language))
        blocks.append(email_text(language, "form_consent"))
        blocks.append(email_text(language, "safety_notice", emergency_contacts=params["emergency_contacts"]))
        blocks.append(email_text(language, "form_intro"))
        flow = load_flow(profile.flow)
        lines = [email_text(language, "form_heading"), ""]
        for q in FORM:
            node = flow.node_for(q.role)
            if node is None or not node.prompt:
                continue
            prompt = _without_button_talk(cat.text(node.prompt, **params), language)
            lines.append(f"Q{q.number}. {prompt}")
            if not q.free_text:
                for n, (cid, _) in enumerate(self._choice_labels(node, profile, language), 1):
                    lines.append(f"   {n}. {self._display_label(cid, profile, language)}")
                if q.multi:
                    lines.append(f"   ({email_text(language, 'multi_hint')})")
            lines.append(f"Q{q.number}: {email_text(language, 'form_answer_here')}")
            lines.append("")
        blocks.append("\n".join(lines).rstrip())
        return "\n\n".join(b.strip() for b in blocks if b and b.strip())

    # ── the case core (read-only lookups, and the audit trail) ───────────────────
    async def _record(
        self, action: str, mail: ParsedMail, reason: str | None, conversation_id: int | None,
        *, by_conversation: bool = False,
    ) -> None:
        """Automatic mail is recorded (ids and codes only), never answered."""
        target = hashlib.sha256(mail.message_id.encode()).hexdigest()[:32]
        detail: dict[str, Any] = {"reason": reason}
        if conversation_id is not None:
            detail["conversation_id"] = conversation_id
        target_type = "email"
        if by_conversation and conversation_id is not None:
            target_type, target = "email_conversation", str(conversation_id)
        async with transaction(self.ctx.sessions) as s:
            await audit.record(s, action=action, target_type=target_type, target_id=target, detail=detail)

    async def _forms_sent(self, conversation_id: int) -> int:
        """Intake mails sent to this conversation in the last 24 hours (from the audit trail,
        so a restart or a second app process does not reset the count)."""
        from datetime import timedelta

        async with self.ctx.sessions() as s:
            n = await s.scalar(select(func.count()).select_from(AuditEvent).where(
                AuditEvent.action == "email_form_sent", AuditEvent.target_type == "email_conversation",
                AuditEvent.target_id == str(conversation_id), AuditEvent.at >= _utcnow() - timedelta(days=1),
            ))
        return int(n or 0)

    async def _thread_owner(self, conversation_id: int) -> tuple[str, str] | None:
        async with self.ctx.sessions() as s:
            conv = await s.get(Conversation, conversation_id)
            if conv is None or conv.channel != "email":
                return None
            contact = await s.get(ContactPoint, conv.contact_point_id)
            return (conv.profile_id, contact.external_id) if contact else None

    async def _peek(self, profile_id: str, address: str) -> Prior | None:
        index = crypto.cipher().blind_index(f"email:{address}")
        async with self.ctx.sessions() as s:
            contact = await s.scalar(select(ContactPoint).where(
                ContactPoint.profile_id == profile_id, ContactPoint.channel == "email",
                ContactPoint.external_id_index == index,
            ))
            if contact is None:
                return None
            conv = await s.scalar(
                select(Conversation)
                .where(Conversation.contact_point_id == contact.id, Conversation.status != "closed")
                .order_by(Conversation.id.desc()).limit(1)
            )
            if conv is None or not conv.dialog_node:
                return None
            return Prior(conv.id, conv.dialog_node, conv.status, conv.language)

    async def _language_of_conversation(self, conversation_id: int) -> str | None:
        async with self.ctx.sessions() as s:
            conv = await s.get(Conversation, conversation_id)
            return conv.language if conv else None

    async def _earlier_texts(self, conversation_id: int, base: str) -> list[str]:
        """The resident's earlier mails in this conversation (whole mails, not derived steps)."""
        async with self.ctx.sessions() as s:
            rows = (await s.scalars(
                select(Message).where(
                    Message.conversation_id == conversation_id, Message.direction == "in",
                    Message.sender == "resident", Message.channel == "email",
                ).order_by(Message.id)
            )).all()
        return [
            m.text for m in rows
            if m.text and m.channel_event_id and "#" not in m.channel_event_id and m.channel_event_id != base
        ]


_EXCERPT_CHUNK = 1_500
_EXCERPT_MAX = 12_000


def _chunks(text: str) -> list[str]:
    """Pieces of about _EXCERPT_CHUNK characters, cut at line ends where there are some and
    overlapping a little, so a cue is never split between two."""
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + _EXCERPT_CHUNK)
        newline = text.rfind("\n", start + _EXCERPT_CHUNK // 2, end)
        if end < len(text) and newline > 0:
            end = newline
        out.append(text[max(0, start - 120):end])
        start = end
    return out


async def _risky_excerpt(body: str) -> str | None:
    """The pieces of a long body in which the risk lexicon finds something (bounded), for the
    router to screen with the mail; None when there are none. The learned layer reads only
    the message's own text, so the lexicon is what ever saw the rest."""
    from i18n.risk import lexicon

    def find() -> str | None:
        kept: list[str] = []
        for chunk in _chunks(body):
            if lexicon.levels(lexicon.find(chunk, None)):
                kept.append(chunk)
                if sum(map(len, kept)) >= _EXCERPT_MAX:
                    break
        return "\n…\n".join(kept) or None

    return await asyncio.to_thread(find)


def _without_button_talk(text: str, language: str) -> str:
    """Drop the sentences that tell a chat user to press a button: those naming a button in
    ja or en, and in any language those quoting the chat-only "Done" or "Skip" buttons."""
    from i18n.catalog import catalog

    cat = catalog(language)
    buttons = "|".join(re.escape(cat.label(c)) for c in ("done", "skip"))
    quoted = re.compile(rf"[\"「『“”«'](?:{buttons})[\"」』“”»']")
    if language == "th":
        # "(if …) [then] press "Skip"": the clause goes with its button, not phrase by phrase
        text = re.sub(rf"(?:ถ้า\S*\s+)?[(]?(?:แล้ว)?กด\s*{quoted.pattern}[)]?\s*", "", text).strip()
        return text
    sentences = [s for s in _SENTENCE.findall(text) if s.strip()]
    kept = [s for s in sentences if not _BUTTON_TALK.search(s) and not quoted.search(s)]
    return "".join(kept).strip() or text


async def _language_of(text: str) -> str | None:
    """The catalog language of a first mail (the dialog then skips asking for it). A mail is
    answered in one go, so an unsure guess still picks: Japanese script → ja, other Latin
    script → en (better read than Japanese by most foreign residents); else ask."""
    if not text:
        return None
    try:
        from i18n.catalog import available_languages
        from i18n.detect import detect

        found = await asyncio.to_thread(detect, text)
    except Exception:
        return None
    if found.reliable and found.language in available_languages():
        return found.language
    if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text):
        return "ja"
    if re.search(r"[A-Za-z]", text) and "en" in available_languages():
        return "en"
    return None


def mail_media(mail: ParsedMail) -> list[InboundMedia]:
    return [InboundMedia(data=a.data, filename=a.filename, declared_type=a.content_type[:255],
                         kind=a.kind if a.kind in ("image", "audio", "video") else "file")  # type: ignore[arg-type]
            for a in mail.attachments]
