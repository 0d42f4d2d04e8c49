"""The case lifecycle as a `transitions` state machine.

new ─assess→ assessing ─support→ supporting ─close→ closed
   └refer→ referred (to the welfare office, Hello Work, ...) ─close→ closed
Any open state can be withdrawn by the resident; a closed case can be reopened.
"""

from __future__ import annotations

from transitions import Machine, MachineError

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
TRIGGERS = sorted({t["trigger"] for t in TRANSITIONS})


class InvalidTransition(ValueError):
    pass


class _Model:
    state: str


_machine = Machine(model=None, states=STATES, transitions=TRANSITIONS, initial="new", auto_transitions=False)


def next_status(current: str, trigger: str) -> str:
    """The status after `trigger`, or InvalidTransition with a message a counsellor can read."""
    if trigger not in TRIGGERS:
        raise InvalidTransition(f"unknown action {trigger!r}; one of {', '.join(TRIGGERS)}")
    model = _Model()
    _machine.add_model(model, initial=current)
    try:
        getattr(model, trigger)()
        return model.state
    except MachineError as exc:
        raise InvalidTransition(f"cannot {trigger} a case that is {current}") from exc
    finally:
        _machine.remove_model(model)


def allowed_triggers(current: str) -> list[str]:
    return [t for t in TRIGGERS if _can(current, t)]


def _can(current: str, trigger: str) -> bool:
    try:
        next_status(current, trigger)
        return True
    except InvalidTransition:
        return False
