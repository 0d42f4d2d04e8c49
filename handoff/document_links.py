"""A counsellor's document for a resident whose channel cannot carry a file (LINE has no file
message; the web chat shows a link): `<media id>.<expiry>.<signature>` (handoff.signed_links),
short-lived, served from the operator's own server. One use is enforced by the media row
(`downloaded_at`), not by the token."""

from __future__ import annotations

from handoff.signed_links import LinkError, SignedIdLinks

__all__ = ["LinkError", "issue", "url", "verify"]

_LINKS = SignedIdLinks(purpose="document-link", path="documents", what="document link")


def issue(secret: str, media_id: int, *, hours: int, now: float | None = None) -> str:
    return _LINKS.issue(secret, media_id, seconds=hours * 3600, now=now)


def verify(secret: str, token: str, *, now: float | None = None) -> int:
    """The media id a valid, unexpired token names."""
    return _LINKS.verify(secret, token, now=now)


def url(base_url: str, token: str) -> str:
    return _LINKS.url(base_url, token)
