"""Before consent to use nothing the resident wrote is kept: purges (the crisis-record rule
lives in casecore.store.purge_unconsented)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from casecore import store
from casecore.models import Conversation
from handoff.actions.base import atomic
from handoff.context import HandoffContext


async def unconsented_in(s: AsyncSession, conv: Conversation) -> bool:
    """In the inbound step's transaction; True when something was purged."""
    return await store.purge_unconsented(s, conv)


async def stale(ctx: HandoffContext, older_than: timedelta) -> int:
    """Abandoned intakes that never reached consent, emptied and closed after the configured days."""
    async with atomic(ctx) as (s, _):
        return await store.purge_stale_unconsented(s, older_than)
