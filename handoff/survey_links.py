"""The mailed survey's link: `<conversation id>.<expiry>.<signature>` (handoff.signed_links),
so the form needs no login and reveals nothing by its URL. One use is enforced by the survey's
audit row, not by the token."""

from __future__ import annotations

from handoff.signed_links import LinkError, SignedIdLinks

__all__ = ["LinkError", "issue", "url", "verify"]

_LINKS = SignedIdLinks(purpose="survey-link", path="survey", what="survey link")


def issue(secret: str, conversation_id: int, *, days: int, now: float | None = None) -> str:
    return _LINKS.issue(secret, conversation_id, seconds=days * 86400, now=now)


def verify(secret: str, token: str, *, now: float | None = None) -> int:
    """The conversation id a valid, unexpired token names."""
    return _LINKS.verify(secret, token, now=now)


def url(base_url: str, token: str) -> str:
    return _LINKS.url(base_url, token)
