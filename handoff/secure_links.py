"""The one-time link that takes a LINE or Telegram resident to the operator's own web chat
for the sensitive steps (name, contact, the problem in detail; issue 16).

A link is `<conversation>.<contact point>.<nonce>.<expiry>.<signature>`, HMAC-signed with a key
derived from the app's secret (like handoff.survey_links), so it needs no login and names nothing
personal. Signed and short-lived by the token; bound to the conversation and its contact point
(both in the signed payload, checked against the row); one use by the conversation row: issuing
a link stores `pending_hash(nonce)` in `conversation.access_token_hash` (unused on LINE and
Telegram), and opening it swaps that for the page session's hash in one conditional UPDATE, so a
second open (or an older link once a newer one was sent) finds nothing to swap."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from casecore.crypto import derive_key

PURPOSE = "secure-details-link"


class LinkError(ValueError):
    """A link that is malformed or forged (404)."""


class LinkExpired(LinkError):
    """A genuine link past its time (410): `claims` still names its conversation."""

    def __init__(self, claims: Claims) -> None:
        super().__init__("secure link expired")
        self.claims = claims


@dataclass(frozen=True)
class Claims:
    conversation_id: int
    contact_point_id: int
    nonce: str
    expires: int


def _sign(secret: str, payload: str) -> str:
    mac = hmac.new(derive_key(secret, PURPOSE), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode().rstrip("=")


def issue(secret: str, conversation_id: int, contact_point_id: int, *, minutes: int,
          now: float | None = None) -> tuple[str, str]:
    """A new link token and its nonce (store `pending_hash(nonce)` on the conversation)."""
    nonce = secrets.token_urlsafe(12)
    expiry = int((now if now is not None else time.time()) + minutes * 60)
    payload = f"{conversation_id}.{contact_point_id}.{nonce}.{expiry}"
    return f"{payload}.{_sign(secret, payload)}", nonce


def verify(secret: str, token: str, *, now: float | None = None) -> Claims:
    """The claims of a genuine, unexpired token (LinkExpired carries an expired one's)."""
    try:
        conv, contact, nonce, expiry, sig = token.split(".")
        claims = Claims(int(conv), int(contact), nonce, int(expiry))
    except ValueError as exc:
        raise LinkError("malformed secure link") from exc
    if not nonce or not hmac.compare_digest(sig, _sign(secret, f"{conv}.{contact}.{nonce}.{expiry}")):
        raise LinkError("secure link signature does not match")
    if (now if now is not None else time.time()) > claims.expires:
        raise LinkExpired(claims)
    return claims


def pending_hash(nonce: str) -> str:
    """What the conversation row holds while a link is out and unopened."""
    return hashlib.sha256(f"secure-link:{nonce}".encode()).hexdigest()


def session_hash(token: str) -> str:
    """What it holds while the page is open (the page's bearer token, hashed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_session_token(*, minutes: int, now: float | None = None) -> str:
    """The page's bearer token: `<deadline>.<random>`. The deadline is covered by the stored
    hash, so it cannot be moved without the token ceasing to match."""
    deadline = int((now if now is not None else time.time()) + minutes * 60)
    return f"{deadline}.{secrets.token_urlsafe(32)}"


def session_deadline(token: str) -> int | None:
    head, _, rest = token.partition(".")
    return int(head) if head.isdigit() and rest else None


def url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/secure/{token}"


@dataclass(frozen=True)
class SecureLinks:
    """What the inbound step needs to issue links (set on the router by the app)."""

    secret: str
    base_url: str
