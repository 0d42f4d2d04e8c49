"""A resident's pictures and documents in the console, and a counsellor's document back
(issue 16).

- `GET /api/conversations/{id}/media/{media_id}` (and `/thumb`): the same need-to-know rule
  as reading the transcript, an audit row for every view, and headers that keep the bytes
  out of caches and out of the page: `Cache-Control: no-store`, `nosniff`, a CSP that runs
  nothing, `Content-Disposition: attachment` for everything but re-encoded images.
- `POST /api/conversations/{id}/documents`: the raw PDF as the body (`Content-Type:
  application/pdf`, the name URL-encoded in `X-Filename`); the holder of the conversation
  only; same-origin like every staff write (handoff.api.origin).
- `GET /documents/{token}`: the resident's short-lived link (LINE, web chat): a page in their
  language whose button (`POST`) is the one download.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote, unquote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from casecore import media as core
from casecore.db import transaction
from handoff import document_links
from handoff.actions import media as media_actions
from handoff.actions.base import ActionError
from handoff.api.cases import read_basis
from handoff.api.deps import Ctx, Me, Refused, visible_conversation
from i18n.catalog import catalog

router = APIRouter(prefix="/api", tags=["conversations"])
public = APIRouter(tags=["residents"])

CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox; frame-ancestors 'self'"


def _disposition(kind: str, filename: str | None, fallback: str) -> str:
    name = filename or fallback
    ascii_name = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def served(data: bytes, content_type: str, inline: bool, filename: str | None, fallback: str) -> Response:
    return Response(data, media_type=content_type, headers={
        "Cache-Control": "no-store, private",
        "Pragma": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": CSP,
        "Cross-Origin-Resource-Policy": "same-origin",
        "Referrer-Policy": "no-referrer",
        "Content-Disposition": _disposition("inline" if inline else "attachment", filename, fallback),
    })


async def _view(ctx: Any, me: Any, conversation_id: int, media_id: int, thumb: bool) -> Response:
    async with transaction(ctx.sessions) as s:
        conv = await visible_conversation(s, conversation_id, me, "read")
        why = await read_basis(s, me, conv=conv)  # the transcript's rule (Refused: 404, audited)
        row = await media_actions.audited_media(s, conv, media_id, me, thumb=thumb, why=why)
        if row is None or (thumb and row.thumbnail is None):
            raise Refused(me, "conversation", conversation_id, "read")
        if thumb:
            return served(row.thumbnail or b"", "image/jpeg", True, None, f"thumb-{media_id}.jpg")
        ctype, inline = core.served_type(row)
        return served(row.data or b"", ctype, inline, row.filename, f"media-{media_id}")


@router.get("/conversations/{conversation_id}/media/{media_id}", include_in_schema=True,
            summary="One attachment of the transcript (audited; attachment unless a re-encoded image)")
async def read_media(conversation_id: int, media_id: int, ctx: Ctx, me: Me) -> Response:
    return await _view(ctx, me, conversation_id, media_id, thumb=False)


@router.get("/conversations/{conversation_id}/media/{media_id}/thumb",
            summary="The thumbnail of an image of the transcript (audited)")
async def read_thumb(conversation_id: int, media_id: int, ctx: Ctx, me: Me) -> Response:
    return await _view(ctx, me, conversation_id, media_id, thumb=True)


@router.post("/conversations/{conversation_id}/documents", status_code=201,
             summary="Send the resident a PDF (the raw PDF as the body; X-Filename URL-encoded)")
async def send_document(conversation_id: int, request: Request, ctx: Ctx, me: Me) -> dict[str, Any]:
    ctype = (request.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if ctype != "application/pdf":
        raise ActionError(415, "only a PDF can be sent (Content-Type: application/pdf)")
    data = await request.body()
    name = unquote(request.headers.get("x-filename") or "")[:300] or None
    async with transaction(ctx.sessions) as s:
        await visible_conversation(s, conversation_id, me)
    sent = await media_actions.send_document(ctx, conversation_id, me, data, name)
    return {"message_id": sent.message_id, "media_id": sent.media_id}


_GONE = """<!doctype html><html lang="ja"><meta charset="utf-8"><title>—</title>
<p>このリンクは使えません（期限切れか、すでに開かれています）。相談員にお知らせください。</p>
<p lang="en">This link can no longer be used (it expired or was already opened). Please tell the counsellor.</p>"""


# The link's page, in the resident's language: a GET shows it and spends nothing (LINE fetches
# a URL in a text message for its preview); the button's POST is the one download.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
}


def _document_page(language: str, token: str) -> HTMLResponse:
    words = catalog(language, "media")
    lang = "ja" if language.startswith("ja") else language
    title = escape(words.text("document_page_title"))
    return HTMLResponse(
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">'
        f'<title>{title}</title><link rel="stylesheet" href="/chat/static/survey.css"></head>'
        f'<body><main><h1>{title}</h1><p>{escape(words.text("document_page_body"))}</p>'
        f'<form method="post" action="/documents/{escape(token)}"><button type="submit">'
        f'{escape(words.text("document_download"))}</button></form></main></body></html>', headers=PAGE_HEADERS)


def _gone(media_id: int | None) -> HTMLResponse:
    """404 for a forged or expired link, 410 for one already used (or its document gone)."""
    return HTMLResponse(_GONE, status_code=404 if media_id is None else 410, headers={"Cache-Control": "no-store"})


def _linked_media(ctx: Any, token: str) -> int | None:
    try:
        return document_links.verify(ctx.settings.resolved_secret_key(), token)
    except document_links.LinkError:
        return None


@public.get("/documents/{token}", include_in_schema=False)
async def resident_document_page(token: str, ctx: Ctx) -> Response:
    media_id = _linked_media(ctx, token)
    language = await media_actions.document_link_language(ctx, media_id) if media_id is not None else None
    return _document_page(language, token) if language is not None else _gone(media_id)


@public.post("/documents/{token}", include_in_schema=False)
async def resident_document(token: str, ctx: Ctx) -> Response:
    media_id = _linked_media(ctx, token)
    found = await media_actions.open_document_link(ctx, media_id) if media_id is not None else None
    if found is None:
        return _gone(media_id)
    data, name = found
    return served(data, "application/pdf", False, name, "document.pdf")
