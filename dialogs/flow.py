"""Loading a flow file into typed nodes and a `transitions` machine for its edges."""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, model_validator
from transitions import Machine

FLOW_DIR = Path(__file__).parent / "flows"


class Edge(BaseModel):
    next: str
    say: list[str] = Field(default_factory=list)
    quiet: bool = False  # re-ask without repeating the messages said on entering
    return_after: str | None = None


class Node(BaseModel):
    name: str = ""
    # What the node means, for code that must find it whatever it is called (the engine, the
    # email form, the console): language, consent_use, safety, problem, contact, summary, …
    role: str | None = None
    type: Literal["choice", "multi", "text", "end"]
    prompt: str | None = None
    say: list[str] = Field(default_factory=list)
    choices: list[str] | str = Field(default_factory=list)
    store: str | None = None
    optional: bool = False
    next: str | None = None
    branches: dict[str, Edge] = Field(default_factory=dict)
    consent: str | None = None
    validate_as: str | None = Field(default=None, alias="validate")
    skip_when_known: str | None = None
    none: str | None = None  # multi: the "none of these" choice
    min: int = 0
    max_chars: int | None = None
    summary: bool = False
    effects: list[str] = Field(default_factory=list)
    # a sensitive step (name, contact, the problem in detail): a LINE or Telegram resident is
    # offered the operator's own page for it (issue 16, handoff.actions.secure)
    secure: bool = False

    def edge_for(self, outcome: str) -> Edge | None:
        if outcome in self.branches:
            return self.branches[outcome]
        return Edge(next=self.next) if self.next else None


class Flow(BaseModel):
    id: str
    version: str
    start: str
    nodes: dict[str, Node]

    @model_validator(mode="before")
    @classmethod
    def _name_nodes(cls, data: Any) -> Any:
        for name, node in (data.get("nodes") or {}).items():
            node["name"] = name
        return data

    @model_validator(mode="after")
    def _check_edges(self) -> Flow:
        for node in self.nodes.values():
            targets = [e.next for e in node.branches.values()] + ([node.next] if node.next else [])
            targets += [e.return_after for e in node.branches.values() if e.return_after]
            for t in targets:
                if t not in self.nodes:
                    raise ValueError(f"node {node.name!r} leads to unknown node {t!r}")
            if node.type != "end" and not targets:
                raise ValueError(f"node {node.name!r} has no way out")
        if self.start not in self.nodes:
            raise ValueError(f"start node {self.start!r} unknown")
        roles = [n.role for n in self.nodes.values() if n.role]
        if len(roles) != len(set(roles)):
            raise ValueError(f"a role is given to two nodes: {sorted(r for r in roles if roles.count(r) > 1)}")
        return self

    @property
    def machine(self) -> Machine:
        return _machine_for(self.id, self.version)

    @property
    def roles(self) -> dict[str, str]:
        """role → node name (the flow's meaning as data)."""
        return {n.role: n.name for n in self.nodes.values() if n.role}

    def node_for(self, role: str) -> Node | None:
        """The node playing `role`, or None when this flow has none."""
        name = self.roles.get(role)
        return self.nodes[name] if name else None

    def name_for(self, role: str) -> str:
        """The node name playing `role`; a flow the engine runs must have it."""
        name = self.roles.get(role)
        if name is None:
            raise KeyError(f"flow {self.id!r} has no node with role {role!r}")
        return name

    def role_of(self, name: str | None) -> str | None:
        node = self.nodes.get(name or "")
        return node.role if node else None


class _Cursor:
    """The model `transitions` moves along the flow for one step."""

    state: str


def build_machine(flow: Flow) -> Machine:
    """Edges as triggers: the answer's outcome (a choice id, `answered` or `skip`) is the trigger;
    commands that jump (back, language, resume) use the auto `to_<node>` triggers."""
    transitions: list[dict[str, str]] = []
    for node in flow.nodes.values():
        for outcome, edge in node.branches.items():
            transitions.append({"trigger": _trigger(outcome), "source": node.name, "dest": edge.next})
        if node.next:
            for outcome in ("answered", "skip"):
                transitions.append({"trigger": outcome, "source": node.name, "dest": node.next})
    return Machine(
        model=None, states=list(flow.nodes), transitions=transitions, initial=flow.start,
        auto_transitions=True, ignore_invalid_triggers=False,
    )


def _trigger(outcome: str) -> str:
    return "on_" + outcome.replace(".", "__")


def advance(flow: Flow, current: str, outcome: str) -> str:
    """Follow the flow's edge for `outcome` from `current` and return the new node."""
    cursor = _cursor_for(flow)
    flow.machine.set_state(current, model=cursor)
    node = flow.nodes[current]
    cursor.trigger(_trigger(outcome) if outcome in node.branches else outcome)
    return cursor.state


def jump(flow: Flow, current: str, target: str) -> str:
    """A command's jump (back, language, resume) through the machine's `to_<node>` trigger."""
    cursor = _cursor_for(flow)
    flow.machine.set_state(current, model=cursor)
    cursor.trigger(f"to_{target}")
    return cursor.state


# Attaching a model to a machine costs ~0.3 ms, so each thread keeps one cursor per flow and
# only moves its state. Steps are synchronous, so a cursor is never shared mid-step.
_local = threading.local()


def _cursor_for(flow: Flow) -> _Cursor:
    cursors: dict[tuple[str, str], _Cursor] = _local.__dict__.setdefault("cursors", {})
    key = (flow.id, flow.version)
    cursor = cursors.get(key)
    if cursor is None:
        cursor = _Cursor()
        flow.machine.add_model(cursor, initial=flow.start)
        cursors[key] = cursor
    return cursor


_FLOWS: dict[tuple[str, str], Flow] = {}


@cache
def _machine_for(flow_id: str, version: str) -> Machine:
    return build_machine(_FLOWS[(flow_id, version)])


@cache
def load_flow(name: str, directory: Path = FLOW_DIR) -> Flow:
    """A flow by name (`flows/<name>.yaml`), or a municipality's own flow file by its path
    (a profile's `flow: /etc/madoguchi/flows/our-intake.yaml`)."""
    path = Path(name) if name.endswith((".yaml", ".yml")) else directory / f"{name}.yaml"
    with path.open(encoding="utf-8") as fh:
        flow = Flow.model_validate(yaml.safe_load(fh))
    _FLOWS[(flow.id, flow.version)] = flow
    return flow
