"""Values the dialog produces: what to say, which buttons to offer, what the world should do.

Channel adapters render `OutboundMessage`; the handoff actions apply the typed effects inside
the step's database transaction. Everything here is plain data so the dialog stays pure.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, Literal


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


@dataclass(frozen=True, slots=True)
class LinkButton:
    """A web address to open from the chat (LINE URI action, Telegram URL button): the
    one-time secure-details link. Never stored with the message."""

    label: str
    uri: str


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
    link: LinkButton | None = None  # a button opening a page (LINE and Telegram only)

    def to_json(self) -> dict[str, Any]:
        return {
            "contacts": [c.to_json() for c in self.contacts],
            "text": self.text,
            "choices": [{"id": c.id, "label": c.label} for c in self.choices],
            "kind": self.kind,
            "multi": self.multi,
            "machine_translated": self.machine_translated,
        }


# ── effects: what the dialog asks the outside world to do ─────────────────────
# One frozen dataclass per kind; `handoff.actions.effects` dispatches them by type (a registry,
# no string switch). `kind` names the effect in the flow file (`effects: [purge_unconsented]`)
# and in logs; `data` is the fields as a dict (for logs and tests).


class _EffectBase:
    __slots__ = ()
    kind: ClassVar[str]

    @property
    def data(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class SetLanguage(_EffectBase):
    kind: ClassVar[str] = "set_language"
    language: str
    source: str | None = None  # explicit, channel, detected


@dataclass(frozen=True, slots=True)
class RecordConsent(_EffectBase):
    kind: ClassVar[str] = "record_consent"
    consent_kind: str  # use, share_agencies
    decision: str  # granted, declined, discuss
    wording_version: str
    wording_hash: str
    language: str


@dataclass(frozen=True, slots=True)
class CreateCase(_EffectBase):
    """The structured intake (answers) and the recommended programmes."""

    kind: ClassVar[str] = "create_case"
    answers: dict[str, Any]
    language: str
    urgent_reasons: list[str]
    recommended: list[str]


@dataclass(frozen=True, slots=True)
class RequestHuman(_EffectBase):
    kind: ClassVar[str] = "request_human"
    reason: str | None = None  # asked, risk, look, safety, intake_complete


@dataclass(frozen=True, slots=True)
class MarkUrgent(_EffectBase):
    kind: ClassVar[str] = "mark_urgent"
    reasons: tuple[str, ...] | list[str]  # i18n.risk.KINDS or safety choices
    level: str = "emergency"


@dataclass(frozen=True, slots=True)
class FlagLook(_EffectBase):
    """A counsellor looks soon (not urgent, no alarm)."""

    kind: ClassVar[str] = "flag_look"
    reasons: tuple[str, ...] | list[str]


@dataclass(frozen=True, slots=True)
class PurgeUnconsented(_EffectBase):
    """The resident stopped or declined before consenting: nothing they wrote is kept."""

    kind: ClassVar[str] = "purge_unconsented"


@dataclass(frozen=True, slots=True)
class EndConversation(_EffectBase):
    kind: ClassVar[str] = "end_conversation"


Effect = SetLanguage | RecordConsent | CreateCase | RequestHuman | MarkUrgent | FlagLook | PurgeUnconsented | EndConversation
EFFECT_TYPES: tuple[type[_EffectBase], ...] = (
    SetLanguage, RecordConsent, CreateCase, RequestHuman, MarkUrgent, FlagLook, PurgeUnconsented, EndConversation,
)
EFFECT_KINDS = frozenset(t.kind for t in EFFECT_TYPES)
# Effects a flow file may name on an `end` node without data (`effects: [...]`).
FLOW_EFFECTS: dict[str, type[_EffectBase]] = {t.kind: t for t in (PurgeUnconsented, EndConversation)}
