"""Threading: every bot mail names its conversation three ways, so a reply finds it.

1. the Message-ID (`<madoguchi.<token>.<random>@domain>`) that In-Reply-To/References echo,
2. the reply address `soudan+<token>@domain` (plus-addressing),
3. a subject token `[#<token>]`, for clients that drop both headers and the plus part.

token = base36(conversation id) + "-" + HMAC-SHA256(secret, id) cut to 12 base32 characters:
verifiable without a lookup table and not guessable, so nobody can write into another
person's conversation by editing an address.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from email.utils import formatdate

from bots.email.parse import ParsedMail

_TOKEN = re.compile(r"\b([0-9a-z]{1,13}-[a-z2-7]{12})\b")
_SUBJECT_TOKEN = re.compile(r"\[#([0-9a-z]{1,13}-[a-z2-7]{12})\]", re.IGNORECASE)
_RE_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|sv|tr|antw|返信|転送)\s*(\[\d+\])?\s*[:：]\s*)+", re.IGNORECASE)


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


@dataclass(frozen=True)
class ThreadKeys:
    secret: bytes

    @classmethod
    def from_secret(cls, secret: str) -> ThreadKeys:
        key = hmac.new(secret.encode(), b"madoguchi email thread token", hashlib.sha256).digest()
        return cls(secret=key)

    def _mac(self, conversation_id: int) -> str:
        digest = hmac.new(self.secret, str(conversation_id).encode(), hashlib.sha256).digest()
        return base64.b32encode(digest).decode().lower()[:12]

    def token(self, conversation_id: int) -> str:
        return f"{_b36(conversation_id)}-{self._mac(conversation_id)}"

    def verify(self, token: str) -> int | None:
        """The conversation id of a genuine token, else None."""
        token = token.lower()
        head, sep, mac = token.rpartition("-")
        if not sep or not head or len(mac) != 12 or len(head) > 13:
            return None
        try:
            conversation_id = int(head, 36)
        except ValueError:
            return None
        if hmac.compare_digest(self._mac(conversation_id), mac):
            return conversation_id
        return None


def reply_address(from_addr: str, token: str) -> str:
    local, _, domain = from_addr.partition("@")
    return f"{local.split('+', 1)[0]}+{token}@{domain}"


def new_message_id(from_addr: str, token: str | None) -> str:
    domain = from_addr.partition("@")[2] or "madoguchi.invalid"
    middle = f"{token}." if token else ""
    return f"<madoguchi.{middle}{secrets.token_hex(8)}@{domain}>"


def subject_with_token(subject: str, token: str | None, fallback: str) -> str:
    """"Re: <their subject> [#token]": the resident's own subject, nothing added but the token."""
    base = re.sub(r"\[#[0-9a-zA-Z-]{1,40}\]", "", subject or "").strip()
    base = _RE_PREFIX.sub("", base).strip() or fallback
    subject = f"Re: {base}"
    return f"{subject} [#{token}]" if token else subject


def find_conversation(mail: ParsedMail, keys: ThreadKeys, own_address: str | None = None) -> int | None:
    """The conversation a reply belongs to, from plus-address, thread headers or subject."""
    own_local = own_address.partition("@")[0].split("+", 1)[0].lower() if own_address else None
    candidates: list[str] = []
    for addr in mail.recipients:
        local = addr.partition("@")[0]
        base, plus, tag = local.partition("+")
        if plus and (own_local is None or base == own_local):
            candidates.append(tag)
    for mid in [*mail.in_reply_to, *reversed(mail.references)]:
        if mid.startswith("madoguchi."):
            candidates.extend(_TOKEN.findall(mid.lower()))
    candidates.extend(t.lower() for t in _SUBJECT_TOKEN.findall(mail.subject or ""))
    for token in candidates:
        conversation_id = keys.verify(token)
        if conversation_id is not None:
            return conversation_id
    return None


def date_header() -> str:
    return formatdate(localtime=False, usegmt=True)
