"""Erasing a resident on request or when their data is due (issue 12): every row goes in one
transaction, then their data keys are destroyed (crypto-shredding: backups taken before can
no longer be read for them). Audited with who asked and why (codes only, no personal value)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from casecore import audit, erasure
from casecore.models import Case, Counsellor
from handoff.actions.base import ActionError, OnCommit, atomic
from handoff.context import HandoffContext

REQUESTERS = ("resident", "representative", "municipality", "centre")
REASONS = ("erasure_request", "consent_withdrawn", "retention", "end_of_contract", "other")


async def destroy_keys_now(key_ids: set[str], engine: AsyncEngine | None) -> None:
    erasure.destroy_keys(key_ids)
    if engine is not None and engine.dialect.name == "sqlite":
        # SQLite's write-ahead log still holds the pages as they were before the delete
        async with engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def destroy_after_commit(after: OnCommit, result: erasure.Erased, s: AsyncSession) -> None:
    """Once the rows are gone for good: their keys go too (crypto-shredding)."""
    bind = s.bind
    engine = bind if isinstance(bind, AsyncEngine) else None
    after.call(destroy_keys_now, set(result.key_ids), engine)


async def erase_case_resident(ctx: HandoffContext, case_id: int, actor: Counsellor, *, requested_by: str,
                              reason: str) -> dict[str, object]:
    """Everything of the resident behind this case (all their cases and conversations)."""
    if requested_by not in REQUESTERS or reason not in REASONS:
        raise ActionError(422, f"requested_by: one of {', '.join(REQUESTERS)}; reason: one of {', '.join(REASONS)}")
    async with atomic(ctx) as (s, after):
        case = await s.get(Case, case_id)
        if case is None:
            raise ActionError(404, "no such case", plain=True)
        if case.legal_hold:
            raise ActionError(409, "the case is under legal hold; a lead must lift it first")
        number, cp_id = case.number, case.contact_point_id
        result = await erasure.erase_scope(s, await erasure.scope_of(s, [cp_id]))
        await audit.record(s, action="resident_erased", target_type="case", target_id=case_id, actor_type="counsellor",
                           actor_id=actor.id, detail={"number": number, "requested_by": requested_by, "reason": reason,
                                                      "rows": result.rows, "keys": len(result.key_ids)})
        destroy_after_commit(after, result, s)
    return {"number": number, "rows": result.rows, "keys_destroyed": len(result.key_ids)}


async def set_legal_hold(ctx: HandoffContext, case_id: int, actor: Counsellor, hold: bool) -> None:
    async with atomic(ctx) as (s, _):
        case = await s.get(Case, case_id)
        if case is None:
            raise ActionError(404, "no such case", plain=True)
        case.legal_hold = hold
        await audit.record(s, action="legal_hold_set" if hold else "legal_hold_lifted", target_type="case",
                           target_id=case_id, actor_type="counsellor", actor_id=actor.id)
