"""The web chat's upload button (issue 16, item 1): a photo or a PDF from the resident.

`POST /api/webchat/sessions/<id>/uploads` (multipart: `file`, optional `caption` and
`client_message_id`), with the session's bearer token like every other web chat POST (no
cookie authorises it, so no cross-site form can send one). The size is enforced twice while
reading: the hardening middleware caps the body (`madoguchi/security/asgi.py`, UPLOAD_PATHS) and
the file is read in chunks up to `media_max_file_bytes` + 1, never whole; the type is the server's
to decide (handoff.actions.media detects it from the bytes, re-encodes images without EXIF/GPS and
stores them encrypted). Rate-limited like messages. The answer is the usual reply plus `upload`."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from starlette.datastructures import UploadFile

from bots.webchat.api import (
    INT64_MAX,
    _bearer,
    _client_ip,
    _limit_ip,
    _limited,
    _reply,
    _session_conv,
    refusal,
)
from handoff.api.deps import Ctx
from handoff.events import InboundEvent, InboundMedia
from i18n.catalog import catalog

router = APIRouter(tags=["webchat"])
CHUNK = 64 * 1024
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic", "image/heif", "image/gif")


async def _read_capped(upload: UploadFile, cap: int) -> bytes | None:
    """The file's bytes, or None past `cap` (read in chunks: never more than cap + one chunk)."""
    parts: list[bytes] = []
    size = 0
    while chunk := await upload.read(CHUNK):
        size += len(chunk)
        if size > cap:
            return None
        parts.append(chunk)
    return b"".join(parts)


@router.post("/api/webchat/sessions/{session_id}/uploads")
async def upload(request: Request, ctx: Ctx, session_id: int = PathParam(ge=1, le=INT64_MAX),
                 token: str = Depends(_bearer)) -> dict[str, Any]:
    conv = await _session_conv(ctx, session_id, token)
    await _limited(ctx, "messages_per_session", str(session_id), conv.language)
    await _limited(ctx, "messages_per_ip", _limit_ip(_client_ip(request)), conv.language)
    cap = ctx.settings.media_max_file_bytes
    async with request.form(max_files=1, max_fields=3) as form:
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise refusal(422, "no_file", "send one file in the `file` field")
        data = await _read_capped(file, cap)
        if data is None:
            raise refusal(413, "too_large", catalog(conv.language, "page").text(
                "upload_too_large", max=cap // (1024 * 1024)))
        if not data:
            raise refusal(422, "empty_file", "the file is empty")
        caption = form.get("caption")
        client_id = form.get("client_message_id")
        declared = (file.content_type or "").split(";")[0].strip().lower() or None
        name = (file.filename or "")[:200] or None
    caption_text = caption.strip()[: ctx.settings.max_message_chars] if isinstance(caption, str) and caption.strip() else None
    event_suffix = client_id if isinstance(client_id, str) and 0 < len(client_id) <= 64 and client_id.replace("-", "").isalnum() \
        else uuid.uuid4().hex
    kind = "image" if declared in IMAGE_TYPES else "file"
    result = await ctx.router.process(InboundEvent(
        channel="webchat", channel_event_id=f"{session_id}:upload:{event_suffix}", kind="media", media_type=kind,
        external_user_id=conv.external_id, profile_id=conv.profile_id, text=caption_text,
        attachments=[InboundMedia(data=data, filename=name, declared_type=declared, kind=kind)],
    ))
    reply = _reply(result, conv.language, ctx.settings.max_message_chars)
    reply["upload"] = {"kind": kind, "filename": name, "size": len(data)}
    return reply
