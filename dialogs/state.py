"""The dialog's state: plain JSON-able data stored (encrypted) on the conversation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class DialogState:
    flow: str = "intake"
    node: str | None = None  # None: the conversation has not started
    language: str | None = None
    language_source: str | None = None  # explicit, channel, detected
    answers: dict[str, Any] = field(default_factory=dict)
    selection: list[str] = field(default_factory=list)  # a multi-select in progress
    history: list[str] = field(default_factory=list)  # nodes answered, for `back`
    return_to: str | None = None  # after a language change: the node to re-ask
    return_after: str | None = None  # while changing one item: return to the summary after it
    consented_use: bool = False
    urgent_reasons: list[str] = field(default_factory=list)
    look_reasons: list[str] = field(default_factory=list)  # screened "look": a counsellor looks soon
    # After a risk response the resident chooses: a person, or go on. "enter": the current node
    # has not been shown yet (go on shows it); "ask": it was shown (go on asks it again).
    after_risk: str | None = None
    human_requested: bool = False
    finished: bool = False  # the bot's part is over (handed over, or declined)
    paused: bool = False  # stopped after consent, or asked whether to resume
    last_ack_at: float | None = None  # epoch seconds of the last "please wait" answer
    # epoch seconds of the last full emergency answer: the same danger again soon after gets a
    # short acknowledgement with the 24-hour lines, not the whole list once more
    last_emergency_at: float | None = None
    withdrawing: bool = False  # asked which consent to withdraw; the next answer says
    withdrawn: list[str] = field(default_factory=list)  # consents withdrawn in this conversation
    # issue 16: answers given on the operator's own page (never repeated into LINE/Telegram),
    # and that page's state ("offered": a link is out; "open": the page is answering)
    secured: list[str] = field(default_factory=list)
    secure_page: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> DialogState:
        if not data:
            return cls()
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)
