"""Links that name one row by id and need no login: `<id>.<expiry>.<signature>`, signed with a
key derived from the app's secret for one purpose, so a link of one kind never opens another.
What "one use" means is the caller's (an audit row, a column), not the token's."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from casecore.crypto import derive_key


class LinkError(ValueError):
    """A link that is malformed, forged or expired."""


@dataclass(frozen=True)
class SignedIdLinks:
    purpose: str  # the key derivation's label, e.g. "survey-link"
    path: str  # the URL path the token follows, e.g. "survey"
    what: str  # for the error messages, e.g. "survey link"

    def _sign(self, secret: str, payload: str) -> str:
        mac = hmac.new(derive_key(secret, self.purpose), payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:18]).decode().rstrip("=")

    def issue(self, secret: str, row_id: int, *, seconds: int, now: float | None = None) -> str:
        expiry = int((now if now is not None else time.time()) + seconds)
        payload = f"{row_id}.{expiry}"
        return f"{payload}.{self._sign(secret, payload)}"

    def verify(self, secret: str, token: str, *, now: float | None = None) -> int:
        """The id a valid, unexpired token names."""
        try:
            row, expiry, sig = token.split(".")
            row_id, expires = int(row), int(expiry)
        except ValueError as exc:
            raise LinkError(f"malformed {self.what}") from exc
        if not hmac.compare_digest(sig, self._sign(secret, f"{row}.{expiry}")):
            raise LinkError(f"{self.what} signature does not match")
        if (now if now is not None else time.time()) > expires:
            raise LinkError(f"{self.what} expired")
        return row_id

    def url(self, base_url: str, token: str) -> str:
        return f"{base_url.rstrip('/')}/{self.path}/{token}"
