"""Exact figures of one Japanese month for one municipality (tools and tests). The document the
municipality receives, with "<5" suppression, is built by madoguchi.reports."""

from __future__ import annotations

from typing import Any

from casecore.db import make_engine, make_sessionmaker, transaction
from casecore.migrate import upgrade_async
from casecore.reporting import figures as F
from casecore.reporting.periods import Month
from madoguchi.settings import Settings


async def monthly_report(settings: Settings, month: str, profile_id: str) -> dict[str, Any]:
    settings.configure_crypto()  # the global key and the per-resident key ring
    await upgrade_async(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    m = Month.parse(month)
    try:
        async with transaction(make_sessionmaker(engine)) as s:
            fig = await F.compute(s, profile_id, m.start, m.end, [str(m)])
    finally:
        await engine.dispose()
    return {
        "month": str(m), "profile": profile_id, **F.as_dict(fig),
        # the names the first report used
        "conversations": fig.consultations, "new_cases": fig.cases,
        "urgent_conversations": fig.urgent, "urgent_conversations_by_kind": dict(fig.urgent_by_kind),
        "look_conversations_by_kind": dict(fig.look_by_kind), "topics": dict(fig.by_category),
        "messages_from_removed_residents": fig.blocked_attempts,
    }
