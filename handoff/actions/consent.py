"""The consent ledger: every decision is a new row (kind, decision, wording version and
hash, language, channel, time); a withdrawal is a row too."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from casecore import store
from casecore.models import ConsentRecord, Conversation, Counsellor
from dialogs.types import RecordConsent
from handoff.actions.base import ActionError, atomic
from handoff.context import HandoffContext


async def record_in(s: AsyncSession, conv: Conversation, eff: RecordConsent,
                    counsellor_id: int | None = None) -> ConsentRecord:
    """In the caller's transaction (the inbound step): the row and its audit."""
    if eff.decision == "withdrawn":
        from handoff.actions import withdrawal

        return await withdrawal.record_in(s, conv, kind=eff.consent_kind, wording_version=eff.wording_version,
                                          wording_hash=eff.wording_hash, language=eff.language,
                                          counsellor_id=counsellor_id)
    rec = await store.record_consent(
        s, conv, kind=eff.consent_kind, decision=eff.decision, wording_version=eff.wording_version,
        wording_hash=eff.wording_hash, language=eff.language, counsellor_id=counsellor_id,
    )
    if eff.consent_kind == "use":
        conv.consented_use = eff.decision == "granted"
    return rec


async def record(ctx: HandoffContext, conversation_id: int, actor: Counsellor, eff: RecordConsent) -> int:
    """A consent a counsellor records for the resident (e.g. given on the phone)."""
    async with atomic(ctx) as (s, _):
        conv = await s.get(Conversation, conversation_id)
        if conv is None:
            raise ActionError(404, "no such conversation", plain=True)
        rec = await record_in(s, conv, eff, counsellor_id=actor.id)
        await s.flush()
        return rec.id
