"""Who may use a programme (seed 000 別紙1's table as profile data) and why a programme is
recommended: the face sheet shows the reasons ("because …") as codes the console renders in
Japanese (the `casework` catalog), so a counsellor sees why, and what still needs checking.

A routing rule says what a resident's answers call for; a programme's `eligible` says who may
use it. A programme is recommended only when a rule asks for it and no known answer rules the
resident out; an unanswered question never rules out, it adds a "confirm" reason instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

Requirement = Literal["single_parent", "children", "no_fixed_address"]
WARD_RESIDENCE = ["lives_here", "staying_here"]  # 区内に居住 / 居住地を失い現在地が区内


class Eligibility(BaseModel):
    """One row of the programme table. `public_assistance`: the 生活困窮者 / 生保受給者 columns
    (any: ○○, non_recipients: ○－, recipients: －○). `residence`: the answers that place the
    resident in the municipality (None: anyone, e.g. Hello Work). `requires`: household facts
    the programme is for (single-parent household, children, no fixed address)."""

    public_assistance: Literal["any", "recipients", "non_recipients"] = "any"
    residence: list[str] | None = Field(default_factory=lambda: list(WARD_RESIDENCE))
    requires: list[Requirement] = Field(default_factory=list)


def _facts(answers: dict[str, Any]) -> dict[str, bool]:
    cats = set(answers.get("categories") or [])
    safety = set(answers.get("safety") or [])
    return {
        "single_parent": "single_parent" in cats,
        "children": answers.get("household") == "with_children" or bool(cats & {"children", "single_parent"}),
        "no_fixed_address": answers.get("residence") == "staying_here" or "homeless" in cats or "no_shelter" in safety,
    }


def check(rule: Eligibility, answers: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(why not, what to confirm): reason codes. An empty first list means eligible."""
    out: list[str] = []
    confirm: list[str] = []
    pa = answers.get("public_assistance")
    if rule.public_assistance != "any":
        if pa is None:
            confirm.append(f"confirm.public_assistance.{rule.public_assistance}")
        elif (pa == "yes") != (rule.public_assistance == "recipients"):
            out.append(f"excluded.{rule.public_assistance}_only")
    if rule.residence is not None:
        res = answers.get("residence")
        if res is None:
            confirm.append("confirm.residence")
        elif res not in rule.residence:
            out.append("excluded.residence")
    facts = _facts(answers)
    out += [f"excluded.requires.{req}" for req in rule.requires if not facts[req]]
    return out, confirm


def rule_reasons(when: dict[str, Any], answers: dict[str, Any]) -> list[str]:
    """What in the answers made a routing rule fire, as reason codes with their values."""
    if not when:
        return ["because.first_contact"]
    out: list[str] = []
    for key, want in when.items():
        if key == "categories_any":
            hit = [c for c in answers.get("categories") or [] if c in want]
            out += [f"because.category.{c}" for c in hit]
        elif key == "safety_any":
            out += [f"because.safety.{c}" for c in answers.get("safety") or [] if c in want]
        elif key == "residence_in":
            out.append(f"because.residence.{answers.get('residence')}")
        else:
            out.append(f"because.{key}.{answers.get(key)}")
    return out


@dataclass
class Recommendation:
    programme: str
    because: list[str] = field(default_factory=list)
    confirm: list[str] = field(default_factory=list)


@dataclass
class Routing:
    """The recommendation with its reasons, and what was ruled out (and why)."""

    recommended: list[Recommendation] = field(default_factory=list)
    excluded: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ids(self) -> list[str]:
        return [r.programme for r in self.recommended]

    def as_dict(self) -> dict[str, Any]:
        return {"recommended": [vars(r) for r in self.recommended], "excluded": dict(self.excluded)}
