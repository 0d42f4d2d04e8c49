"""The live queue: waiting conversations, most urgent first, then longest waiting. Holds codes
only (language, channel, categories, consent decisions), no resident text.

Issue 14: every conversation is in some list — waiting, held (mine / my team / others),
resting (with the bot, intake not finished) and closed — so nothing released or closed is
lost; an urgent resident has the profile's shorter `urgent_target_minutes`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import access
from casecore.desk import DeskReadMarker
from casecore.models import Case, ConsentRecord, Conversation, Counsellor, Message
from dialogs.flow import load_flow
from dialogs.profile import ProfileRegistry


async def _share_consents(s: AsyncSession, conv_ids: list[int]) -> dict[int, str]:
    if not conv_ids:
        return {}
    rows = (await s.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.conversation_id.in_(conv_ids), ConsentRecord.kind == "share_agencies")
        .order_by(ConsentRecord.id)
    )).all()
    return {r.conversation_id: r.decision for r in rows if r.conversation_id is not None}  # the latest wins


def _stage(conv: Conversation, profiles: ProfileRegistry) -> str | None:
    if not conv.dialog_node:
        return None
    flow_name = (conv.dialog_state or {}).get("flow") or (
        profiles.get(conv.profile_id).flow if conv.profile_id in profiles else None)
    if not flow_name:
        return None
    try:
        return load_flow(flow_name).role_of(conv.dialog_node)
    except (OSError, ValueError):
        return None


FINISHED_STAGES = ("handed_over", "declined")
LIST_LIMIT = 50  # resting and closed lists: the most recent; older ones by search of the case pages


def intake_finished(conv: Conversation, profiles: ProfileRegistry) -> bool:
    """The bot has nothing left to ask: a case exists or the flow reached its end."""
    return conv.case_id is not None or _stage(conv, profiles) in FINISHED_STAGES


def target_minutes(profiles: ProfileRegistry, profile_id: str, urgent: bool) -> int | None:
    if profile_id not in profiles:
        return None
    p = profiles.get(profile_id)
    return min(p.urgent_target_minutes, p.waiting_target_minutes) if urgent else p.waiting_target_minutes


def _item(conv: Conversation, case: Case | None, share: str | None, profiles: ProfileRegistry, now: datetime) -> dict[str, Any]:
    answers = (conv.dialog_state or {}).get("answers") or {}
    reasons = list(case.urgency_reasons) if case else list((conv.dialog_state or {}).get("urgent_reasons") or [])
    reasons += [r for r in (conv.urgency_reasons or []) if r not in reasons]
    look = [r for r in (conv.look_reasons or []) if r not in reasons]
    urgent = bool(conv.urgent or (case and case.urgent))
    minutes = target_minutes(profiles, conv.profile_id, urgent)
    target = minutes * 60 if minutes is not None else None
    waited = int((now - conv.waiting_since).total_seconds()) if conv.waiting_since else None
    return {
        "id": conv.id, "status": conv.status, "case_id": conv.case_id, "case_number": case.number if case else None,
        "language": conv.language, "channel": conv.channel, "profile_id": conv.profile_id,
        "urgent": urgent, "urgency_reasons": reasons,
        "look": bool(look), "look_reasons": look,  # a counsellor looks soon (not urgent)
        "categories": list(case.categories) if case else [str(c) for c in answers.get("categories") or []],
        "share_consent": (case.share_consent if case and case.share_consent else share),
        "state": conv.dialog_node or None,
        # where the intake is, by the node's role in the flow file (a renamed node keeps it)
        "stage": _stage(conv, profiles),
        "waiting_since": conv.waiting_since.isoformat() if conv.waiting_since else None,
        "waited_seconds": waited, "target_seconds": target,
        "over_target": bool(waited is not None and target is not None and waited > target),
        "owner_counsellor_id": conv.owner_counsellor_id,
        "intake_finished": conv.case_id is not None or _stage(conv, profiles) in FINISHED_STAGES,
        "updated_at": conv.updated_at.isoformat() if conv.updated_at else None,
    }


async def waiting(
    s: AsyncSession, profiles: ProfileRegistry, now: datetime, me: Counsellor | None = None
) -> list[dict[str, Any]]:
    """Waiting conversations; with `me`, only those of the municipalities they may see."""
    q = select(Conversation).where(Conversation.status == "waiting")
    if me is not None:
        q = access.scope(q, me, Conversation.profile_id)
    convs = (await s.scalars(
        q.order_by(Conversation.urgent.desc(), Conversation.waiting_since.asc(), Conversation.id.asc())
    )).all()
    return await items(s, list(convs), profiles, now, sort=True)


async def held(
    s: AsyncSession, profiles: ProfileRegistry, now: datetime, me: Counsellor | None = None
) -> list[dict[str, Any]]:
    """Conversations counsellors hold now, with the holder's name (who is talking to whom)."""
    q = select(Conversation).where(Conversation.status == "counsellor")
    if me is not None:
        q = access.scope(q, me, Conversation.profile_id)
    convs = (await s.scalars(q.order_by(Conversation.updated_at.desc()))).all()
    rows = await items(s, list(convs), profiles, now, sort=False)
    owners = {c.id: c for c in (await s.scalars(
        select(Counsellor).where(Counsellor.id.in_({i["owner_counsellor_id"] for i in rows if i["owner_counsellor_id"]}))
    )).all()} if rows else {}
    for i in rows:
        o = owners.get(i["owner_counsellor_id"])
        i["owner"] = {"id": o.id, "login": o.login, "display_name": o.display_name} if o else None
    return rows


