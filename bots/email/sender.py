"""Outbound mail: one plain-text UTF-8 mail per batch of OutboundMessages, sent with aiosmtplib.

Implements handoff.delivery.ChannelSender for channel "email". A mail carries only what the
dialog or counsellor wrote: the resident's own mail is never quoted back, and it goes to the
conversation's address only (never to a Reply-To or Cc the resident's mail named).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.utils import formataddr

import aiosmtplib

from bots.common.retry import GIVE_UP, RetryPolicy, Verdict, back_off
from bots.email.loops import OUTGOING_LOOP_HEADERS
from bots.email.quotes import REPLY_MARKER
from bots.email.texts import email_text
from bots.email.threading import (
    ThreadKeys,
    date_header,
    new_message_id,
    reply_address,
    subject_with_token,
)
from dialogs.types import OutboundMessage
from handoff.delivery import DeliveryError, DeliveryTarget
from i18n.catalog import catalog

log = logging.getLogger(__name__)


@dataclass
class SmtpConfig:
    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True  # upgrade a plain connection (port 587)
    use_tls: bool = False  # implicit TLS (port 465)
    timeout: float = 30.0
    attempts: int = 4
    backoff: float = 2.0  # seconds before the 2nd attempt; doubles each time
    validate_certs: bool = True
    cert_bundle: str | None = None  # a CA file for a relay with a private CA


@dataclass
class RenderedMail:
    message: EmailMessage
    message_id: str


def _catalog_label(language: str, key: str, fallback: str) -> str:
    try:
        from i18n.catalog import catalog

        return catalog(language).text(key)
    except Exception:
        return fallback


def render_body(messages: Sequence[OutboundMessage], language: str) -> str:
    """The messages in order; choices become a numbered list answerable by number or word."""
    blocks: list[str] = []
    emergency = [m for m in messages if m.kind == "emergency"]
    ordinary = [m for m in messages if m.kind != "emergency"]
    if emergency:  # safety first: what to do now goes to the top of the mail
        blocks.append(email_text(language, "emergency_heading"))
    for m in [*emergency, *ordinary]:
        text = m.text.strip()
        if m.machine_translated:
            text += f"\n({_catalog_label(language, 'machine_translated', 'machine translated')})"
        if m.choices:
            lines = [f"  {n}. {c.label}" for n, c in enumerate(m.choices, 1)]
            hint = email_text(language, "multi_hint" if m.multi else "reply_hint")
            text = "\n".join([text, "", *lines, "", hint])
        blocks.append(text)
    return "\n\n".join(blocks)


def withdraw_line(language: str) -> str:
    """Every mail says how to withdraw consent (issue 12): reply with one word of the language."""
    cat = catalog(language, "consent")
    word = (cat.data.get("words") or ["withdraw"])[0]
    return "-- \n" + cat.text("email_line", word=word)


@dataclass
class EmailSender:
    """ChannelSender for "email". `collect()` lets the intake gather a whole run of dialog
    steps into one mail instead of one mail per step."""

    smtp: SmtpConfig
    from_addr: str
    keys: ThreadKeys
    from_name: str | None = None
    # conversation id → the reply context of the resident's last mail, so that a counsellor's
    # mail (sent without an inbound mail to answer) still threads under the resident's
    thread_of: Callable[[int], Awaitable[dict[str, str]]] | None = None
    channel: str = "email"
    _collecting: dict[str, list[OutboundMessage]] = field(default_factory=dict)
    sent: int = 0

    # -- batching for the email intake ---------------------------------------------------
    def collect(self, batch: str) -> None:
        self._collecting.setdefault(batch, [])

    def collected(self, batch: str) -> list[OutboundMessage]:
        """Stop collecting and return what the steps said."""
        return self._collecting.pop(batch, [])

    # -- ChannelSender -------------------------------------------------------------------
    async def send(self, target: DeliveryTarget, messages: Sequence[OutboundMessage]) -> None:
        batch = target.reply_context.get("batch")
        if batch and batch in self._collecting:
            self._collecting[batch].extend(messages)
            return
        if not messages:
            return
        if not target.reply_context.get("message_id") and target.conversation_id and self.thread_of:
            target = replace(target, reply_context={**await self.thread_of(target.conversation_id),
                                                    **target.reply_context})
        mail = self.render(target, messages)
        await self.deliver(mail.message)

    async def send_document(self, target: DeliveryTarget, data: bytes, filename: str, caption: str) -> None:
        """A counsellor's document (a PDF form) attached to a mail in the resident's thread."""
        if not target.reply_context.get("message_id") and target.conversation_id and self.thread_of:
            target = replace(target, reply_context={**await self.thread_of(target.conversation_id),
                                                    **target.reply_context})
        mail = self.render(target, [OutboundMessage(text=caption)])
        mail.message.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
        await self.deliver(mail.message)

    def render(
        self,
        target: DeliveryTarget,
        messages: Sequence[OutboundMessage],
        *,
        subject: str | None = None,
        body: str | None = None,
    ) -> RenderedMail:
        ctx = target.reply_context
        token = self.keys.token(target.conversation_id) if target.conversation_id else None
        msg = EmailMessage()
        message_id = new_message_id(self.from_addr, token)
        msg["Message-ID"] = message_id
        msg["Date"] = date_header()
        msg["From"] = formataddr((self.from_name, self.from_addr)) if self.from_name else self.from_addr
        msg["To"] = target.external_user_id
        if token:
            msg["Reply-To"] = reply_address(self.from_addr, token)
        fallback = email_text(target.language, "subject")
        msg["Subject"] = subject or subject_with_token(ctx.get("subject", ""), token, fallback)
        if ctx.get("message_id"):
            parent = f"<{ctx['message_id']}>"
            msg["In-Reply-To"] = parent
            refs = [r for r in ctx.get("references", "").split() if r]
            msg["References"] = " ".join([*refs[-10:], parent])
        for name, value in OUTGOING_LOOP_HEADERS.items():
            msg[name] = value
        text = body if body is not None else render_body(messages, target.language)
        text = f"{text}\n\n{withdraw_line(target.language)}"  # every mail says how to withdraw
        msg.set_content(f"{text}\n\n{REPLY_MARKER}\n", charset="utf-8")
        if target.language:  # after set_content, which clears Content-* headers
            msg["Content-Language"] = target.language
        return RenderedMail(msg, message_id)

    async def deliver(self, msg: EmailMessage) -> None:
        """Send with the shared retry policy; permanent refusals (5xx) are not retried."""
        policy = RetryPolicy(attempts=self.smtp.attempts, base_delay=self.smtp.backoff,
                             max_delay=max(self.smtp.backoff, 300.0), jitter=False)

        async def attempt() -> None:
            await aiosmtplib.send(
                msg,
                hostname=self.smtp.host,
                port=self.smtp.port,
                username=self.smtp.username,
                password=self.smtp.password,
                start_tls=self.smtp.starttls and not self.smtp.use_tls,
                use_tls=self.smtp.use_tls,
                timeout=self.smtp.timeout,
                validate_certs=self.smtp.validate_certs,
                cert_bundle=self.smtp.cert_bundle,
            )

        try:
            await policy.call(attempt, classify_smtp, log_event="email.retry")
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError("mail recipient refused by the relay") from exc
        except aiosmtplib.SMTPResponseException as exc:
            if 500 <= exc.code < 600:
                log.warning("email.refused", extra={"code": exc.code})
                raise DeliveryError(f"mail refused by the relay ({exc.code})") from exc
            raise DeliveryError(f"mail not sent after {self.smtp.attempts} attempts: {type(exc).__name__}") from exc
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"mail not sent after {self.smtp.attempts} attempts: {type(exc).__name__}") from exc
        self.sent += 1
        log.info("email.sent")


def classify_smtp(exc: BaseException) -> Verdict:
    """A 5xx reply or refused recipients are permanent; 4xx, timeouts and network errors are
    worth another attempt."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return GIVE_UP
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return GIVE_UP if 500 <= exc.code < 600 else back_off(str(exc.code))
    if isinstance(exc, TimeoutError | aiosmtplib.SMTPException | OSError):
        return back_off(type(exc).__name__)
    return GIVE_UP
