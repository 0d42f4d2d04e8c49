"""Withdrawing consent (issue 12) in the web chat: typed in Japanese as a new user would, or
with the page's control; the ledger, the case and the reply in the resident's language."""

from __future__ import annotations

from sqlalchemy import select

from casecore import consent as ledger
from casecore.db import transaction
from casecore.models import Case, ConsentRecord
from tests.helpers import run_intake, send


async def _ledger(running, case_id: int) -> list[tuple[str, str, str]]:
    async with transaction(running.ctx.sessions) as s:
        rows = (await s.scalars(select(ConsentRecord).where(ConsentRecord.case_id == case_id)
                                .order_by(ConsentRecord.id))).all()
        return [(r.kind, r.decision, r.channel) for r in rows]


async def test_typed_japanese_withdrawal_closes_the_case_and_records_the_ledger(running) -> None:
    session, reply = await run_intake(running.client)
    case_id = reply["case_id"]
    asked = await send(running.client, session, "text", "同意を取り消したい…消してください")
    last = asked["messages"][-1]
    assert "どちらを取り消しますか" in last["text"]
    assert [c["id"] for c in last["choices"]] == ["withdraw_use", "withdraw_share", "withdraw_cancel"]
    # sharing first: the case goes on, referrals are blocked
    done = await send(running.client, session, "choice", "withdraw_share")
    assert "共有の同意を取り消しました" in done["messages"][-1]["text"]
    async with transaction(running.ctx.sessions) as s:
        case = await s.get(Case, case_id)
        assert not await ledger.has_sharing_consent(s, case)
        assert case.status == "new" and case.share_consent == "withdrawn"
    # then use, typed as the button's number
    asked = await send(running.client, session, "choice", "withdraw")
    assert [c["id"] for c in asked["messages"][-1]["choices"]] == ["withdraw_use", "withdraw_cancel"]
    done = await send(running.client, session, "text", "1")
    assert "消去します" in done["messages"][-1]["text"]
    rows = await _ledger(running, case_id)
    assert rows[-2:] == [("share_agencies", "withdrawn", "webchat"), ("use", "withdrawn", "webchat")]
    assert ("use", "granted", "webchat") in rows
    async with transaction(running.ctx.sessions) as s:
        case = await s.get(Case, case_id)
        assert case.status == "withdrawn"
        assert (await ledger.current(s, case.contact_point_id))["use"] == "withdrawn"
        rec = (await s.scalars(select(ConsentRecord).where(ConsentRecord.decision == "withdrawn"))).first()
        assert rec.wording_version == "2026.1" and len(rec.wording_hash) == 64 and rec.language == "ja"


async def test_cancel_and_nothing_to_withdraw_in_english(running_sqlite) -> None:
    running = running_sqlite
    from tests.helpers import new_session

    session = await new_session(running.client, "en")
    first = await send(running.client, session, "text", "withdraw")
    # nothing granted yet: said so, and the consent question comes again (the chat goes on)
    assert "no consent to withdraw" in first["messages"][-2]["text"]
    assert first["messages"][-1]["choices"][0]["id"] == "agree"
    session, reply = await run_intake(running.client)
    asked = await send(running.client, session, "text", "/withdraw")
    assert asked["messages"][-1]["choices"][-1]["id"] == "withdraw_cancel"
    kept = await send(running.client, session, "choice", "withdraw_cancel")
    assert "取り消しはしませんでした" in kept["messages"][-1]["text"]
    assert [r[1] for r in await _ledger(running, reply["case_id"])].count("withdrawn") == 0


def test_the_command_is_a_whole_message_and_not_a_problem_told_at_a_free_text_question() -> None:
    from dialogs.withdrawal import is_command

    assert is_command("同意を取り消したい…消してください", None, "ja")
    assert is_command("  Withdraw consent! ", None, "en") and is_command("동의 철회", None, "ko")
    assert is_command("/withdraw", None, "vi") and is_command(None, "withdraw", "th")
    assert not is_command("夫が離婚の同意をやめると言っている", None, "ja", words_too=False)
    assert not is_command("撤回", None, "ja", words_too=False)
    assert is_command("同意を取り消す", None, "ja", words_too=False)  # the control's own words
    assert not is_command("同意します", None, "ja")
    assert not is_command("同意を取り消したいけれど、その前に家賃の相談の続きを聞いてほしいです。お願いします。", None, "ja")


async def test_a_resident_whose_intake_ended_earlier_can_withdraw_from_a_new_conversation(running) -> None:
    """The ledger's consents reach the step only when the message can be a withdrawal
    (dialogs.withdrawal.may_reach): a later conversation starts with none of the dialog's own
    answers, so what is offered comes from the ledger alone."""
    import uuid

    from sqlalchemy import update

    from casecore.models import Conversation
    from handoff.events import InboundEvent
    from tests.test_perf_inbound import Sink

    running.ctx.senders.register(Sink())

    def said(text: str) -> InboundEvent:
        return InboundEvent(channel="line", channel_event_id=uuid.uuid4().hex, external_user_id="U-earlier",
                            profile_id="minato-tokyo", text=text, reply_context={"reply_token": uuid.uuid4().hex})

    first = await running.ctx.router.process(said("家賃が払えなくて困っています"))
    async with transaction(running.ctx.sessions) as s:
        conv = await s.get(Conversation, first.conversation_id)
        for kind in ("use", "share_agencies"):  # given in that earlier intake
            s.add(ConsentRecord(contact_point_id=conv.contact_point_id, conversation_id=conv.id, kind=kind,
                                decision="granted", wording_version="2026.1", wording_hash="0" * 64,
                                language="ja", channel="line"))
        await s.execute(update(Conversation).where(Conversation.id == conv.id).values(status="closed"))
    asked = await running.ctx.router.process(said("同意を取り消したい"))
    assert asked.conversation_id != first.conversation_id
    assert [c.id for c in asked.messages[-1].choices] == ["withdraw_use", "withdraw_share", "withdraw_cancel"]
    plain = await running.ctx.router.process(said("家賃の相談の続きです"))
    assert not any(c.id.startswith("withdraw") for m in plain.messages for c in m.choices)


def test_the_ledger_is_read_for_every_input_that_can_reach_the_withdrawal() -> None:
    from dialogs.engine import DialogInput
    from dialogs.state import DialogState
    from dialogs.withdrawal import may_reach

    plain = DialogState(node="problem", language="ja")
    assert may_reach(plain, DialogInput(text="同意を取り消したい"))
    assert may_reach(plain, DialogInput(text=None, choice="withdraw"))
    assert may_reach(plain, DialogInput(text="Withdraw", detected_language="en"))
    assert may_reach(DialogState(node=None), DialogInput(text="동의 철회", guessed_language="ko"))
    assert may_reach(DialogState(node="problem", language="vi"), DialogInput(text="/withdraw"))
    assert may_reach(DialogState(node="problem", withdrawing=True), DialogInput(text="1"))
    assert not may_reach(plain, DialogInput(text="家賃が払えなくて困っています"))
    assert not may_reach(plain, DialogInput(text=None, choice="agree"))
