"""End of contract (issue 12; 000 別紙11 第7条, 001 特記14): destroy every row and every data
key of one profile and say what went, for the destruction certificate."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import audit, erasure, keys
from casecore.models import Base, ContactPoint
from handoff.actions.base import atomic
from handoff.actions.erasure import destroy_keys_now
from handoff.context import HandoffContext


async def count_profile_rows(s: AsyncSession, profile_id: str) -> dict[str, int]:
    """Rows that belong to the profile, per table: its own rows and its residents' rows."""
    scope = await erasure.scope_of(s, await erasure.profile_contact_points(s, profile_id))
    out: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        refs = [(col, parent) for col, parent, ondelete in erasure._references(table)
                if scope.ids[parent] and (ondelete or "").upper() != "SET NULL"]
        conds = [col.in_(scope.ids[parent]) for col, parent in refs]
        if table.name in erasure.PARENTS:
            conds = [table.c.id.in_(scope.ids[table.name])] if scope.ids[table.name] else []
        elif "profile_id" in table.c:
            conds.append(table.c.profile_id == profile_id)
        if conds:
            n = await s.scalar(select(func.count()).select_from(table).where(or_(*conds)))
            if n:
                out[table.name] = n
    return out


async def destroy_profile(ctx: HandoffContext, profile_id: str, *, performed_by: str) -> dict[str, object]:
    async with atomic(ctx) as (s, _):
        scope = await erasure.scope_of(s, await erasure.profile_contact_points(s, profile_id))
        audit_rows = await erasure.erase_audit_of(s, scope)
        result = await erasure.erase_scope(s, scope)
        result.rows = {**result.rows}
        for table, n in (await erasure.erase_profile_rows(s, profile_id)).items():
            result.rows[table] = result.rows.get(table, 0) + n
        await audit.record(s, action="profile_destroyed", target_type="profile", target_id=profile_id,
                           detail={"rows": result.rows, "audit_rows": audit_rows, "residents": result.contact_points,
                                   "performed_by_given": bool(performed_by)})
    # after the commit: the keys its rows named, and any other key made for the profile that no
    # remaining resident uses (e.g. one a race left unused)
    async with atomic(ctx) as (s, _):
        in_use = set((await s.scalars(select(ContactPoint.data_key_id).where(ContactPoint.data_key_id.is_not(None)))).all())
    ring = keys.ring()
    spare = set(ring.kids(profile_id)) - in_use if ring is not None else set()
    destroyed = erasure.destroy_keys(set(result.key_ids))
    # spares made ahead for new residents (casecore.keys.SPARE_BATCH) sealed nothing: counted apart
    unused = erasure.destroy_keys(spare - set(result.key_ids))
    await destroy_keys_now(set(), ctx.engine)  # SQLite: empty the WAL
    return {"rows": result.rows, "audit_rows": audit_rows, "residents": result.contact_points, "keys": destroyed,
            "unused_keys": unused}
