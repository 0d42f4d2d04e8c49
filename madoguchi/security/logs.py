"""Logs carry no identity, IP or session id unless `MADOGUCHI_LOG_IDENTITIES` asks, and then only
as keyed hashes (HMAC with the app's secret: stable, so lines can be correlated, not reversible).

- uvicorn's access log: the query string is dropped (it once held the web chat token), digit
  path segments (session and case ids) become `{id}` and the client address `-`;
- structlog events: identity keys are removed, or hashed when asked.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

import structlog

# Keys that name a person, a network or a session in our own log events.
IDENTITY_KEYS = frozenset({
    "ip", "client", "client_ip", "remote_addr", "external_user_id", "user_id", "session_id",
    "conversation_id", "conversation_key", "contact_point_id", "event_id", "device",
})


class Hasher:
    def __init__(self, secret: str, enabled: bool) -> None:
        self._key = hmac.new(secret.encode(), b"log-identity", hashlib.sha256).digest()
        self.enabled = enabled

    def __call__(self, value: object) -> str:
        return "h:" + hmac.new(self._key, str(value).encode(), hashlib.sha256).hexdigest()[:16]


class AccessLogScrubber(logging.Filter):
    """Rewrites uvicorn.access records: (client, method, path?query, http version, status)."""

    def __init__(self, hasher: Hasher) -> None:
        super().__init__()
        self.hasher = hasher

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            client, method, full_path, version, status = args
            path = str(full_path).split("?", 1)[0]
            segments = path.split("/")
            if self.hasher.enabled:
                path = "/".join(self.hasher(s) if s.isdigit() else s for s in segments)
                client = self.hasher(str(client).rsplit(":", 1)[0])
            else:
                path = "/".join("{id}" if s.isdigit() else s for s in segments)
                client = "-"
            record.args = (client, method, path, version, status)
        return True


def identity_processor(hasher: Hasher) -> Any:
    def process(_: object, __: str, event: dict[str, Any]) -> dict[str, Any]:
        for key in IDENTITY_KEYS.intersection(event):
            if hasher.enabled and event[key] is not None:
                event[key] = hasher(event[key])
            else:
                del event[key]
        return event

    process.madoguchi_identity = True  # type: ignore[attr-defined]
    return process


def install_log_scrubbing(secret: str, log_identities: bool) -> Hasher:
    hasher = Hasher(secret, log_identities)
    access = logging.getLogger("uvicorn.access")
    for f in [f for f in access.filters if isinstance(f, AccessLogScrubber)]:
        access.removeFilter(f)
    access.addFilter(AccessLogScrubber(hasher))
    config = structlog.get_config()
    processors = [p for p in config["processors"] if not getattr(p, "madoguchi_identity", False)]
    processors.insert(max(0, len(processors) - 2), identity_processor(hasher))  # before exc/rendering
    structlog.configure(processors=processors)
    return hasher
