"""The audit trail: every staff read and every change, by whom and when."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from casecore.models import AuditEvent


async def record(
    session: AsyncSession,
    *,
    action: str,
    target_type: str,
    target_id: str | int,
    actor_type: str = "system",
    actor_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit row in the caller's transaction (so it commits or rolls back with it).

    `detail` must hold ids and codes only: it is stored in clear.
    """
    session.add(
        AuditEvent(
            actor_type=actor_type,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            detail=detail or {},
        )
    )
