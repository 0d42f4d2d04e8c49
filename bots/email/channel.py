"""Wiring the email channel into the app: `start_email_channel(ctx)` in the lifespan.

Registers the sender for channel "email" (counsellor replies go out through it too), starts
the IMAP poller when IMAP is configured and the LMTP listener when `lmtp_port` is set — for the
settings' mailbox (default profile) and for every profile with its own `channels.email`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bots.email import parsepool
from bots.email.imap import ImapConfig, ImapPoller
from bots.email.intake import EmailIntake
from bots.email.lmtp import DirectDelivery
from bots.email.loops import RateLimiter
from bots.email.sender import EmailSender, SmtpConfig
from bots.email.threading import ThreadKeys
from casecore.models import Message
from dialogs.types import OutboundMessage
from handoff.delivery import DeliveryTarget

if TYPE_CHECKING:
    from handoff.context import HandoffContext as AppContext

log = logging.getLogger(__name__)
EXTRAS_KEY = "email"  # the default profile's EmailChannel
ALL_KEY = "email_channels"  # every EmailChannel
# The mail libraries log whole protocol lines (addresses, and at DEBUG the mail itself):
# personal data never goes to the logs, so they only report problems.
QUIET_LOGGERS = ("aioimaplib", "aioimaplib.aioimaplib", "mail.log", "aiosmtplib")


@dataclass
class EmailChannel:
    """One mailbox: its sender, intake and inbound listeners, for one municipality profile."""

    profile_id: str
    sender: EmailSender
    intake: EmailIntake
    poller: ImapPoller | None = None
    direct: DirectDelivery | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


@dataclass
class EmailSenders:
    """The ChannelSender registered for "email": each profile's mail leaves through its own
    relay and address; profiles without their own use the default mailbox."""

    default: EmailSender
    by_profile: dict[str, EmailSender] = field(default_factory=dict)
    channel: str = "email"

    async def send(self, target: DeliveryTarget, messages: Sequence[OutboundMessage]) -> None:
        await self.by_profile.get(target.profile_id, self.default).send(target, messages)

    async def send_document(self, target: DeliveryTarget, data: bytes, filename: str, caption: str) -> None:
        """A counsellor's PDF, attached to a mail from the profile's own mailbox (issue 16)."""
        await self.by_profile.get(target.profile_id, self.default).send_document(target, data, filename, caption)


@dataclass
class Mailbox:
    """The mail settings of one mailbox (from Settings, or a profile's `channels.email`)."""

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    smtp_from: str | None = None
    imap_host: str | None = None
    imap_port: int = 993
    imap_user: str | None = None
    imap_password: str | None = None
    imap_ssl: bool = True
    imap_mailbox: str = "INBOX"
    imap_poll_seconds: float = 30.0
    lmtp_port: int | None = None

    @property
    def usable(self) -> bool:
        return bool(self.smtp_host and self.smtp_from and (self.imap_host or self.lmtp_port))

    @classmethod
    def from_settings(cls, s: Any) -> Mailbox:
        return cls(
            smtp_host=s.smtp_host, smtp_port=s.smtp_port, smtp_user=s.smtp_user,
            smtp_password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            smtp_starttls=s.smtp_starttls, smtp_from=s.smtp_from, imap_host=s.imap_host,
            imap_port=s.imap_port, imap_user=s.imap_user,
            imap_password=s.imap_password.get_secret_value() if s.imap_password else None,
            imap_ssl=s.imap_ssl, imap_mailbox=s.imap_mailbox, imap_poll_seconds=s.imap_poll_seconds,
            lmtp_port=s.lmtp_port,
        )

    @classmethod
    def from_profile(cls, values: dict[str, str]) -> Mailbox:
        """`channels: {email: {imap_host: …, smtp_from: …, imap_password_env: NAME}}` —
        secrets are best named by environment variable (`<field>_env`), not written in YAML."""
        box = cls()
        for f in fields(cls):
            raw = values.get(f.name)
            if raw is None and values.get(f"{f.name}_env"):
                raw = os.environ.get(values[f"{f.name}_env"])
            if raw is None:
                continue
            default = getattr(box, f.name)
            if isinstance(default, bool):
                value: object = str(raw).strip().lower() in ("1", "true", "yes", "on")
            elif f.name.endswith("_port"):
                value = int(raw)
            elif isinstance(default, float):
                value = float(raw)
            else:
                value = str(raw)
            setattr(box, f.name, value)
        return box


def _last_mail_of(ctx: AppContext) -> Callable[[int], Awaitable[dict[str, str]]]:
    """The resident's last mail in a conversation, as a reply context (its Message-ID only:
    the subject is not kept, so a counsellor's mail carries the standard one with the token)."""

    async def last_mail(conversation_id: int) -> dict[str, str]:
        async with ctx.sessions() as s:
            event_id = await s.scalar(
                select(Message.channel_event_id)
                .where(Message.conversation_id == conversation_id, Message.direction == "in",
                       Message.channel == "email", Message.channel_event_id.is_not(None),
                       Message.channel_event_id.not_like("%#%"))  # "#n": the dialog steps of a mail
                .order_by(Message.id.desc()).limit(1)
            )
        return {"message_id": event_id} if event_id else {}

    return last_mail


def email_configured(ctx: AppContext) -> bool:
    return Mailbox.from_settings(ctx.settings).usable or any(
        Mailbox.from_profile(p.channels["email"]).usable for p in ctx.profiles.all() if "email" in p.channels
    )


def build_email_channel(
    ctx: AppContext, mailbox: Mailbox | None = None, profile_id: str | None = None, *, lmtp_host: str = "127.0.0.1"
) -> EmailChannel:
    """One mailbox's channel (the settings' mailbox for the default profile when not given)."""
    box = mailbox or Mailbox.from_settings(ctx.settings)
    if not (box.smtp_host and box.smtp_from):
        raise ValueError("email needs MADOGUCHI_SMTP_HOST and MADOGUCHI_SMTP_FROM")
    profile = ctx.profiles.get(profile_id)
    keys = ThreadKeys.from_secret(ctx.settings.resolved_secret_key())
    smtp = SmtpConfig(
        host=box.smtp_host, port=box.smtp_port, username=box.smtp_user, password=box.smtp_password,
        starttls=box.smtp_starttls, use_tls=box.smtp_port == 465,
    )
    sender = EmailSender(smtp=smtp, from_addr=box.smtp_from, keys=keys,
                         from_name=profile.t(profile.centre_name, "ja"), thread_of=_last_mail_of(ctx))
    intake = EmailIntake(ctx, sender, keys, from_addr=box.smtp_from, profile_id=profile.id,
                         limiter=RateLimiter(redis=ctx.redis), max_chars=ctx.settings.max_message_chars)
    channel = EmailChannel(profile_id=profile.id, sender=sender, intake=intake)
    if box.imap_host:
        channel.poller = ImapPoller(ImapConfig(
            host=box.imap_host, port=box.imap_port, username=box.imap_user or "",
            password=box.imap_password or "", ssl=box.imap_ssl, mailbox=box.imap_mailbox,
            poll_seconds=box.imap_poll_seconds,
        ), intake.handle)
    if box.lmtp_port:
        own_local = box.smtp_from.partition("@")[0].split("+", 1)[0].lower()
        channel.direct = DirectDelivery(intake.handle, host=lmtp_host, port=box.lmtp_port,
                                        accept_locals={own_local})
    return channel


def build_email_channels(ctx: AppContext) -> list[EmailChannel]:
    """The settings' mailbox (default profile) and every profile carrying its own."""
    channels: list[EmailChannel] = []
    default_box = Mailbox.from_settings(ctx.settings)
    if default_box.usable:
        channels.append(build_email_channel(ctx, default_box, ctx.profiles.default_id))
    for profile in ctx.profiles.all():
        values = profile.channels.get("email")
        if values:
            box = Mailbox.from_profile(values)
            if not box.usable:
                raise ValueError(f"profile {profile.id}: channels.email needs smtp_host, smtp_from and imap_host or lmtp_port")
            channels = [c for c in channels if c.profile_id != profile.id]
            channels.append(build_email_channel(ctx, box, profile.id))
    return channels


async def start_email_channel(ctx: AppContext) -> list[asyncio.Task[None]]:
    """Register the sender and start inbound; returns the background tasks (for the lifespan).
    Does nothing (returns []) when no mailbox is configured."""
    channels = build_email_channels(ctx)
    if not channels:
        return []
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    default = next((c for c in channels if c.profile_id == ctx.profiles.default_id), channels[0])
    ctx.senders.register(EmailSenders(default.sender, {c.profile_id: c.sender for c in channels}))
    ctx.extras[EXTRAS_KEY] = default
    ctx.extras[ALL_KEY] = channels
    tasks: list[asyncio.Task[None]] = []
    for channel in channels:
        if channel.poller is not None:
            channel.tasks.append(asyncio.create_task(channel.poller.run(), name=f"email-imap-{channel.profile_id}"))
        if channel.direct is not None:
            await channel.direct.start()
        tasks += channel.tasks
        log.info("email.started", extra={"profile": channel.profile_id, "imap": channel.poller is not None,
                                         "lmtp": channel.direct is not None})
    return tasks


async def stop_email_channel(ctx: AppContext) -> None:
    channels: list[EmailChannel] = ctx.extras.pop(ALL_KEY, [])
    ctx.extras.pop(EXTRAS_KEY, None)
    for channel in channels:
        if channel.poller is not None:
            channel.poller.stop()
        if channel.direct is not None:
            await channel.direct.stop()
    for channel in channels:
        for task in channel.tasks:
            try:
                await asyncio.wait_for(task, 10)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
    parsepool.shutdown()
