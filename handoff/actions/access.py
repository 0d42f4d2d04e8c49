"""Need-to-know changes (issue 11): a lead assigns a case, a counsellor breaks the glass."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from casecore import access, audit
from casecore.models import BreakGlass, Case, Conversation, Counsellor
from casecore.types import utcnow
from handoff.actions.base import ActionError, atomic
from handoff.context import HandoffContext
from handoff.hub import QUEUE_TOPIC


async def assign(ctx: HandoffContext, case_id: int, lead: Counsellor, to_login: str | None,
                 team: str | None) -> Case:
    """A lead assigns (or reassigns, or clears) the case's counsellor and team. The team
    defaults to the assignee's."""
    async with atomic(ctx) as (s, after):
        case = await s.get(Case, case_id)
        if case is None or not access.can_see(lead, case.profile_id):
            raise ActionError(404, "no such case", plain=True)
        target = None
        if to_login:
            target = await s.scalar(select(Counsellor).where(Counsellor.login == to_login))
            if target is None or not target.active or target.role == "admin":
                raise ActionError(422, f"no active counsellor with login {to_login!r}")
            if not access.can_see(target, case.profile_id):
                raise ActionError(422, f"{to_login!r} is not assigned to this municipality")
        before = {"assigned": case.assigned_counsellor_id, "team": case.team}
        case.assigned_counsellor_id = target.id if target else None
        case.team = team if team is not None else (target.team if target else case.team)
        await audit.record(s, action="case_assigned", target_type="case", target_id=case.id, actor_type="counsellor",
                           actor_id=lead.id, detail={"from": before, "to": {"assigned": case.assigned_counsellor_id,
                                                                             "team": case.team}})
        after.publish(QUEUE_TOPIC, {"type": "case_assigned", "case_id": case.id})
        return case


async def break_glass(ctx: HandoffContext, me: Counsellor, reason: str, *, case_id: int | None = None,
                      conversation_id: int | None = None) -> BreakGlass:
    """Open a case (or a conversation without one) outside need-to-know for a while, with a
    reason. Counsellors and leads of its municipality only: an admin reads no case content."""
    async with atomic(ctx) as (s, _):
        target: Case | Conversation | None = (
            await s.get(Case, case_id) if case_id is not None else await s.get(Conversation, conversation_id))
        if target is None or me.role == "admin" or not access.can_see(me, target.profile_id):
            raise ActionError(404, "no such case" if case_id is not None else "no such conversation", plain=True)
        if isinstance(target, Conversation) and target.case_id is not None:
            case_id = target.case_id
        now = utcnow()
        glass = BreakGlass(counsellor_id=me.id, case_id=case_id, conversation_id=conversation_id,
                           profile_id=target.profile_id, reason=reason, at=now,
                           until=now + timedelta(minutes=ctx.settings.break_glass_minutes))
        s.add(glass)
        await s.flush()
        await audit.record(s, action="break_glass", target_type="case" if case_id is not None else "conversation",
                           target_id=case_id if case_id is not None else conversation_id,  # type: ignore[arg-type]
                           actor_type="counsellor", actor_id=me.id,
                           detail={"break_glass_id": glass.id, "profile_id": target.profile_id})
        return glass
