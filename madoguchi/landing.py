"""`/`: a small landing page in Japanese naming the centre, leading to the web chat (and, in
small print, the counsellors' console). Served under the same strict CSP as the chat: no
inline script or style, the stylesheet is a file of its own."""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from bots.webchat.api import SECURITY_HEADERS

STATIC = Path(__file__).parent / "static"

_PAGE = """<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>{centre} くらしの相談</title>
<link rel="stylesheet" href="/static/landing.css">
</head>
<body>
<main class="landing">
  <p class="municipality">{municipality}</p>
  <h1>{centre}</h1>
  <p class="lead">お金、仕事、住まい、家族のことなど、くらしの困りごとを相談できます。<br>
  相談は無料です。秘密は守ります。匿名でも大丈夫です。</p>
  <p><a class="start" href="/chat">チャットで相談する</a></p>
  <p class="languages" lang="en">Chat in your language: English, 中文, 한국어, Tiếng Việt, Tagalog,
  Português, नेपाली, Bahasa Indonesia, Español, ไทย, မြန်မာ, やさしい にほんご —
  <a href="/chat">open the chat</a></p>
  <p class="staff"><a href="/console">相談員の方はこちら(コンソール)</a></p>
</main>
</body>
</html>
"""


def landing_router() -> APIRouter:
    r = APIRouter()

    @r.get("/", include_in_schema=False)
    async def landing(request: Request) -> HTMLResponse:
        profile = request.app.state.ctx.profiles.default
        html = _PAGE.format(
            centre=escape(profile.t(profile.centre_name, "ja")),
            municipality=escape(profile.t(profile.municipality, "ja")),
        )
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    @r.get("/static/landing.css", include_in_schema=False)
    async def landing_css() -> FileResponse:
        return FileResponse(STATIC / "landing.css", media_type="text/css", headers=SECURITY_HEADERS)

    return r