async def items(s: AsyncSession, convs: list[Conversation], profiles: ProfileRegistry, now: datetime, *, sort: bool) -> list[dict[str, Any]]:
    """Queue entries for these conversations (sorted by urgency, then waiting time, if asked)."""
    case_ids = [c.case_id for c in convs if c.case_id]
    cases = {c.id: c for c in (await s.scalars(select(Case).where(Case.id.in_(case_ids)))).all()} if case_ids else {}
    shares = await _share_consents(s, [c.id for c in convs])
    rows = [_item(c, cases.get(c.case_id) if c.case_id else None, shares.get(c.id), profiles, now) for c in convs]
    if sort:  # a case can be urgent while its conversation flag is not (and the other way)
        rows.sort(key=lambda i: (not i["urgent"], i["waiting_since"] or "", i["id"]))
    return rows


async def recent(
    s: AsyncSession, profiles: ProfileRegistry, now: datetime, me: Counsellor, status: str,
) -> list[dict[str, Any]]:
    """The latest conversations of one status, newest first: `bot` is "resting" (the bot is
    with the resident: an intake going on, or one a counsellor released to finish), `closed`."""
    q = access.scope(select(Conversation).where(Conversation.status == status), me, Conversation.profile_id)
    convs = (await s.scalars(q.order_by(Conversation.updated_at.desc(), Conversation.id.desc()).limit(LIST_LIMIT))).all()
    return await items(s, list(convs), profiles, now, sort=False)


async def unread(s: AsyncSession, me: Counsellor, conv_ids: list[int]) -> dict[int, int]:
    """Residents' messages this counsellor has not seen yet, per conversation."""
    if not conv_ids:
        return {}
    marker = DeskReadMarker
    rows = (await s.execute(
        select(Message.conversation_id, func.count(Message.id))
        .outerjoin(marker, and_(marker.conversation_id == Message.conversation_id, marker.counsellor_id == me.id))
        .where(Message.conversation_id.in_(conv_ids), Message.direction == "in",
               Message.id > func.coalesce(marker.last_message_id, 0))
        .group_by(Message.conversation_id)
    )).all()
    return {int(cid): int(n) for cid, n in rows}
