"""Values the dialog produces: what to say, which buttons to offer, what the world should do.

Channel adapters render `OutboundMessage`; the handoff layer applies `Effect`s inside the
step's database transaction. Everything here is plain data so the dialog stays pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Choice:
    """A button. `id` is a stable word from the flow file, the same in every language."""

    id: str
    label: str


@dataclass(frozen=True, slots=True)
class ContactLink:
    """A phone line named in a message, so channels can make it a call action (web chat
    `tel:` link, LINE call button). `number` is the text as shown, `uri` a `tel:` URI."""

    label: str
    number: str
    uri: str

    def to_json(self) -> dict[str, str]:
        return {"label": self.label, "number": self.number, "uri": self.uri}


MessageKind = Literal["text", "notice", "emergency", "summary"]


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    text: str
    choices: tuple[Choice, ...] = ()
    kind: MessageKind = "text"
    # multi-select steps: the resident may pick several before `done`
    multi: bool = False
    machine_translated: bool = False
    contacts: tuple[ContactLink, ...] = ()  # phone lines in `text` (emergency messages)

    def to_json(self) -> dict[str, Any]:
        return {
            "contacts": [c.to_json() for c in self.contacts],
            "text": self.text,
            "choices": [{"id": c.id, "label": c.label} for c in self.choices],
            "kind": self.kind,
            "multi": self.multi,
            "machine_translated": self.machine_translated,
        }


@dataclass(frozen=True, slots=True)
class Effect:
    """Something the dialog asks the outside world to do. `kind` is one of EFFECT_KINDS."""

    kind: str
    data: dict[str, Any] = field(default_factory=dict)


EFFECT_KINDS = frozenset(
    {
        "record_consent",  # data: consent_kind, decision, wording_version, wording_hash, language
        "create_case",  # data: the structured intake (answers) and recommended programmes
        "request_human",  # data: reason (asked, risk, look, safety, intake_complete)
        "mark_urgent",  # data: reasons (i18n.risk.KINDS or safety choices), level "emergency"
        "flag_look",  # data: reasons; a counsellor looks soon (not urgent, no alarm)
        "set_language",  # data: language, source
        "purge_unconsented",  # the resident stopped or declined before consenting
        "end_conversation",
    }
)
