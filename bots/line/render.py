"""OutboundMessage -> LINE message objects (plain JSON, as messaging-api.yml defines them).

Choices become quick reply buttons (postback actions carrying the choice id). LINE allows at
most 13 buttons with labels of at most 20 characters; a longer list is written out as a
numbered text instead, and the adapter maps a typed number back to the choice id.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bots.common.text import (  # re-exported: inbound.py reads postbacks from here
    POSTBACK_PREFIX,  # noqa: F401
    choice_from_postback,  # noqa: F401
    marked_text,
    postback_data,
)
from bots.common.textsplit import split_text, truncate_utf16
from dialogs.types import Choice, ContactLink, LinkButton, OutboundMessage
from i18n.catalog import catalog

MAX_TEXT = 5000
MAX_QUICK_REPLIES = 13
MAX_LABEL = 20
MAX_DISPLAY_TEXT = 300
MAX_MESSAGES_PER_CALL = 5

def number_hint(language: str) -> str:
    """The prompt under a numbered list (`numbered_hint` of the `channel` catalog)."""
    return catalog(language, "channel").text("numbered_hint")


@dataclass
class Rendered:
    messages: list[dict[str, Any]] = field(default_factory=list)
    # Choice ids in the order of the numbered list the resident last saw (empty: none)
    numbered: list[str] = field(default_factory=list)


def quick_reply(choices: Sequence[Choice]) -> dict[str, Any]:
    return {
        "items": [
            {
                "type": "action",
                "action": {
                    "type": "postback",
                    "label": truncate_utf16(c.label.strip() or c.id, MAX_LABEL),
                    "data": postback_data(c.id),
                    # Shown in the chat as the resident's own message: the full label.
                    "displayText": truncate_utf16(c.label.strip() or c.id, MAX_DISPLAY_TEXT),
                },
            }
            for c in choices
        ]
    }


MAX_ALT_TEXT = 400
MAX_CALL_BUTTONS = 10


def call_buttons(contacts: Sequence[ContactLink]) -> dict[str, Any] | None:
    """A Flex bubble with one call button (URI action `tel:`) per line, so the resident dials
    with one tap. The number leads the label, so it stays visible when the label is cut."""
    if not contacts:
        return None
    shown = list(contacts)[:MAX_CALL_BUTTONS]
    buttons = [
        {
            "type": "button",
            "style": "primary" if i == 0 else "secondary",
            "height": "sm",
            "action": {"type": "uri", "label": truncate_utf16(f"{c.number} {c.label}", MAX_LABEL), "uri": c.uri},
        }
        for i, c in enumerate(shown)
    ]
    alt = truncate_utf16(" / ".join(f"{c.label} {c.number}" for c in shown), MAX_ALT_TEXT)
    return {
        "type": "flex",
        "altText": alt,
        "contents": {"type": "bubble", "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": buttons}},
    }


def link_button(link: LinkButton) -> dict[str, Any]:
    """A Flex bubble with one URI action: LINE opens an https link in its in-app browser (the
    secure-details page, issue 16). The URI never rides in a text message, where LINE would
    fetch it for a preview (and spend the one-time link)."""
    label = truncate_utf16(link.label, MAX_LABEL)
    return {
        "type": "flex",
        "altText": label,
        "contents": {"type": "bubble", "body": {"type": "box", "layout": "vertical", "contents": [
            {"type": "button", "style": "primary", "height": "sm",
             "action": {"type": "uri", "label": label, "uri": link.uri}},
        ]}},
    }


def numbered_text(choices: Sequence[Choice], language: str) -> str:
    lines = [f"{i}. {c.label}" for i, c in enumerate(choices, start=1)]
    return "\n".join([*lines, number_hint(language)])


def render(messages: Sequence[OutboundMessage], language: str) -> Rendered:
    out = Rendered()
    pending_quick: dict[str, Any] | None = None
    for msg in messages:
        text = marked_text(msg, language) if msg.text.strip() else ("…" if msg.choices else "")
        if msg.choices and len(msg.choices) > MAX_QUICK_REPLIES:
            text = f"{text}\n\n{numbered_text(msg.choices, language)}".strip()
            out.numbered = [c.id for c in msg.choices]
            pending_quick = None
        elif msg.choices:
            out.numbered = []
        if not text:
            continue
        chunks = [{"type": "text", "text": chunk} for chunk in split_text(text, MAX_TEXT)]
        if msg.choices and len(msg.choices) <= MAX_QUICK_REPLIES:
            pending_quick = quick_reply(msg.choices)
        out.messages.extend(chunks)
        buttons = call_buttons(msg.contacts)
        if buttons is not None:
            out.messages.append(buttons)
        if msg.link is not None:
            out.messages.append(link_button(msg.link))
    # LINE shows only the quick reply of the last message received, so the buttons ride on
    # the batch's final message even when a plain message follows the question.
    if pending_quick and out.messages:
        out.messages[-1]["quickReply"] = pending_quick
    return out


def batches(messages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [messages[i : i + MAX_MESSAGES_PER_CALL] for i in range(0, len(messages), MAX_MESSAGES_PER_CALL)]


def typed_number(text: str | None) -> int | None:
    """The number a message is, if it is only one ("2", "２", " 2. ")."""
    if not text:
        return None
    cleaned = unicodedata.normalize("NFKC", text).strip().rstrip(".").strip()
    if not cleaned.isdigit() or len(cleaned) > 3:
        return None
    return int(cleaned)


def number_answer(text: str | None, numbered: Sequence[str]) -> str | None:
    """The choice id a typed number ("2", "２", " 2. ") stands for, if it is one."""
    if not numbered:
        return None
    index = typed_number(text)
    if index is None:
        return None
    return numbered[index - 1] if 1 <= index <= len(numbered) else None
