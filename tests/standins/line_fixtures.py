"""pytest fixtures for the LINE stand-in: import them into a test module to use them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.standins.line_api import LineApiStandIn

ACCESS_TOKEN = "test-access-token-minato"
CHANNEL_SECRET = "test-channel-secret-minato"


@pytest.fixture(scope="module")
def line_server() -> Iterator[LineApiStandIn]:
    server = LineApiStandIn().start()
    yield server
    server.stop()


@pytest.fixture
def line_api(line_server: LineApiStandIn) -> Iterator[LineApiStandIn]:
    """The stand-in, cleared for this test; fails the test if the service sent anything LINE
    would refuse."""
    line_server.access_tokens = set()
    line_server.calls.clear()
    line_server.delivered.clear()
    line_server.violations.clear()
    line_server.faults.clear()
    line_server.loading.clear()
    line_server.profiles.clear()
    line_server.left.clear()
    line_server.rich_menus.clear()
    line_server.rich_menu_images.clear()
    line_server.default_rich_menu = None
    line_server.add_channel(ACCESS_TOKEN)
    yield line_server
    assert not line_server.violations, f"requests LINE would refuse: {line_server.violations}"
