"""`madoguchi telegram ...`: the CLI mounts `app` with `add_typer(app, name="telegram")`."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import typer

telegram_app = typer.Typer(help="Telegram channel tools.", no_args_is_help=True)
app = telegram_app  # the name madoguchi.cli looks for


@telegram_app.command("poll")
def poll_command(
    profile: str = typer.Option(None, help="Profile whose bot to poll (default: MADOGUCHI_PROFILE)."),
) -> None:
    """Development mode: receive updates by long polling instead of the webhook."""
    asyncio.run(_poll(profile))


async def _poll(profile: str | None) -> None:
    from bots.telegram.poll import poll
    from bots.telegram.webhook import TelegramAdapter
    from madoguchi.app import build_context
    from madoguchi.settings import Settings

    settings = Settings()
    ctx = await build_context(settings)
    adapter = TelegramAdapter.from_context(ctx)
    bot = adapter.bots.for_profile(profile or settings.profile)
    if bot is None:
        raise typer.BadParameter("no Telegram bot token for that profile (MADOGUCHI_TELEGRAM_BOT_TOKEN)")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await ctx.hub.start()
    await ctx.router.start()
    typer.echo(f"polling Telegram for profile {bot.profile_id} (bot {bot.bot_id}); Ctrl-C stops")
    try:
        handled = await poll(adapter, bot, stop)
        typer.echo(f"stopped after {handled} updates")
    finally:
        await ctx.router.queue.stop()
        await adapter.aclose()
        await ctx.hub.stop()
        await ctx.engine.dispose()


@telegram_app.command("set-webhook")
def set_webhook_command(
    url: str = typer.Argument(..., help="Public HTTPS URL of /webhooks/telegram"),
    profile: str = typer.Option(None, help="Profile whose bot to configure."),
) -> None:
    """Register the webhook URL and secret token with Telegram."""
    asyncio.run(_set_webhook(url, profile))


async def _set_webhook(url: str, profile: str | None) -> None:
    from bots.telegram.bots import TelegramBots
    from bots.telegram.poll import ALLOWED_UPDATES
    from madoguchi.settings import Settings

    settings = Settings()
    from dialogs.profile import ProfileRegistry

    bots = TelegramBots.from_config(settings, ProfileRegistry.load(settings.profile, settings.profiles_dir).all())
    bot = bots.for_profile(profile or settings.profile)
    if bot is None or not bot.webhook_secret:
        raise typer.BadParameter("the profile needs a bot token and a webhook secret")
    try:
        await bots.client(bot).set_webhook(url, secret_token=bot.webhook_secret, allowed_updates=ALLOWED_UPDATES)
    finally:
        await bots.aclose()
    typer.echo(f"webhook set for bot {bot.bot_id}")
