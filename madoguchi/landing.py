"""`/`: a small landing page in Japanese naming the centre, leading to the web chat (and, in
small print, the counsellors' console). Served under the same strict CSP as the chat: no
inline script or style, the stylesheet is a file of its own."""

from __future__ import annotations

from html import escape
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

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
  <p class="languages"><span lang="en">Chat in your language:</span> {languages} —
  <a href="/chat" lang="en">open the chat</a></p>
  <p class="staff"><a href="/console">相談員の方はこちら(コンソール)</a></p>
</main>
</body>
</html>
"""


# Each language's name in itself, marked so a screen reader reads it in that language.
_LANGUAGES = [("en", "English"), ("zh-Hans", "简体中文"), ("zh-Hant", "繁體中文"), ("ko", "한국어"),
              ("vi", "Tiếng Việt"), ("fil", "Tagalog"), ("pt-BR", "Português"), ("ne", "नेपाली"),
              ("id", "Bahasa Indonesia"), ("es", "Español"), ("th", "ไทย"), ("my", "မြန်မာ"),
              ("ja", "やさしい にほんご")]
_LANGUAGE_LIST = ", ".join(f'<span lang="{code}">{name}</span>' for code, name in _LANGUAGES)


def landing_router() -> APIRouter:
    r = APIRouter()

    @r.get("/", include_in_schema=False)
    async def landing(request: Request) -> HTMLResponse:
        profile = request.app.state.ctx.profiles.default
        html = _PAGE.format(
            centre=escape(profile.t(profile.centre_name, "ja")),
            municipality=escape(profile.t(profile.municipality, "ja")),
            languages=_LANGUAGE_LIST,
        )
        return HTMLResponse(html, headers=SECURITY_HEADERS)

    @r.get("/static/landing.css", include_in_schema=False)
    async def landing_css() -> FileResponse:
        return FileResponse(STATIC / "landing.css", media_type="text/css", headers=SECURITY_HEADERS)

    @r.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        # Browsers ask for it on their first page here; a 404 would show as a console error.
        return Response(status_code=204)

    return r
