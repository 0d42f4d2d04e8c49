"""A counsellor's document for a resident whose channel cannot carry a file (LINE has no file
message; the web chat shows a link): `<media id>.<expiry>.<signature>`, signed with a key
derived from the app's secret, short-lived, served from the operator's own server. One use
is enforced by the media row (`downloaded_at`), not by the token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from casecore.crypto import derive_key


class LinkError(ValueError):
    """A document link that is malformed, forged or expired."""


def _sign(secret: str, payload: str) -> str:
    mac = hmac.new(derive_key(secret, "document-link"), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode().rstrip("=")


def issue(secret: str, media_id: int, *, hours: int, now: float | None = None) -> str:
    expiry = int((now if now is not None else time.time()) + hours * 3600)
    payload = f"{media_id}.{expiry}"
    return f"{payload}.{_sign(secret, payload)}"


def verify(secret: str, token: str, *, now: float | None = None) -> int:
    """The media id a valid, unexpired token names."""
    try:
        media, expiry, sig = token.split(".")
        media_id, expires = int(media), int(expiry)
    except ValueError as exc:
        raise LinkError("malformed document link") from exc
    if not hmac.compare_digest(sig, _sign(secret, f"{media}.{expiry}")):
        raise LinkError("document link signature does not match")
    if (now if now is not None else time.time()) > expires:
        raise LinkError("document link expired")
    return media_id


def url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/documents/{token}"
