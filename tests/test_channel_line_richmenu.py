"""`madoguchi line rich-menu` against the LINE stand-in (every request checked against the
published Messaging API spec): the menu, its drawn image and the default, in every language."""

from __future__ import annotations

import io
from functools import partial

import pytest
from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration
from PIL import Image
from typer.testing import CliRunner

from bots.line.richmenu import HEIGHT, WIDTH, install, upload_image
from i18n.catalog import available_languages, catalog
from madoguchi.cli_line import line_app
from tests.standins.line_fixtures import ACCESS_TOKEN, CHANNEL_SECRET, line_api, line_server  # noqa: F401


def test_rich_menu_command_creates_the_default_menu(line_api, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # noqa: F811
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MADOGUCHI_LINE_CHANNEL_SECRET", CHANNEL_SECRET)
    monkeypatch.setenv("MADOGUCHI_LINE_CHANNEL_ACCESS_TOKEN", ACCESS_TOKEN)
    monkeypatch.setenv("MADOGUCHI_LINE_API_BASE_URL", line_api.base_url)
    monkeypatch.setenv("MADOGUCHI_LINE_DATA_API_BASE_URL", line_api.base_url)
    for _ in range(2):  # a second run replaces the first menu, never piles up
        result = CliRunner().invoke(line_app, ["rich-menu"])
        assert result.exit_code == 0, result.output
    assert len(line_api.rich_menus) == 1
    (menu_id, menu), = line_api.rich_menus.items()
    assert line_api.default_rich_menu == menu_id and menu_id in result.output
    actions = [a["action"] for a in menu["areas"]]
    assert [a.get("label") for a in actions] == ["相談する", "言語", "緊急連絡先", "同意の取り消し"]
    assert actions[0]["data"] == "c:human" and actions[1]["data"] == "c:lang"
    assert actions[2]["type"] == "uri" and actions[2]["uri"].startswith("tel:")
    # the withdrawal cell sends the words the dialog's consent-withdrawal command reads
    assert actions[3] == {"type": "message", "label": "同意の取り消し", "text": "同意の取り消し"}
    assert sum(a["bounds"]["width"] for a in menu["areas"]) == WIDTH
    content_type, png = line_api.rich_menu_images[menu_id]
    assert content_type == "image/png" and len(png) < 1_000_000
    assert Image.open(io.BytesIO(png)).size == (WIDTH, HEIGHT)


async def test_the_menu_is_valid_in_every_language(line_api) -> None:  # noqa: F811
    api_client = AsyncApiClient(Configuration(access_token=ACCESS_TOKEN, host=line_api.base_url))
    try:
        api, upload = AsyncMessagingApi(api_client), partial(upload_image, line_api.base_url, ACCESS_TOKEN)
        for language in available_languages("channel"):
            menu_id = await install(api, upload, language, "tel:0120-279-338")
            labels = [a["action"]["label"] for a in line_api.rich_menus[menu_id]["areas"]]
            assert labels[0] == catalog(language, "channel").text("rich_menu.consult")[:20]
    finally:
        await api_client.close()
    assert len(line_api.rich_menus) == 1  # each run replaced the one before
    # (the stand-in refused nothing: labels ≤ 20 characters, chat bar ≤ 14, areas in bounds)
