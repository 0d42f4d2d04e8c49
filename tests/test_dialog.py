"""The intake dialog as pure logic: flow, commands, consent, risk, routing, collection limits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml

from dialogs.engine import DialogContext, DialogInput, StepResult, handed_over_message, step
from dialogs.flow import FLOW_DIR, Flow, load_flow
from dialogs.profile import ProfileRegistry
from i18n.catalog import catalog

PROFILES = ProfileRegistry.load("minato-tokyo")
OPEN = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 11:00 in Tokyo
CLOSED = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # Tuesday 23:00 in Tokyo


def run(inputs: list[DialogInput], now: datetime = OPEN, profile: str = "minato-tokyo") -> list[StepResult]:
    ctx = DialogContext(profile=PROFILES.get(profile), now=now)
    state = None
    results = []
    for inp in inputs:
        res = step(state, inp, ctx)
        state = res.state
        results.append(res)
    return results


def C(choice: str) -> DialogInput:
    return DialogInput(choice=choice)


def T(text: str) -> DialogInput:
    return DialogInput(text=text)


START = [DialogInput(kind="follow", language_hint="ja")]
TO_CATEGORIES = [*START, C("agree"), C("none"), C("self")]


def effects(results: list[StepResult], kind: str) -> list[dict]:
    return [e.data for r in results for e in r.effects if e.kind == kind]


def test_language_is_asked_only_when_unknown() -> None:
    first = run([DialogInput(text="hello")])[0]
    assert first.state.node == "language"
    assert [c.id for c in first.messages[-1].choices][:2] == ["ja", "ja-easy"] or first.messages[-1].choices[0].id == "ja"
    hinted = run([DialogInput(kind="follow", language_hint="en")])[0]
    assert hinted.state.node == "consent_use"
    assert "free" in hinted.messages[-2].text and "confidential" in hinted.messages[-2].text


def test_more_detail_then_agree_records_consent_with_wording() -> None:
    results = run([*START, C("more"), C("agree")])
    assert results[1].state.node == "consent_use" and "くわしく" in results[1].messages[0].text
    (consent,) = effects(results, "record_consent")
    wording = catalog("ja").consent("use")
    assert consent == {"consent_kind": "use", "decision": "granted", "wording_version": wording.version,
                       "wording_hash": wording.hash, "language": "ja"}
    assert results[-1].state.node == "safety_check"


def test_decline_purges_and_ends_with_contact_details() -> None:
    results = run([*START, T("借金があります"), C("decline")])
    last = results[-1]
    assert {e.kind for e in last.effects} >= {"purge_unconsented", "end_conversation", "record_consent"}
    assert "03-3578-2111" in last.messages[-1].text
    assert not effects(results, "create_case")


def test_typed_answers_match_numbers_and_labels() -> None:
    results = run([*START, T("同意する"), T("ない"), T("1")])
    assert results[-1].state.answers["for_whom"] == "self"
    assert results[-1].state.node == "categories"


def test_categories_need_one_and_toggle() -> None:
    results = run([*TO_CATEGORIES, C("done"), C("debt"), C("job"), C("debt"), C("done")])
    assert "少なくとも" in results[len(TO_CATEGORIES)].messages[0].text
    assert results[-1].state.answers["categories"] == ["job"]
    assert results[-1].state.node == "problem_detail"


def test_back_returns_to_the_previous_question() -> None:
    results = run([*TO_CATEGORIES, C("back")])
    assert results[-1].state.node == "for_whom"
    assert run([*START, C("back")])[-1].messages[-1].text.startswith("これ以上は戻れません")


def test_language_change_at_any_step_returns_to_the_same_question() -> None:
    results = run([*TO_CATEGORIES, T("言語"), C("en")])
    assert results[-1].state.node == "categories"
    assert results[-1].state.language == "en"
    assert results[-1].messages[-1].text.startswith("What are you having difficulty with")


def test_stop_before_consent_purges_everything() -> None:
    results = run([*START, T("やめる")])
    assert {e.kind for e in results[-1].effects} == {"purge_unconsented", "end_conversation"}
    assert results[-1].state.answers == {}


def test_stop_after_consent_pauses_and_resumes() -> None:
    results = run([*TO_CATEGORIES, C("stop"), T("こんにちは"), C("continue")])
    assert results[-3].state.paused
    assert [c.id for c in results[-2].messages[-1].choices] == ["continue", "restart"]
    assert results[-1].state.node == "categories" and not results[-1].state.paused


def test_human_request_at_any_step_keeps_the_intake_going() -> None:
    results = run([*TO_CATEGORIES, T("相談員と話したい")])
    assert effects(results, "request_human") == [{"reason": "asked"}]
    assert results[-1].state.node == "categories"
    out_of_hours = run([*TO_CATEGORIES, C("human")], now=CLOSED)
    assert "時間外" in out_of_hours[-1].messages[0].text and "110" in out_of_hours[-1].messages[0].text


def test_human_word_inside_a_problem_description_is_not_a_command() -> None:
    results = run([*TO_CATEGORIES, C("money"), C("done"), T("I need a person to help me with rent")])
    assert results[-1].state.answers["problem_text"].startswith("I need a person")


@pytest.mark.parametrize("text,kind", [("もう死にたい", "suicide"), ("夫に殴られています", "domestic_violence"),
                                       ("I want to kill myself", "suicide"), ("今夜泊まるところがない", "no_shelter")])
def test_risk_in_free_text_marks_urgent_and_shows_contacts(text: str, kind: str) -> None:
    results = run([*START, C("agree"), T(text)])
    last = results[-1]
    [reasons] = [e["reasons"] for e in effects([last], "mark_urgent")]
    assert kind in reasons  # a husband's violence is domestic violence (and violence)
    assert effects([last], "request_human") == [{"reason": "risk"}]
    assert any(m.kind == "emergency" for m in last.messages)


def test_safety_check_danger_shows_emergency_numbers_at_once() -> None:
    results = run([*START, C("agree"), C("danger"), C("no_shelter"), C("done")])
    msgs = [m for m in results[-1].messages if m.kind == "emergency"]
    assert len(msgs) == 2 and "110" in msgs[0].text and "緊急宿泊" in msgs[1].text


FULL = [*TO_CATEGORIES, C("housing"), C("done"), T("家賃を3か月滞納しています"), C("30s"), C("芝"), C("with_children"),
        C("no"), C("lives_here"), C("skip"), C("this_channel"), C("skip"), C("discuss"), C("confirm")]


def test_full_intake_creates_one_case_with_routing() -> None:
    results = run(FULL)
    (case,) = effects(results, "create_case")
    assert case["answers"]["categories"] == ["housing"]
    assert case["answers"]["share"] == "discuss"
    # a household with children is not a single-parent one (issue 13): オ, not キ
    assert "jukyo_kakuho" in case["recommended"] and "gakushu" in case["recommended"]
    assert "hitorioya" not in case["recommended"]
    assert results[-1].state.node == "handed_over" and results[-1].state.finished
    consents = effects(results, "record_consent")
    assert [(c["consent_kind"], c["decision"]) for c in consents] == [("use", "granted"), ("share_agencies", "discuss")]


def test_summary_change_returns_to_summary() -> None:
    results = run([*FULL[:-1], C("change"), C("change.problem_detail"), T("家賃と仕事"), C("confirm")])
    assert results[-2].state.node == "summary"
    assert effects(results, "create_case")[0]["answers"]["problem_text"] == "家賃と仕事"


def test_phone_and_email_are_validated() -> None:
    base = [*FULL[:-4], C("phone")]
    results = run([*base, T("abc"), T("０９０－１２３４－５６７８")])
    assert "読み取れませんでした" in results[-2].messages[0].text
    assert results[-1].state.answers["contact_detail"] == "09012345678"


def test_after_handover_messages_get_a_calm_acknowledgement_not_spam() -> None:
    results = run([*FULL, T("まだですか"), T("もしもし")])
    assert "受け取りました" in results[-2].messages[0].text
    assert results[-1].messages == []  # the acknowledgement is not repeated within minutes


def test_handed_over_message_is_office_hours_aware() -> None:
    p = PROFILES.default
    assert "お待ちください" in handed_over_message(p, "ja", "2026-000001", False, OPEN).text
    closed = handed_over_message(p, "ja", "2026-000001", True, CLOSED).text
    assert "11月25日(水) 8:30" in closed and "0120-279-338" in closed


def test_welfare_recipient_job_routing_differs() -> None:
    p = PROFILES.default
    assert "hihogosha_shuro" in p.recommend({"categories": ["job"], "public_assistance": "yes"})
    assert "hihogosha_shuro" not in p.recommend({"categories": ["job"], "public_assistance": "no"})
    osaka = PROFILES.get("minato-osaka")
    assert "legal_advice" in osaka.recommend({"categories": ["debt"]})


FORBIDDEN = ("宗教", "信条", "思想", "犯罪", "前科", "出身", "国籍", "religion", "creed", "crime", "criminal", "origin", "nationality")


def test_no_question_asks_about_creed_religion_origin_or_crime() -> None:
    """Seed 001: never ask about thought, creed, religion, discrimination-causing facts or crime."""
    flow = load_flow("intake")
    for lang in ("ja", "en"):
        cat = catalog(lang)
        for node in flow.nodes.values():
            if node.prompt and node.type != "end":
                prompt = cat.text(node.prompt).casefold()
                if node.consent:
                    continue  # consent texts may say what is NOT asked
                assert not any(w in prompt for w in FORBIDDEN), (lang, node.name)
    stores = {n.store for n in flow.nodes.values() if n.store}
    allowed = {"language", "safety", "for_whom", "categories", "problem_text", "age_band", "district", "household",
               "public_assistance", "residence", "name", "contact_method", "contact_detail", "contact_time", "share"}
    assert stores <= allowed


def test_flow_file_errors_are_reported() -> None:
    data = yaml.safe_load((FLOW_DIR / "intake.yaml").read_text())
    data["nodes"]["for_whom"]["next"] = "nowhere"
    with pytest.raises(ValueError, match="unknown node 'nowhere'"):
        Flow.model_validate(data)


@pytest.mark.parametrize("profile_id", ["minato-tokyo", "minato-osaka"])
def test_emergency_contacts_are_named_in_every_catalog_language(profile_id: str) -> None:
    # The safety notice is what a resident in danger reads first: never in a language they
    # did not choose when the catalog speaks theirs.
    from i18n.catalog import available_languages

    p = PROFILES.get(profile_id)
    for language in available_languages():
        if language.startswith("ja") or language == "en":
            continue
        for contact in p.emergency_contacts:
            assert language in contact.label, (profile_id, language, contact.label.get("en"))
        assert language in p.municipality and language in p.centre_name, (profile_id, language)
        if p.lodging_contact is not None:
            assert language in p.lodging_contact.label, (profile_id, language)
