"""Reading the consent ledger (append-only, casecore.models.ConsentRecord): the latest row of a
kind decides. Callers that act on shared data ask here first, e.g. a referral to another
agency needs `await has_sharing_consent(session, case)`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore.models import Case, ConsentRecord

USE, SHARE = "use", "share_agencies"


async def current(s: AsyncSession, contact_point_id: int) -> dict[str, str]:
    """kind -> the latest decision (granted, declined, discuss, withdrawn) for one resident."""
    rows = (await s.execute(
        select(ConsentRecord.kind, ConsentRecord.decision)
        .where(ConsentRecord.contact_point_id == contact_point_id).order_by(ConsentRecord.id)
    )).all()
    return {kind: decision for kind, decision in rows}


async def granted_kinds(s: AsyncSession, contact_point_id: int) -> tuple[str, ...]:
    return tuple(sorted(k for k, d in (await current(s, contact_point_id)).items() if d == "granted"))


async def has_sharing_consent(s: AsyncSession, case: Case) -> bool:
    """True only while the resident's latest word on sharing with agencies is "granted": a
    withdrawal (in any channel, or recorded by a counsellor) blocks referrals that need it."""
    return (await current(s, case.contact_point_id)).get(SHARE) == "granted"


async def withdrawn_use(s: AsyncSession, before: datetime) -> list[int]:
    """Residents whose latest decision on use is a withdrawal made before `before`: due for
    erasure (the retention job)."""
    latest = (select(ConsentRecord.contact_point_id, func.max(ConsentRecord.id).label("last"))
              .where(ConsentRecord.kind == USE).group_by(ConsentRecord.contact_point_id).subquery())
    rows = await s.execute(
        select(ConsentRecord.contact_point_id).join(latest, ConsentRecord.id == latest.c.last)
        .where(ConsentRecord.decision == "withdrawn", ConsentRecord.at < before)
    )
    return [r[0] for r in rows.all()]
