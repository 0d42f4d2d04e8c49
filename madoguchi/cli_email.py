"""`madoguchi email …`: check the mail settings, or handle the mailbox once (for cron).

Mounted as `madoguchi email` by madoguchi/cli.py.
"""

from __future__ import annotations

import asyncio

import aiosmtplib
import typer

from madoguchi.settings import Settings

email_cli = typer.Typer(help="The email channel (IMAP/LMTP in, SMTP out).", no_args_is_help=True)


async def check_settings(settings: Settings) -> list[tuple[str, bool, str]]:
    """Log in to IMAP (and select the mailbox) and to SMTP (STARTTLS, AUTH); send nothing.
    Returns (part, ok, detail) rows; details never hold a password."""
    from bots.email.imap import ImapConfig, ImapPoller

    rows: list[tuple[str, bool, str]] = []
    s = settings
    if s.imap_host:
        async def nothing(raw: bytes, size: int) -> str:
            return "skipped"

        poller = ImapPoller(ImapConfig(
            host=s.imap_host, port=s.imap_port, username=s.imap_user or "",
            password=s.imap_password.get_secret_value() if s.imap_password else "",
            ssl=s.imap_ssl, mailbox=s.imap_mailbox, timeout=15,
        ), nothing)
        try:
            client = await poller._connect()
            idle = client.has_capability("IDLE")
            await poller._close(client)
            rows.append(("imap", True, f"{s.imap_host}:{s.imap_port} {s.imap_mailbox} "
                                       f"(IDLE {'yes' if idle else 'no'}, keywords {'yes' if poller.keywords else 'no'})"))
        except Exception as exc:
            rows.append(("imap", False, f"{s.imap_host}:{s.imap_port}: {type(exc).__name__}"))
    else:
        rows.append(("imap", s.lmtp_port is not None, "not configured" + (" (LMTP in use)" if s.lmtp_port else "")))
    if s.smtp_host:
        smtp = aiosmtplib.SMTP(hostname=s.smtp_host, port=s.smtp_port, timeout=15,
                               use_tls=s.smtp_port == 465, start_tls=s.smtp_starttls and s.smtp_port != 465)
        try:
            await smtp.connect()
            if s.smtp_user and s.smtp_password:
                await smtp.login(s.smtp_user, s.smtp_password.get_secret_value())
            await smtp.quit()
            rows.append(("smtp", True, f"{s.smtp_host}:{s.smtp_port} from {s.smtp_from or '(MADOGUCHI_SMTP_FROM unset)'}"))
        except Exception as exc:
            rows.append(("smtp", False, f"{s.smtp_host}:{s.smtp_port}: {type(exc).__name__}"))
    else:
        rows.append(("smtp", False, "MADOGUCHI_SMTP_HOST is not set"))
    return rows


@email_cli.command("check")
def check() -> None:
    """Connect to the mail servers with the configured settings; send nothing."""
    rows = asyncio.run(check_settings(Settings()))
    for part, ok, detail in rows:
        typer.echo(f"{part:5} {'ok  ' if ok else 'FAIL'} {detail}")
    if not all(ok for _, ok, _ in rows):
        raise typer.Exit(1)


async def poll_once(settings: Settings) -> int:
    """Handle every pending mail once with the whole app context, then stop."""
    from bots.email.channel import EmailSenders, build_email_channels
    from madoguchi.app import build_context

    ctx = await build_context(settings)
    await ctx.hub.start()
    await ctx.router.start()
    try:
        channels = [c for c in build_email_channels(ctx) if c.poller is not None]
        if not channels:
            raise typer.BadParameter("no IMAP mailbox is configured (MADOGUCHI_IMAP_HOST or a profile's channels.email)")
        ctx.senders.register(EmailSenders(channels[0].sender, {c.profile_id: c.sender for c in channels}))
        return sum([await c.poller.run_once() for c in channels if c.poller is not None])
    finally:
        await ctx.router.queue.stop()
        await ctx.hub.stop()
        await ctx.engine.dispose()


@email_cli.command("poll")
def poll() -> None:
    """Read the mailbox once and answer what is new (for a cron job instead of `serve`)."""
    handled = asyncio.run(poll_once(Settings()))
    typer.echo(f"handled {handled} mail(s)")
