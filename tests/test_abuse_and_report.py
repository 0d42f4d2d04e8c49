"""A resident who breaks the rules is removed and kept out (002 §6(1)⑥), and the monthly
report counts cases by attribute, topics, referrals and removals without personal data."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from casecore.db import transaction
from casecore.models import Conversation
from handoff.events import InboundEvent
from madoguchi.report import monthly_report
from tests.helpers import login, make_counsellor, run_intake


async def test_lead_blocks_a_resident_who_is_then_ignored_and_counted(running_sqlite) -> None:
    ctx, client = running_sqlite.ctx, running_sqlite.client
    await ctx.router.process(InboundEvent(channel="line", channel_event_id="e1", external_user_id="Uabuse",
                                          profile_id="minato-tokyo", text="相談員と話したい"))
    async with transaction(ctx.sessions) as s:
        conv_id = (await s.scalars(select(Conversation.id))).one()
    await make_counsellor(ctx, "worker", "counsellor")
    await login(client, "worker")
    r = await client.post(f"/api/conversations/{conv_id}/block", json={"reason": "harassment"})
    assert r.status_code == 403
    await make_counsellor(ctx, "lead", "lead")
    await login(client, "lead")
    r = await client.post(f"/api/conversations/{conv_id}/block", json={"reason": "not a code"})
    assert r.status_code == 422
    r = await client.post(f"/api/conversations/{conv_id}/block", json={"reason": "harassment"})
    assert r.status_code == 200 and r.json()["blocked"] is True
    result = await ctx.router.process(InboundEvent(channel="line", channel_event_id="e2", external_user_id="Uabuse",
                                                   profile_id="minato-tokyo", text="また来ました"))
    assert result.conversation_id is None and result.messages == []
    month = datetime.now(UTC).strftime("%Y-%m")
    data = await monthly_report(running_sqlite.settings, month, "minato-tokyo")
    assert data["removals"] == 1 and data["messages_from_removed_residents"] == 1


async def test_monthly_report_counts_without_personal_data(running_sqlite) -> None:
    await run_intake(running_sqlite.client)
    month = datetime.now(UTC).strftime("%Y-%m")
    data = await monthly_report(running_sqlite.settings, month, "minato-tokyo")
    assert data["new_cases"] == 1
    assert data["by_age_band"] == {"40s": 1} and data["by_district"] == {"麻布": 1}
    assert data["topics"] == {"debt": 1, "job": 1}
    # programmes count only once a counsellor accepted them (none yet), not the recommendations
    assert data["programmes_used"] == {}
    text = repr(data)
    assert "山田" not in text and "派遣" not in text and "1234-5678" not in text
