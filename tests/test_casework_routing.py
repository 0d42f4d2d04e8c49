"""Seed 000 別紙1's programme table as data: every row's eligibility (生活困窮者 / 生保受給者,
in the ward or not, single-parent household, children, no fixed address), the three wrong
recommendations issue 13 found, and the "because …" reasons the face sheet shows."""

from __future__ import annotations

import re

import pytest

from dialogs.eligibility import check
from dialogs.profile import ProfileRegistry
from i18n.catalog import catalog

P = ProfileRegistry.load("minato-tokyo").default
CASEWORK = catalog("ja", "casework")
PROGRAMMES = {p.id: p for p in P.programmes}

# (programme, code, the answers that call for it, 生活困窮者 ○?, 生保受給者 ○?) — 000 別紙1 (1)
TABLE = [
    ("jiritsu_soudan", "ア", {}, True, False),
    ("hihogosha_shuro", "イ", {"categories": ["job"]}, False, True),
    ("shuro_junbi", "ウ", {"categories": ["isolation"]}, True, True),
    ("kakei_kaizen", "エ", {"categories": ["debt"]}, True, True),
    ("gakushu", "オ", {"categories": ["children"], "household": "with_children"}, True, True),
    ("jukyo_kakuho", "カ", {"categories": ["housing"]}, True, False),
    ("hitorioya", "キ", {"categories": ["single_parent"], "household": "with_children"}, True, True),
    ("jusho_futei", "ク", {"categories": ["homeless"], "residence": "staying_here"}, True, False),
    ("kyujin_kaitaku", "ケ", {"categories": ["job"]}, True, True),
]


@pytest.mark.parametrize(("pid", "code", "base", "needy", "recipient"), TABLE, ids=[t[1] for t in TABLE])
def test_each_row_of_the_programme_table(pid: str, code: str, base: dict, needy: bool, recipient: bool) -> None:
    assert P.programme_name(pid).startswith(code)
    for receives, allowed in (("no", needy), ("yes", recipient)):
        answers = {"residence": "lives_here", **base, "public_assistance": receives}
        routing = P.route(answers)
        assert (pid in routing.ids) is allowed, (code, receives, routing.as_dict())
        # the table row itself, whether or not a rule asked for the programme
        why_not, _ = check(PROGRAMMES[pid].eligible, answers)
        assert why_not == ([] if allowed else [
            "excluded.non_recipients_only" if receives == "yes" else "excluded.recipients_only"])
        if not allowed and pid in routing.excluded:  # the face sheet says why
            assert routing.excluded[pid] == why_not
        # Neither living nor staying in the ward: none of the ward's programmes
        elsewhere = P.route({**answers, "residence": "neither"})
        assert pid not in elsewhere.ids
        assert "home_municipality" in elsewhere.ids


def test_the_three_wrong_recommendations_of_issue_13() -> None:
    recipient = P.route({"categories": ["homeless", "job"], "public_assistance": "yes", "residence": "staying_here"})
    assert "jiritsu_soudan" not in recipient.ids and "jusho_futei" not in recipient.ids  # ア, ク are 「－」
    assert {"hihogosha_shuro", "welfare_office"} <= set(recipient.ids)
    outside = P.route({"categories": ["housing"], "public_assistance": "no", "residence": "neither"})
    assert "jiritsu_soudan" not in outside.ids and "jukyo_kakuho" not in outside.ids  # ア, カ
    assert outside.excluded["jukyo_kakuho"] == ["excluded.residence"]
    two_parents = P.route({"categories": ["housing"], "household": "with_children", "public_assistance": "no",
                           "residence": "lives_here"})
    assert "hitorioya" not in two_parents.ids and "gakushu" in two_parents.ids  # キ is for single parents


def test_requirements_of_a_row() -> None:
    # キ without a single-parent household is ruled out even when a rule asks for it
    assert P.route({"categories": ["single_parent"], "residence": "lives_here"}).ids.count("hitorioya") == 1
    no_kids = P.route({"categories": ["children"], "household": "alone", "residence": "lives_here",
                       "public_assistance": "no"})
    assert "gakushu" in no_kids.ids  # a child's matter named in the categories is a household with children
    housed = P.route({"safety": ["no_shelter"], "residence": "lives_here", "public_assistance": "no"})
    assert "jusho_futei" in housed.ids  # no shelter tonight: no fixed address, currently in the ward


def test_unanswered_questions_never_rule_out_but_ask_to_confirm() -> None:
    routing = P.route({"categories": ["housing"]})
    first = {r.programme: r for r in routing.recommended}
    assert {"jiritsu_soudan", "jukyo_kakuho"} <= set(first)
    assert "confirm.public_assistance.non_recipients" in first["jukyo_kakuho"].confirm
    assert "confirm.residence" in first["jukyo_kakuho"].confirm


def test_every_reason_reads_as_japanese() -> None:
    answers = [
        {"categories": ["money", "debt", "job", "housing", "homeless", "food", "health", "family", "children",
                        "single_parent", "isolation", "welfare", "other"], "safety": ["no_shelter", "no_food"],
         "household": "with_children", "public_assistance": "no", "residence": "lives_here"},
        {"categories": ["job", "homeless"], "public_assistance": "yes", "residence": "neither"},
        {"categories": ["housing"]},
    ]
    seen = 0
    for a in answers:
        r = P.route(a)
        codes = [c for rec in r.recommended for c in rec.because + rec.confirm]
        codes += [c for why in r.excluded.values() for c in why]
        for code in codes:
            text = CASEWORK.text(code)
            assert text != code and re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text), code
            seen += 1
    assert seen > 20


def test_osaka_profile_follows_its_own_table() -> None:
    osaka = ProfileRegistry.load("minato-tokyo").get("minato-osaka")
    assert "jiritsu_soudan" not in osaka.route({"public_assistance": "yes", "residence": "lives_here"}).ids
    assert "legal_advice" in osaka.recommend({"categories": ["debt"]})
    assert {a.id for a in osaka.agencies} >= {"welfare_office", "hello_work", "shakyo", "hikikomori_desk"}
    outside = osaka.route({"categories": ["debt", "job"], "residence": "neither", "public_assistance": "no"})
    assert not {"jiritsu_soudan", "kakei_kaizen", "shuro_junbi"} & set(outside.ids)


def test_every_profile_names_only_programmes_it_has() -> None:
    for profile in ProfileRegistry.load("minato-tokyo").all():
        known = {p.id for p in profile.programmes}
        asked = {pid for rule in profile.routing for pid in rule.recommend} | set(profile.default_recommendation)
        assert asked <= known, (profile.id, asked - known)
        linked = {a.programme for a in profile.agencies if a.programme}
        assert linked <= known, (profile.id, linked - known)
        assert len({a.id for a in profile.agencies}) == len(profile.agencies)
