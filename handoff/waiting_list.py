"""The live queue: waiting conversations, most urgent first, then longest waiting. Holds codes
only (language, channel, categories, consent decisions), no resident text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import access
from casecore.models import Case, ConsentRecord, Conversation, Counsellor
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


def _item(conv: Conversation, case: Case | None, share: str | None, profiles: ProfileRegistry, now: datetime) -> dict[str, Any]:
    answers = (conv.dialog_state or {}).get("answers") or {}
    reasons = list(case.urgency_reasons) if case else list((conv.dialog_state or {}).get("urgent_reasons") or [])
    reasons += [r for r in (conv.urgency_reasons or []) if r not in reasons]
    look = [r for r in (conv.look_reasons or []) if r not in reasons]
    target = profiles.get(conv.profile_id).waiting_target_minutes * 60 if conv.profile_id in profiles else None
    waited = int((now - conv.waiting_since).total_seconds()) if conv.waiting_since else None
    return {
        "id": conv.id, "status": conv.status, "case_id": conv.case_id, "case_number": case.number if case else None,
        "language": conv.language, "channel": conv.channel, "profile_id": conv.profile_id,
        "urgent": bool(conv.urgent or (case and case.urgent)), "urgency_reasons": reasons,
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
