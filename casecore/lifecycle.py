"""Every status as a `transitions` state machine: the case lifecycle and the conversation's
owner status. Actions (handoff/actions) ask these machines what a trigger leads to; an
invalid trigger raises InvalidTransition (the API answers 409).

Case:
new ─assess→ assessing ─support→ supporting ─close→ closed
   └refer→ referred (to the welfare office, Hello Work, ...) ─close→ closed
Any open state can be withdrawn by the resident; a closed case can be reopened.

Conversation (who answers the resident):
bot ─request_human→ waiting ─claim→ counsellor ─release→ bot (intake unfinished) / ─requeue→ waiting
closed ─reopen→ counsellor (a counsellor takes it up again);
counsellor ─transfer→ counsellor (another holder); bot / waiting / counsellor ─close→ closed;
block (a removed resident) closes from any status, closed included. A closed conversation
stays closed: the resident's next message opens a new one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from transitions import Machine, MachineError


class InvalidTransition(ValueError):
    pass


class _Model:
    state: str


class Lifecycle:
    """One status machine: `next(current, trigger)`, `allowed(current)`, `sources(trigger)`."""

    def __init__(self, noun: str, states: Sequence[str], transitions: list[dict[str, Any]], initial: str) -> None:
        self.noun = noun
        self.states = list(states)
        self.transitions = transitions
        self.triggers = sorted({t["trigger"] for t in transitions})
        self._machine = Machine(model=None, states=self.states, transitions=transitions, initial=initial,
                                auto_transitions=False)

    def next(self, current: str, trigger: str) -> str:
        """The status after `trigger`, or InvalidTransition with a message a counsellor can read."""
        if trigger not in self.triggers:
            raise InvalidTransition(f"unknown action {trigger!r}; one of {', '.join(self.triggers)}")
        if current not in self.states:
            raise InvalidTransition(f"unknown {self.noun} status {current!r}")
        model = _Model()
        self._machine.add_model(model, initial=current)
        try:
            getattr(model, trigger)()
            return model.state
        except MachineError as exc:
            raise InvalidTransition(f"cannot {trigger} a {self.noun} that is {current}") from exc
        finally:
            self._machine.remove_model(model)

    def allowed(self, current: str) -> list[str]:
        return [t for t in self.triggers if self.can(current, t)]

    def can(self, current: str, trigger: str) -> bool:
        try:
            self.next(current, trigger)
            return True
        except InvalidTransition:
            return False

    def sources(self, trigger: str) -> list[str]:
        """The statuses `trigger` may leave: the WHERE clause of an atomic conditional UPDATE."""
        return [s for s in self.states if self.can(s, trigger)]


STATES = ["new", "assessing", "supporting", "referred", "closed", "withdrawn"]
OPEN_STATES = ["new", "assessing", "supporting", "referred"]
TRANSITIONS = [
    {"trigger": "assess", "source": "new", "dest": "assessing"},
    {"trigger": "support", "source": ["new", "assessing", "referred"], "dest": "supporting"},
    {"trigger": "refer", "source": ["new", "assessing", "supporting"], "dest": "referred"},
    {"trigger": "close", "source": OPEN_STATES, "dest": "closed"},
    {"trigger": "withdraw", "source": OPEN_STATES, "dest": "withdrawn"},
    {"trigger": "reopen", "source": ["closed", "withdrawn"], "dest": "assessing"},
]
CASE = Lifecycle("case", STATES, TRANSITIONS, "new")
TRIGGERS = CASE.triggers

CONVERSATION_STATES = ["bot", "waiting", "counsellor", "closed"]
CONVERSATION_TRANSITIONS = [
    {"trigger": "request_human", "source": "bot", "dest": "waiting"},
    {"trigger": "claim", "source": "waiting", "dest": "counsellor"},
    {"trigger": "transfer", "source": "counsellor", "dest": "counsellor"},
    {"trigger": "release", "source": "counsellor", "dest": "bot"},
    # issue 14: released back to the queue (the intake is done, so the bot has nothing to ask)
    {"trigger": "requeue", "source": "counsellor", "dest": "waiting"},
    # a counsellor takes a closed conversation up again (not a blocked resident's: checked by the action)
    {"trigger": "reopen", "source": "closed", "dest": "counsellor"},
    {"trigger": "close", "source": ["bot", "waiting", "counsellor"], "dest": "closed"},
    {"trigger": "block", "source": CONVERSATION_STATES, "dest": "closed"},
]
CONVERSATION = Lifecycle("conversation", CONVERSATION_STATES, CONVERSATION_TRANSITIONS, "bot")


def next_status(current: str, trigger: str) -> str:
    """The case status after `trigger` (kept for callers of the case lifecycle)."""
    return CASE.next(current, trigger)


def allowed_triggers(current: str) -> list[str]:
    return CASE.allowed(current)
