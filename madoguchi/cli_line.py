"""`madoguchi line ...`: LINE channel tools (the CLI mounts `line_app` as `line`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer

line_app = typer.Typer(help="LINE channel tools.", no_args_is_help=True)


@line_app.callback()
def _group() -> None:
    """LINE channel tools."""


@line_app.command("rich-menu")
def rich_menu_command(
    profile: str = typer.Option(None, help="Profile whose LINE channel gets the menu (default: the default profile)."),
    language: str = typer.Option(None, help="Language of the labels (default: the profile's first language, ja)."),
    image: Path = typer.Option(None, exists=True, dir_okay=False, help="A designed 2500×843 PNG or JPEG instead of the drawn one."),
) -> None:
    """Create the rich menu (相談する / 言語 / 緊急連絡先 / 同意の取り消し) and make it the default."""
    data = image.read_bytes() if image else None
    kind = "image/jpeg" if image and image.suffix.lower() in (".jpg", ".jpeg") else "image/png"
    menu_id = asyncio.run(_rich_menu(profile, language, data, kind))
    typer.echo(f"rich menu {menu_id} is the default for the profile's LINE channel")


async def _rich_menu(profile_id: str | None, language: str | None, data: bytes | None, kind: str) -> str:
    from functools import partial

    from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration

    from bots.line.channels import LineChannels
    from bots.line.richmenu import install, upload_image
    from dialogs.profile import ProfileRegistry
    from madoguchi.settings import Settings

    settings = Settings()
    registry = ProfileRegistry.load(settings.profile, settings.profiles_dir)
    profile = registry.get(profile_id or registry.default_id)
    channel = LineChannels.from_config(settings, registry.all()).for_profile(profile.id)
    if channel is None:
        raise typer.BadParameter(f"profile {profile.id} has no LINE channel credentials")
    tel = next((c.tel_uri for c in profile.emergency_contacts if c.tel_uri), None)
    api_client = AsyncApiClient(Configuration(access_token=channel.access_token, host=settings.line_api_base_url))
    upload = partial(upload_image, settings.line_data_api_base_url, channel.access_token)
    try:
        return await install(AsyncMessagingApi(api_client), upload, language or "ja", tel, data, kind)
    finally:
        await api_client.close()
