"""The monthly report to the municipality (002 §6(7), 000 §11): counts by attribute, topics,
referrals and urgency. Aggregates only; no personal data leaves the case core."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from casecore import crypto
from casecore.db import make_engine, make_sessionmaker, transaction
from casecore.migrate import upgrade_async
from casecore.models import AuditEvent, Case, Conversation
from madoguchi.settings import Settings


def _month_bounds(month: str) -> tuple[datetime, datetime]:
    y, m = (int(x) for x in month.split("-"))
    start = datetime(y, m, 1, tzinfo=UTC)
    end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=UTC)
    return start, end


async def monthly_report(settings: Settings, month: str, profile_id: str) -> dict[str, Any]:
    crypto.configure(crypto.FieldCipher.from_secrets(settings.resolved_secret_key()))
    await upgrade_async(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    start, end = _month_bounds(month)
    try:
        async with transaction(make_sessionmaker(engine)) as s:
            # Counts only leave: coded fields (district, categories) are encrypted at rest and
            # decrypted here in memory to be counted; free text and names are never selected.
            rows = (await s.execute(select(
                Case.age_band, Case.district, Case.categories, Case.channel, Case.language, Case.urgent,
                Case.recommended_programmes, Case.status,
            ).where(Case.profile_id == profile_id, Case.created_at >= start, Case.created_at < end))).all()
            conversations = (await s.execute(select(
                Conversation.channel, Conversation.consented_use, Conversation.urgent,
                Conversation.urgency_reasons, Conversation.look_reasons,
            ).where(
                Conversation.profile_id == profile_id, Conversation.created_at >= start, Conversation.created_at < end
            ))).all()
            # Removals and trouble (002 §6(7)): staff blocks and the attempts that followed.
            removal_actions = (await s.scalars(select(AuditEvent.action).where(
                AuditEvent.action.in_(["contact_blocked", "blocked_contact_ignored"]),
                AuditEvent.at >= start, AuditEvent.at < end,
            ))).all()
            # Warnings and removals by a lead (issue 17, handoff/api/moderation.py): the steps
            # before a block. A conversation removed and then blocked is one removal.
            moderation = (await s.execute(select(AuditEvent.action, AuditEvent.target_id, AuditEvent.detail).where(
                AuditEvent.action.in_(["resident_warned", "resident_removed", "contact_blocked"]),
                AuditEvent.at >= start, AuditEvent.at < end,
            ))).all()
    finally:
        await engine.dispose()
    topics: Counter[str] = Counter()
    referrals: Counter[str] = Counter()
    for r in rows:
        topics.update(r.categories or [])
        referrals.update(r.recommended_programmes or [])
    return {
        "month": month, "profile": profile_id,
        "conversations": len(conversations),
        "conversations_by_channel": dict(Counter(c.channel for c in conversations)),
        "declined_or_abandoned": sum(1 for c in conversations if not c.consented_use),
        "new_cases": len(rows),
        "urgent_cases": sum(1 for r in rows if r.urgent),
        # Conversations by kind of danger (a conversation with two kinds counts under both),
        # whether or not a case followed: a crisis often ends before consent.
        "urgent_conversations": sum(1 for c in conversations if c.urgent),
        "urgent_conversations_by_kind": dict(Counter(k for c in conversations for k in set(c.urgency_reasons or []))),
        "look_conversations_by_kind": dict(Counter(k for c in conversations for k in set(c.look_reasons or []))),
        "by_age_band": dict(Counter(r.age_band or "unknown" for r in rows)),
        "by_district": dict(Counter(r.district or "unknown" for r in rows)),
        "by_channel": dict(Counter(r.channel for r in rows)),
        "by_language": dict(Counter(r.language for r in rows)),
        "topics": dict(topics.most_common()),
        "recommended_programmes": dict(referrals.most_common()),
        "by_status": dict(Counter(r.status for r in rows)),
        "warnings": sum(1 for m in moderation if m.action == "resident_warned"),
        "removals": len({
            str(m.target_id) if m.action == "resident_removed" else str((m.detail or {}).get("conversation_id"))
            for m in moderation if m.action in ("resident_removed", "contact_blocked")
        }),
        "blocks": sum(1 for a in removal_actions if a == "contact_blocked"),
        "messages_from_removed_residents": sum(1 for a in removal_actions if a == "blocked_contact_ignored"),
    }


def render_text(data: dict[str, Any]) -> str:
    lines = [f"madoguchi monthly report {data['month']} ({data['profile']})"]
    for key, value in data.items():
        if key in ("month", "profile"):
            continue
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines.extend(f"  {k}: {v}" for k, v in sorted(value.items(), key=lambda kv: -kv[1]))
        else:
            lines.append(f"{key}: {value}")
    return "\n".join(lines)
