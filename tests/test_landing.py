"""`/` leads to the chat: a small Japanese page naming the profile's centre, under the chat's
Content-Security-Policy (its stylesheet is a file; no inline style or script)."""

from __future__ import annotations

import re

from tests.conftest import Running


async def test_root_names_the_centre_and_links_the_chat(running_sqlite: Running) -> None:
    r = await running_sqlite.client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert '<html lang="ja">' in html
    assert "港区生活・就労支援センター" in html  # the default profile's centre_name.ja
    assert 'href="/chat"' in html and 'href="/console"' in html
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "<script" not in html and "style=" not in html and "<style" not in html
    css_href = re.search(r'<link rel="stylesheet" href="([^"]+)"', html)[1]
    css = await running_sqlite.client.get(css_href)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ".start" in css.text
    assert (await running_sqlite.client.get("/favicon.ico")).status_code == 204
    # the page is not part of the API contract
    schema = (await running_sqlite.client.get("/openapi.json")).json()
    assert "/" not in schema["paths"]


async def test_root_follows_the_default_profile(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_settings, start_app

    async for r in start_app(make_settings(tmp_path, profile="minato-osaka")):
        html = (await r.client.get("/")).text
        assert "大阪市港区 くらしのサポートコーナー" in html and "港区生活・就労支援センター" not in html
