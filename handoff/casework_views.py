"""How the case work screens read a case (issue 13): the routing with its reasons in
Japanese, the triage history, referrals, documents and reviews. Pure rendering of loaded
rows; the handlers audit the read."""

from __future__ import annotations

from datetime import date
from typing import Any

from casecore.casework.models import CaseDocument, CaseReview, CaseTriage, Referral
from casecore.models import Case
from dialogs.profile import Profile
from i18n.catalog import catalog


def words(key: str) -> str:
    return catalog("ja", "casework").text(key)


def answers_of(case: Case) -> dict[str, Any]:
    """The intake answers the routing reads, as the case keeps them."""
    return {"categories": list(case.categories or []), "public_assistance": case.public_assistance,
            "residence": case.residence, "household": case.household, "for_whom": case.for_whom,
            "safety": [r for r in case.urgency_reasons or [] if r in ("no_shelter", "no_food", "danger", "medical")]}


def routing_view(profile: Profile, case: Case) -> dict[str, Any]:
    """The recommendation as the eligibility table makes it today, "because …" included."""
    routing = profile.route(answers_of(case))
    return {
        "recommended": [{"id": r.programme, "name": profile.programme_name(r.programme),
                         "because": [words(b) for b in r.because], "confirm": [words(c) for c in r.confirm]}
                        for r in routing.recommended],
        "excluded": [{"id": pid, "name": profile.programme_name(pid), "why_not": [words(w) for w in why]}
                     for pid, why in routing.excluded.items()],
    }


def triage_view(t: CaseTriage) -> dict[str, Any]:
    return {"id": t.id, "outcome": t.outcome, "label": words(f"triage.{t.outcome}"), "reason": t.reason,
            "counsellor_id": t.counsellor_id, "at": t.at.isoformat()}


def referral_view(r: Referral, profile: Profile) -> dict[str, Any]:
    agency = profile.agency(r.agency)
    return {"id": r.id, "agency": r.agency, "agency_name": agency.name if agency else r.agency,
            "shared_items": list(r.shared.get("items") or []),
            "shared_labels": [words(f"share_item.{i}") for i in r.shared.get("items") or []],
            "note": r.shared.get("note"), "made_at": r.made_at.isoformat(), "made_by": r.made_by,
            "acceptance": r.acceptance, "acceptance_label": words(f"acceptance.{r.acceptance}"),
            "accepted_at": r.accepted_at.isoformat() if r.accepted_at else None,
            "outcome": r.outcome, "outcome_at": r.outcome_at.isoformat() if r.outcome_at else None,
            "consent_record_id": r.consent_record_id}


def document_view(d: CaseDocument | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {"id": d.id, "kind": d.kind, "version": d.version, "template_id": d.template_id,
            "template_version": d.template_version, "content": d.content, "counsellor_id": d.counsellor_id,
            "created_at": d.created_at.isoformat(),
            "approved_on": d.approved_on.isoformat() if d.approved_on else None,
            "approved_by": d.approved_by, "approval_note": d.approval_note}


def review_view(r: CaseReview, today: date, number: str | None = None) -> dict[str, Any]:
    state = "done" if r.done_at else "today" if r.due_on == today else "overdue" if r.due_on < today else "upcoming"
    return {"id": r.id, "case_id": r.case_id, "case_number": number, "kind": r.kind,
            "label": f"{words(f'review.{r.kind}')}({r.months}か月)", "months": r.months,
            "due_on": r.due_on.isoformat(), "state": state, "note": r.note,
            "done_at": r.done_at.isoformat() if r.done_at else None, "done_by": r.done_by}
