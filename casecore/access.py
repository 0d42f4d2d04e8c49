"""Who may see what: a counsellor sees only the municipalities they are assigned to."""

from __future__ import annotations

from typing import Any

from casecore.models import Counsellor


def can_see(counsellor: Counsellor, profile_id: str) -> bool:
    return not counsellor.profiles or profile_id in counsellor.profiles


def scope(query: Any, counsellor: Counsellor, profile_column: Any) -> Any:
    """Restrict a SELECT to the counsellor's profiles."""
    if not counsellor.profiles:
        return query
    return query.where(profile_column.in_(counsellor.profiles))
