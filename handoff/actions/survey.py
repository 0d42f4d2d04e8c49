"""The post-session survey's answers (anonymous: no conversation id in the row; the audit row
marks the session as answered)."""

from __future__ import annotations

from casecore import audit
from casecore.models import Conversation
from casecore.reporting.models import SurveyAnswer
from casecore.reporting.periods import Month
from casecore.types import utcnow
from handoff.actions.base import atomic
from handoff.context import HandoffContext


async def record_answer(ctx: HandoffContext, conv: Conversation, *, helped: object, easy: object, again: object,
                        comment: str | None, audit_action: str) -> None:
    async with atomic(ctx) as (s, _):
        s.add(SurveyAnswer(profile_id=conv.profile_id, month=str(Month.of(utcnow())), channel=conv.channel,
                           language=conv.language, helped=helped, easy=easy, again=again,
                           comment=comment, has_comment=comment is not None))
        await audit.record(s, action=audit_action, target_type="conversation", target_id=conv.id, actor_type="resident")
