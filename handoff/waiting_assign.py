"""Automatic assignment (issue 14, optional: `MADOGUCHI_CONSOLE_AUTO_ASSIGN`): a waiting
resident goes to an available counsellor who takes their language (no languages set: any)
and, once teams exist, is in the team of the resident's municipality; the one holding the
fewest conversations first. The claim is the ordinary atomic claim, so a counsellor who
claimed by hand meanwhile simply wins; transfer and release stay the manual override."""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import func, select

from casecore import access
from casecore.db import transaction
from casecore.desk import DeskPresence
from casecore.models import Conversation, Counsellor
from handoff.actions import conversation as conversation_actions
from handoff.actions.base import ActionError
from handoff.context import HandoffContext

log = structlog.get_logger(__name__)
MAX_HELD = 5  # an available counsellor is not given more than this many at once


def _fits(c: Counsellor, languages: list[str], item: dict[str, Any]) -> bool:
    if not access.can_see(c, item["profile_id"]):
        return False
    if languages and item["language"] not in languages and not (item["language"] == "ja-easy" and "ja" in languages):
        return False
    team = getattr(c, "team", None)  # teams come with need-to-know access; without, any team
    wanted = item.get("team")
    return not (team and wanted and team != wanted)


async def candidates(ctx: HandoffContext) -> list[tuple[Counsellor, list[str], int]]:
    """Available, active counsellors with their languages and how many they hold, fewest first."""
    async with transaction(ctx.sessions) as s:
        rows = (await s.execute(
            select(Counsellor, DeskPresence.languages)
            .join(DeskPresence, DeskPresence.counsellor_id == Counsellor.id)
            .where(DeskPresence.status == "available", Counsellor.active.is_(True))
        )).all()
        held = dict((await s.execute(
            select(Conversation.owner_counsellor_id, func.count(Conversation.id))
            .where(Conversation.status == "counsellor").group_by(Conversation.owner_counsellor_id)
        )).all())
    out = [(c, list(langs or []), int(held.get(c.id, 0))) for c, langs in rows]
    return sorted(out, key=lambda t: (t[2], t[0].id))


async def assign_pass(ctx: HandoffContext, items: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """Assign what is waiting (most urgent first); returns (conversation id, counsellor id)."""
    pool = await candidates(ctx)
    done: list[tuple[int, int]] = []
    for item in items:
        pool.sort(key=lambda t: (t[2], t[0].id))
        pick = next((t for t in pool if t[2] < MAX_HELD and _fits(t[0], t[1], item)), None)
        if pick is None:
            continue
        try:
            await conversation_actions.claim(ctx, item["id"], pick[0])
        except ActionError:
            continue  # claimed by hand meanwhile
        pool[pool.index(pick)] = (pick[0], pick[1], pick[2] + 1)
        done.append((item["id"], pick[0].id))
    if done:
        log.info("auto_assigned", count=len(done))
    return done
