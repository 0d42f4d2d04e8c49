"""The mailed survey's link: `<conversation id>.<expiry>.<signature>`, signed with a key
derived from the app's secret, so the form needs no login and reveals nothing by its URL.
One use is enforced by the survey's audit row, not by the token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from casecore.crypto import derive_key


class LinkError(ValueError):
    """A survey link that is malformed, forged or expired."""


def _sign(secret: str, payload: str) -> str:
    mac = hmac.new(derive_key(secret, "survey-link"), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode().rstrip("=")


def issue(secret: str, conversation_id: int, *, days: int, now: float | None = None) -> str:
    expiry = int((now if now is not None else time.time()) + days * 86400)
    payload = f"{conversation_id}.{expiry}"
    return f"{payload}.{_sign(secret, payload)}"


def verify(secret: str, token: str, *, now: float | None = None) -> int:
    """The conversation id a valid, unexpired token names."""
    try:
        conv, expiry, sig = token.split(".")
        conversation_id, expires = int(conv), int(expiry)
    except ValueError as exc:
        raise LinkError("malformed survey link") from exc
    if not hmac.compare_digest(sig, _sign(secret, f"{conv}.{expiry}")):
        raise LinkError("survey link signature does not match")
    if (now if now is not None else time.time()) > expires:
        raise LinkError("survey link expired")
    return conversation_id


def url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/survey/{token}"
