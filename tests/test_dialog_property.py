"""Stateful property tests: random sequences of text, choices, commands, emoji and very long
messages. The dialog never raises, never creates a case without consent to use, and the inbound
path never loses or duplicates a message."""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from sqlalchemy import func, select

from casecore.db import transaction
from casecore.models import Case, Message
from dialogs.engine import DialogContext, DialogInput, step
from dialogs.profile import ProfileRegistry
from dialogs.state import DialogState
from handoff.events import InboundEvent
from tests.conftest import make_settings, start_app

PROFILE = ProfileRegistry.load("minato-tokyo").default
CHOICE_IDS = ["agree", "decline", "more", "yes", "no", "none", "skip", "done", "human", "confirm", "change", "lang",
              "back", "stop", "continue", "restart", "ja", "en", "ja-easy", "money", "debt", "job", "housing",
              "danger", "no_shelter", "self", "30s", "麻布", "phone", "email", "discuss", "change.share", "bogus"]
texts = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["相談員と話したい", "やめる", "戻る", "言語", "1", "13", "同意する", "死にたい", "😢🙏", "<script>alert(1)</script>",
                     "090-1234-5678", "a@b.jp", "", "   ", "\x00\x01", "ｱｲｳ", "مرحبا"]),
    st.just("困" * 10_000),
)
inputs = st.one_of(
    st.builds(lambda c: DialogInput(choice=c), st.sampled_from(CHOICE_IDS)),
    st.builds(lambda t: DialogInput(text=t), texts),
    st.just(DialogInput(kind="media")),
    st.builds(lambda t: DialogInput(text=t, resumed=True), texts),
)


class PureDialog(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state = DialogState()
        self.now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
        self.consented = False
        self.cases = 0

    @rule(inp=inputs, minutes=st.integers(0, 120))
    def send(self, inp: DialogInput, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        res = step(self.state, inp, DialogContext(profile=PROFILE, now=self.now))
        for e in res.effects:
            if e.kind == "record_consent" and e.data["consent_kind"] == "use":
                self.consented = e.data["decision"] == "granted"
            if e.kind == "purge_unconsented":
                assert not self.consented, "purge after consent would lose a consented intake"
            if e.kind == "create_case":
                assert self.consented, "a case without consent to use"
                self.cases += 1
        for m in res.messages:
            assert m.text.strip(), "an empty message was sent"
            assert len(m.choices) == len({c.id for c in m.choices}), "duplicate choice ids"
        self.state = res.state

    @invariant()
    def at_most_one_case(self) -> None:
        assert self.cases <= 1

    @invariant()
    def state_is_consistent(self) -> None:
        assert self.state.consented_use == self.consented or self.state.node is None


PureDialog.TestCase.settings = settings(max_examples=120, stateful_step_count=40, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])
TestPureDialog = PureDialog.TestCase


class ThroughTheRouter(RuleBasedStateMachine):
    """The same random traffic through the real inbound path (SQLite), with redeliveries. The
    app is booted once for all examples; each example is a new resident."""

    loop: asyncio.AbstractEventLoop
    running = None

    def __init__(self) -> None:
        super().__init__()
        self.user = uuid.uuid4().hex
        self.sent: list[str] = []
        self.n = 0

    @classmethod
    def boot(cls) -> None:
        if cls.running is not None:
            return
        cls.loop = asyncio.new_event_loop()
        cls._tmp = tempfile.TemporaryDirectory()
        cls._gen = start_app(make_settings(Path(cls._tmp.name)))
        cls.running = cls.loop.run_until_complete(cls._gen.__anext__())

    def _process(self, event_id: str, inp: DialogInput) -> None:
        self.boot()
        ev = InboundEvent(channel="webchat", channel_event_id=event_id, external_user_id=self.user,
                          profile_id="minato-tokyo", text=inp.text, choice=inp.choice,
                          kind="media" if inp.kind == "media" else "message",
                          media_type="image" if inp.kind == "media" else None)
        self.loop.run_until_complete(self.running.ctx.router.process(ev))

    @rule(inp=inputs)
    def send(self, inp: DialogInput) -> None:
        self.n += 1
        event_id = f"{self.user}:{self.n}"
        self._process(event_id, inp)
        self.sent.append(event_id)

    @precondition(lambda self: self.sent)
    @rule(data=st.data())
    def redeliver(self, data: st.DataObject) -> None:
        event_id = data.draw(st.sampled_from(self.sent))
        self._process(event_id, DialogInput(text="redelivered"))

    @invariant()
    def every_event_stored_exactly_once_and_no_case_without_consent(self) -> None:
        if not self.sent:
            return

        async def check() -> tuple[int, int]:
            async with transaction(self.running.ctx.sessions) as s:
                stored = await s.scalar(select(func.count()).where(Message.channel_event_id.in_(self.sent)))
                distinct = await s.scalar(select(func.count(func.distinct(Message.channel_event_id))).where(
                    Message.channel_event_id.in_(self.sent)))
                return stored, distinct

        stored, distinct = self.loop.run_until_complete(check())
        assert stored == distinct == len(self.sent)


ThroughTheRouter.TestCase.settings = settings(max_examples=15, stateful_step_count=20, deadline=None,
                                              suppress_health_check=[HealthCheck.too_slow])
TestThroughTheRouter = ThroughTheRouter.TestCase


def test_cases_in_the_database_all_have_consent() -> None:
    """After the random traffic above, every case's conversation consented to use."""
    if ThroughTheRouter.running is None:
        ThroughTheRouter.boot()

    async def check() -> int:
        from casecore.models import Conversation

        async with transaction(ThroughTheRouter.running.ctx.sessions) as s:
            return await s.scalar(select(func.count()).select_from(Case).join(
                Conversation, Conversation.case_id == Case.id).where(Conversation.consented_use.is_(False))) or 0

    assert ThroughTheRouter.loop.run_until_complete(check()) == 0
