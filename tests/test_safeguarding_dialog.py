"""Safeguarding in the dialog (issue 9): every text is screened before commands, in every state;
a screened message never ends, purges or resets a conversation; each kind of danger has its own
response with the profile's lines, in every catalog language, in and out of office hours."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from dialogs.engine import DialogContext, DialogInput, StepResult, format_when, step
from dialogs.profile import ProfileRegistry
from dialogs.state import DialogState
from i18n import risk
from i18n.catalog import available_languages, catalog

PROFILES = ProfileRegistry.load("minato-tokyo")
OPEN = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 11:00 in Tokyo
CLOSED = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # Tuesday 23:00 in Tokyo
LANGUAGES = list(available_languages())

# The messages: each contains a command word ("やめたい", "stop", "quit") and closed the
# conversation before. The current lexicon catches the last three; 人生やめたい needs the new
# detector, so tests that need it flagged inject the finding.
COMMAND_WORD_CRISES = ["人生やめたい", "全部やめたい。死にたい", "i cant stop crying and i want to die",
                       "estoy pensando en quitarme la vida"]
CAUGHT_TODAY = ["全部やめたい。死にたい", "i cant stop crying and i want to die", "quiero morir",
                "Tôi muốn chết", "죽고 싶어요"]


def finding(*kinds: str, level: str = "emergency") -> Callable[..., risk.RiskFinding]:
    """A screen that flags every text with these kinds (for kinds the lexicon cannot find yet)."""
    def screen(*texts: str | None, language: str | None = None) -> risk.RiskFinding:
        return risk.RiskFinding(tuple(k for k in risk.KINDS if k in kinds), level) if any(texts) else risk.RiskFinding(())
    return screen


class Talk:
    """A conversation driven step by step; `screen` (optional) is the injected risk screen."""

    def __init__(self, now: datetime = OPEN, profile: str = "minato-tokyo") -> None:
        self.state: DialogState | None = None
        self.now = now
        self.profile = PROFILES.get(profile)
        self.results: list[StepResult] = []

    def go(self, inp: DialogInput, screen: Callable[..., risk.RiskFinding] | None = None) -> StepResult:
        res = step(self.state, inp, DialogContext(profile=self.profile, now=self.now, screen=screen))
        self.state = res.state
        self.results.append(res)
        return res

    def text(self, text: str, screen: Callable[..., risk.RiskFinding] | None = None, **kw: object) -> StepResult:
        return self.go(DialogInput(text=text, **kw), screen)  # type: ignore[arg-type]

    def choose(self, cid: str) -> StepResult:
        return self.go(DialogInput(choice=cid))


def kinds_of(res: StepResult, effect: str) -> list[str]:
    return [k for e in res.effects if e.kind == effect for k in e.data["reasons"]]


def at(node: str, language: str = "ja") -> Talk:
    """A conversation standing at `node` (consent_use, safety_check, for_whom, problem_detail)."""
    t = Talk()
    t.go(DialogInput(kind="follow", language_hint=language))
    path = {"consent_use": [], "safety_check": ["agree"], "for_whom": ["agree", "none"],
            "categories": ["agree", "none", "self"], "problem_detail": ["agree", "none", "self", "debt", "done"]}[node]
    for cid in path:
        t.choose(cid)
    assert t.state is not None and t.state.node == node, t.state
    return t


def assert_safe(res: StepResult, lang: str = "ja") -> None:
    """Screened positive: contacts given, nothing ended, purged or reset, no "didn't understand"."""
    kinds = {e.kind for e in res.effects}
    assert "purge_unconsented" not in kinds and "end_conversation" not in kinds, res.effects
    assert any(m.kind == "emergency" for m in res.messages), [m.text for m in res.messages]
    unknown = catalog(lang).text("unknown_input")
    assert not any(unknown in m.text for m in res.messages)
    assert not any(catalog(lang).text("stop.purged") in m.text for m in res.messages)
    assert not res.state.finished
    last = res.messages[-1]
    assert [c.id for c in last.choices] == ["human", "continue"]


# ── command words inside a crisis message ─────────────────────────────────────
@pytest.mark.parametrize("text", COMMAND_WORD_CRISES)
@pytest.mark.parametrize("node", ["consent_use", "safety_check", "for_whom", "problem_detail"])
def test_command_word_in_crisis_is_screened_not_a_command(text: str, node: str) -> None:
    t = at(node)
    res = t.text(text, screen=finding("suicide"))
    assert_safe(res)
    assert kinds_of(res, "mark_urgent") == ["suicide"]
    assert res.state.urgent_reasons == ["suicide"] and res.state.human_requested
    assert not any(catalog("ja").text("consent.use.text") in m.text for m in res.messages)


@pytest.mark.parametrize("text,lang", [("全部やめたい。死にたい", "ja"), ("i cant stop crying and i want to die", "en"),
                                       ("estoy pensando en quitarme la vida", "es"), ("quiero morir", "es"),
                                       ("Tôi muốn chết", "vi"), ("죽고 싶어요", "ko")])
def test_real_crisis_wording_on_choice_prompt_and_consent(text: str, lang: str) -> None:
    # The lexicon as it is today, no injection: end to end through the real screen.
    for node in ("consent_use", "for_whom"):
        t = at(node, lang)
        res = t.text(text)
        assert_safe(res, lang)
        assert "suicide" in kinds_of(res, "mark_urgent")
        # the national lines are named, with a tel: URI each
        em = next(m for m in res.messages if m.kind == "emergency")
        assert "0570-783-556" in em.text and "0120-279-338" in em.text
        assert {c.uri for c in em.contacts} >= {"tel:0570783556", "tel:0120783556", "tel:0120279338"}


@pytest.mark.parametrize("text", COMMAND_WORD_CRISES)
def test_command_word_in_crisis_at_the_language_question(text: str) -> None:
    t = Talk()
    first = t.text("こんにちは")
    assert first.state.node == "language"
    res = t.text(text, screen=finding("suicide"))
    assert_safe(res)
    assert res.state.node == "language" and res.state.after_risk == "ask"
    cont = t.choose("continue")
    assert cont.state.node == "language" and cont.messages[-1].choices[0].id == "ja"


def test_crisis_as_the_first_message_gives_contacts_before_the_service_text() -> None:
    t = Talk()
    res = t.text("死にたい", language_hint="ja")
    assert_safe(res)
    assert not any("同意" in m.text for m in res.messages)  # no consent text yet
    cont = t.choose("continue")
    texts = "\n".join(m.text for m in cont.messages)
    assert cont.state.node == "consent_use" and catalog("ja").text("consent.use.text") in texts


def test_whole_message_commands_still_work_but_not_inside_sentences() -> None:
    t = at("consent_use")
    stopped = t.text("やめる")
    assert any(e.kind == "purge_unconsented" for e in stopped.effects)  # nothing risky was said
    t = at("consent_use", "en")
    res = t.text("I want to stop paying for this phone")  # contains "stop": not a command
    assert not any(e.kind in ("purge_unconsented", "end_conversation") for e in res.effects)
    assert res.state.node == "consent_use"
    t = at("consent_use", "en")
    assert t.text("  Stop. ").state.language == "en"  # trimmed, punctuation: still the command
    assert any(e.kind == "purge_unconsented" for e in t.results[-1].effects)


def test_human_inside_a_sentence_is_not_a_command_but_alone_it_is() -> None:
    t = at("for_whom", "en")
    res = t.text("my counsellor at school said I should write")
    assert not any(e.kind == "request_human" for e in res.effects)
    res = t.text("talk to a person")
    assert any(e.kind == "request_human" for e in res.effects)


# ── after the response: a person, or go on exactly where it was ───────────────
def test_go_on_continues_where_the_intake_was_without_the_consent_text() -> None:
    t = at("consent_use")
    t.text("人生やめたい", screen=finding("suicide"))
    cont = t.choose("continue")
    texts = "\n".join(m.text for m in cont.messages)
    assert cont.state.node == "consent_use"
    assert catalog("ja").text("consent.use.text") not in texts  # read already: the answer is asked
    assert [c.id for c in cont.messages[-1].choices] == ["agree", "more", "decline", "human"]
    agreed = t.choose("agree")
    assert agreed.state.node == "safety_check" and agreed.state.consented_use


def test_crisis_answer_to_a_text_question_is_kept_and_the_next_question_waits() -> None:
    t = at("problem_detail")
    res = t.text("もう死にたい。家賃も払えない")
    assert_safe(res)
    assert res.state.answers["problem_text"].startswith("もう死にたい")
    assert res.state.node == "age_band" and res.state.after_risk == "enter"
    cont = t.choose("continue")
    assert cont.state.node == "age_band" and cont.messages[-1].choices[0].id == "under_20"


def test_talk_to_a_person_after_the_response_then_go_on() -> None:
    t = at("for_whom")
    t.text("死にたい")
    res = t.choose("human")
    assert [c.id for c in res.messages[-1].choices] == ["continue"]
    assert res.state.node == "for_whom"
    assert t.choose("continue").state.node == "for_whom"


def test_crisis_while_paused_resumed_or_after_the_end() -> None:
    # paused (asked whether to resume): screened first, no resume question instead of contacts
    t = at("for_whom")
    paused = t.go(DialogInput(text="死にたい", resumed=True))
    assert_safe(paused)
    # after the intake was handed over: contacts again, nothing reset
    done = DialogState(node="handed_over", language="en", finished=True, consented_use=True, human_requested=True)
    res = step(done, DialogInput(text="i want to die"), DialogContext(profile=PROFILES.default, now=OPEN))
    assert any(m.kind == "emergency" for m in res.messages) and kinds_of(res, "mark_urgent") == ["suicide"]
    assert res.state.finished and res.state.node == "handed_over"


def test_sticker_or_caption_text_is_screened() -> None:
    t = at("for_whom")
    res = t.go(DialogInput(kind="media", text="たすけて 死にたい"))
    assert_safe(res)
    plain = at("for_whom").go(DialogInput(kind="media"))
    assert catalog("ja").text("media.unsupported") in plain.messages[0].text


# ── nothing is purged after urgency ───────────────────────────────────────────
def test_decline_and_stop_after_a_crisis_keep_the_record() -> None:
    t = at("consent_use")
    t.text("死にたい")
    t.choose("continue")
    declined = t.choose("decline")
    assert declined.state.finished
    assert not any(e.kind in ("purge_unconsented", "end_conversation") for e in declined.effects)
    assert catalog("ja").text("declined.body", contact_line="") not in declined.messages[0].text
    assert "消さずに残して" in declined.messages[0].text
    assert declined.state.urgent_reasons == ["suicide"]
    t = at("consent_use", "en")
    t.text("i want to die")
    stopped = t.text("stop")
    assert not any(e.kind in ("purge_unconsented", "end_conversation") for e in stopped.effects)
    assert stopped.state.urgent_reasons == ["suicide"] and stopped.state.paused


# ── every kind, every language, in and out of hours ───────────────────────────
@pytest.mark.parametrize("now", [OPEN, CLOSED], ids=["in_hours", "out_of_hours"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_kind_reaches_its_contacts_in_every_language(lang: str, now: datetime) -> None:
    for profile in PROFILES.all():
        for kind in risk.KINDS:
            t = Talk(now, profile.id)
            t.go(DialogInput(kind="follow", language_hint=lang))
            res = t.text("…", screen=finding(kind))
            em = next(m for m in res.messages if m.kind == "emergency")
            assert catalog(lang).text(f"risk.open.{kind}") in em.text, (lang, kind)
            expected = profile.contacts_for([kind])
            assert expected, (profile.id, kind)
            for c in expected:
                assert c.phone in em.text and c.label_for(lang) in em.text, (profile.id, lang, kind, c.phone)
                assert lang in c.label or (lang == "ja-easy" and "ja" in c.label), (profile.id, lang, c.phone)
            if now == CLOSED:  # at night the lines that answer at any hour come first
                expected = sorted(expected, key=lambda c: not c.always_open)
            assert [x.number for x in em.contacts] == [c.phone for c in expected]
            assert all(x.uri.startswith("tel:") and "#" not in x.uri and "-" not in x.uri for x in em.contacts)
            if now == CLOSED:
                nxt = catalog(lang).text("risk.out_of_hours", next_open="X", lines_24h="Y").split("X")[0]
                assert nxt.strip() and nxt.strip()[:10] in em.text, (lang, kind)
                # the next opening, written the language's own way (9:00, 09.00, 9じ)
                assert format_when(profile.office_hours.next_opening(now), lang) in em.text
                assert any(c.always_open and c.phone in em.text.split(nxt.strip()[:10])[-1] for c in expected)
            else:
                assert catalog(lang).text("risk.in_hours") in em.text


def test_suicide_response_names_the_national_lines_with_their_hours() -> None:
    res = at("for_whom").text("死にたい")
    em = next(m for m in res.messages if m.kind == "emergency")
    for needle in ("いのちの電話 0570-783-556（10:00–22:00）", "0120-783-556（毎日16:00〜21:00、毎月10日は8:00〜翌日8:00）",
                   "こころの健康相談統一ダイヤル 0570-064-556（受付時間は都道府県ごとにちがいます）",
                   "0120-279-338（24時間）"):
        assert needle in em.text, em.text


def test_medical_and_dv_lines_use_encoded_hash_in_tel_uris() -> None:
    res = at("for_whom").text("…", screen=finding("medical", "domestic_violence"))
    em = next(m for m in res.messages if m.kind == "emergency")
    uris = {c.number: c.uri for c in em.contacts}
    assert uris["119"] == "tel:119" and uris["#7119"] == "tel:%237119" and uris["#8008"] == "tel:%238008"
    assert uris["#8891"] == "tel:%238891" and uris["0120-279-889"] == "tel:0120279889"


def test_safety_question_has_a_medical_choice_with_its_own_response() -> None:
    t = at("safety_check", "en")
    assert "medical" in [c.id for c in t.results[-1].messages[-1].choices]
    t.choose("medical")
    res = t.choose("done")
    assert kinds_of(res, "mark_urgent") == ["medical"]
    em = next(m for m in res.messages if m.kind == "emergency")
    assert "#7119" in em.text and "119" in em.text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_medical_label_distinct_and_short(lang: str) -> None:
    labels = [catalog(lang).label(c) for c in ("danger", "medical", "no_shelter", "no_food", "none", "done")]
    assert len(set(labels)) == len(labels) and len(catalog(lang).label("medical")) <= 20


# ── look: a counsellor looks soon, no alarm, the intake goes on ───────────────
def test_look_flags_without_alarm_and_the_intake_goes_on() -> None:
    t = at("for_whom")
    res = t.text("友だちが死にたいと言っていた", screen=finding("suicide", level="look"))
    assert not kinds_of(res, "mark_urgent") and kinds_of(res, "flag_look") == ["suicide"]
    assert any(e.kind == "request_human" and e.data["reason"] == "look" for e in res.effects)
    assert not any(m.kind == "emergency" for m in res.messages)
    assert catalog("ja").text("risk.look") in res.messages[0].text
    assert "0120-279-338" in res.messages[0].text and res.messages[0].contacts[0].uri == "tel:0120279338"
    assert not any(catalog("ja").text("unknown_input") in m.text for m in res.messages)
    assert res.state.node == "for_whom" and res.messages[-1].choices  # the question again, kindly
    # at a text question the answer is taken and the intake goes on
    t = at("problem_detail")
    res = t.text("前は死にたいと思ったこともあった", screen=finding("suicide", level="look"))
    assert res.state.node == "age_band" and res.state.look_reasons == ["suicide"]
    declined = at("consent_use")
    declined.text("昔DVを受けていた", screen=finding("domestic_violence", level="look"))
    out = declined.choose("decline")
    assert not any(e.kind == "purge_unconsented" for e in out.effects)  # flagged: kept too
