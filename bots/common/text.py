"""Texts as chat apps show them: choice postbacks and the "machine translated" note."""

from __future__ import annotations

from dialogs.types import OutboundMessage
from i18n.catalog import catalog

POSTBACK_PREFIX = "c:"
MAX_CHOICE_ID = 64


def postback_data(choice_id: str) -> str:
    return POSTBACK_PREFIX + choice_id


def choice_from_postback(data: str) -> str | None:
    if data.startswith(POSTBACK_PREFIX) and 0 < len(data) - len(POSTBACK_PREFIX) <= MAX_CHOICE_ID:
        return data[len(POSTBACK_PREFIX) :]
    return None


def marked_text(msg: OutboundMessage, language: str) -> str:
    """The text, with the catalog's "machine translated" note when a counsellor's words were
    translated for the resident (chat apps have no badge to show it)."""
    if not msg.machine_translated or not msg.text.strip():
        return msg.text
    return f"{msg.text}\n\n({catalog(language).text('machine_translated')})"
