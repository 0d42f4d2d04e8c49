"""The retention job (issue 12): per profile, erase what its rules say is due and report
what it did. Run hourly by the app, or by `madoguchi retention run`."""

from __future__ import annotations

from datetime import datetime

from casecore import audit, erasure, retention
from casecore.types import utcnow
from dialogs.profile import Profile
from handoff.actions.base import atomic
from handoff.actions.erasure import destroy_after_commit
from handoff.context import HandoffContext


async def run(ctx: HandoffContext, profiles: list[Profile], *, default_unconsented_days: int,
              now: datetime | None = None) -> dict[str, object]:
    now = now or utcnow()
    report: dict[str, object] = {}
    for p in profiles:
        r = p.retention
        async with atomic(ctx) as (s, after):
            counts: dict[str, int] = {}
            rows, seen = erasure.Erased(), set[int]()
            for name, ids in (
                ("withdrawn", await retention.withdrawn_due(s, p.id, now, r.withdrawal_erase_days)),
                ("closed_cases", await retention.closed_cases_due(s, p.id, now, r.closed_case_days)),
                ("unconsented", await retention.unconsented_due(s, p.id, now, r.unconsented_days or default_unconsented_days)),
            ):
                ids = [i for i in ids if i not in seen]
                seen.update(ids)
                done = await erasure.erase_scope(s, await erasure.scope_of(s, ids)) if ids else erasure.Erased()
                counts[f"{name}_residents"] = done.contact_points
                rows.add(done)
            counts["transcript_messages"] = await retention.delete_old_transcripts(s, p.id, now, r.transcript_days)
            counts["keys"] = len(rows.key_ids)
            await audit.record(s, action="retention_run", target_type="profile", target_id=p.id,
                               detail={**counts, "rows": rows.rows})
            destroy_after_commit(after, rows, s)
        report[p.id] = counts
    async with atomic(ctx) as (s, _):
        # audit rows carry no profile: the longest period any profile asks for decides
        report["audit_rows"] = await retention.delete_old_audit(s, now, max(p.retention.audit_days for p in profiles))
    return report
