"""The retention job (issue 12): what a profile's rules say is due is erased, with its keys;
open, urgent and legally held cases and crisis records stay. Run "years later" by passing a
later `now` instead of back-dating rows."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from casecore import keys, store
from casecore.db import transaction
from casecore.models import AuditEvent, Case, ConsentRecord, ContactPoint, Conversation, Message
from casecore.types import utcnow
from handoff.actions import retention


async def _resident(ctx, who: str, *, status: str | None, urgent: bool = False, hold: bool = False,
                    conv_urgent: bool = False, withdrawn: bool = False, profile: str = "minato-tokyo") -> int:
    """A contact point with one closed conversation and (if `status`) a case in that status."""
    async with transaction(ctx.sessions) as s:
        cp = await store.contact_point(s, profile, "line", f"U{who}")
        conv = await store.new_conversation(s, cp, "ja")
        conv.status, conv.urgent, conv.consented_use = "closed", conv_urgent, status is not None
        s.add(Message(conversation_id=conv.id, direction="in", sender="resident", channel="line",
                      text=f"{who}です。家賃が払えません 😢 <script>x</script>"))
        if status is not None:
            case = Case(number=f"2026-{abs(hash(who)) % 999999:06d}", profile_id=profile,
                        contact_point_id=cp.id, status=status, urgent=urgent, legal_hold=hold, channel="line",
                        name=who, problem_text=f"{who}の相談", urgency_reasons=["no_shelter"] if urgent else [])
            s.add(case)
            await s.flush()
            conv.case_id = case.id
            s.add(ConsentRecord(contact_point_id=cp.id, conversation_id=conv.id, case_id=case.id, kind="use",
                                decision="granted", wording_version="2026.1", wording_hash="0" * 64,
                                language="ja", channel="line"))
            if withdrawn:
                s.add(ConsentRecord(contact_point_id=cp.id, conversation_id=conv.id, case_id=case.id, kind="use",
                                    decision="withdrawn", wording_version="2026.1", wording_hash="1" * 64,
                                    language="ja", channel="line"))
        await s.flush()
        return cp.id


async def test_retention_erases_what_is_due_and_keeps_open_urgent_held_and_crisis(running) -> None:
    ctx = running.ctx
    ids = {
        "closed": await _resident(ctx, "佐藤一郎", status="closed"),
        "withdrawn_today": await _resident(ctx, "Nguyễn Văn An", status="withdrawn", withdrawn=True),
        "open": await _resident(ctx, "鈴木花子", status="supporting"),
        "urgent": await _resident(ctx, "高橋次郎", status="closed", urgent=True),
        "held": await _resident(ctx, "Maria Santos", status="closed", hold=True),
        "unconsented": await _resident(ctx, "匿名さん", status=None),
        "crisis": await _resident(ctx, "김민준", status=None, conv_urgent=True),
    }
    async with transaction(ctx.sessions) as s:
        kids = {k: (await s.get(ContactPoint, v)).data_key_id for k, v in ids.items()}
    # today: only the withdrawal is due (erased at the next run), nothing else is old enough
    today = await retention.run(ctx, [ctx.profiles.get("minato-tokyo")], default_unconsented_days=30)
    assert today["minato-tokyo"]["withdrawn_residents"] == 1
    assert today["minato-tokyo"]["closed_cases_residents"] == 0 and today["minato-tokyo"]["unconsented_residents"] == 0
    # six years on
    later = await retention.run(ctx, [ctx.profiles.get("minato-tokyo")], default_unconsented_days=30,
                                now=utcnow() + timedelta(days=6 * 365))
    got = later["minato-tokyo"]
    assert got["closed_cases_residents"] == 1 and got["unconsented_residents"] == 1 and got["withdrawn_residents"] == 0
    async with transaction(ctx.sessions) as s:
        left = set((await s.scalars(select(ContactPoint.id))).all())
        assert left == {ids["open"], ids["urgent"], ids["held"], ids["crisis"]}
        # transcripts of closed, non-urgent conversations go; the held case's stays (legal hold)
        held_conv = await s.scalar(select(Conversation.id).where(Conversation.contact_point_id == ids["held"]))
        assert await s.scalar(select(func.count()).select_from(Message).where(Message.conversation_id == held_conv)) == 1
        assert (await s.scalar(select(Case).where(Case.contact_point_id == ids["open"]))).name == "鈴木花子"
        # audit rows older than five years went too: "six years on" every row of today is due
        assert later["audit_rows"] >= 2 and not (await s.scalars(select(AuditEvent))).all()
    ring_kids = set(keys.ring().kids())
    for gone in ("closed", "withdrawn_today", "unconsented"):
        assert kids[gone] not in ring_kids, gone
    for kept in ("open", "urgent", "held", "crisis"):
        assert kids[kept] in ring_kids, kept


def test_doctor_warns_when_the_key_store_sits_beside_a_production_sqlite_file(tmp_path) -> None:
    from madoguchi.doctor import check_keystore
    from tests.conftest import make_settings

    beside = make_settings(tmp_path, cookie_secure=True)
    assert [f.status for f in check_keystore(beside)] == ["warn"]
    apart = make_settings(tmp_path, cookie_secure=True, keystore_path=tmp_path / "keys-volume" / "keys.db")
    assert [f.status for f in check_keystore(apart)] == ["ok"]
