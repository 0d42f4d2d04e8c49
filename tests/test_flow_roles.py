"""The flow's meaning is data: nodes carry a `role` in the flow file, and code finds them by
role. A municipality's flow with other node names still runs the intake on the web chat and by
email, and fills the face sheet and the console's data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from casecore.models import Case
from dialogs.flow import FLOW_DIR, Flow, load_flow
from dialogs.profile import PROFILE_DIR
from tests.conftest import make_settings, start_app
from tests.dovecot import Dovecot, dovecot_fixture  # noqa: F401  (fixture "dovecot")
from tests.handoff_helpers import counsellor_client
from tests.helpers import run_intake
from tests.smtp_sink import SmtpSink, smtp_sink_fixture  # noqa: F401  (fixture "smtp_sink")
from tests.test_email_channel import DOCOMO, email_app, fixture, reply_to

RENAMES = {
    "language": "pick_language", "consent_use": "agreement", "safety_check": "danger_now",
    "problem_detail": "in_your_words", "contact_method": "how_to_reach", "consent_share": "sharing",
    "summary": "review", "handed_over": "passed_on",
}


def renamed_flow(directory: Path) -> Path:
    data = yaml.safe_load((FLOW_DIR / "intake.yaml").read_text(encoding="utf-8"))
    data["id"] = "intake-renamed"
    data["start"] = RENAMES.get(data["start"], data["start"])
    nodes = {}
    for name, node in data["nodes"].items():
        if node.get("next"):
            node["next"] = RENAMES.get(node["next"], node["next"])
        for edge in (node.get("branches") or {}).values():
            edge["next"] = RENAMES.get(edge["next"], edge["next"])
            if edge.get("return_after"):
                edge["return_after"] = RENAMES.get(edge["return_after"], edge["return_after"])
        nodes[RENAMES.get(name, name)] = node
    data["nodes"] = nodes
    path = directory / "renamed-intake.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def profiles_with(tmp_path: Path) -> Path:
    flow = renamed_flow(tmp_path)
    profile = yaml.safe_load((PROFILE_DIR / "minato-tokyo.yaml").read_text(encoding="utf-8"))
    profile["id"], profile["flow"] = "renamed-ward", str(flow)
    directory = tmp_path / "profiles"
    directory.mkdir()
    (directory / "renamed-ward.yaml").write_text(yaml.safe_dump(profile, allow_unicode=True), encoding="utf-8")
    return directory


def test_roles_are_read_from_the_flow_file(tmp_path: Path) -> None:
    flow = load_flow(str(renamed_flow(tmp_path)))
    assert flow.name_for("safety") == "danger_now" and flow.role_of("review") == "summary"
    assert set(load_flow("intake").roles) == set(flow.roles)
    with pytest.raises(ValueError, match="role"):
        data = yaml.safe_load((FLOW_DIR / "intake.yaml").read_text(encoding="utf-8"))
        data["nodes"]["for_whom"]["role"] = "safety"
        Flow.model_validate(data)


async def _console_view(running: Any, case_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    async with counsellor_client(running, "sato") as c:
        queue = (await c.get("/api/queue")).json()
        item = next(i for i in queue["waiting"] if i["case_id"] == case_id)
        assert (await c.post(f"/api/conversations/{item['id']}/claim")).status_code == 200  # need-to-know
        read = (await c.get(f"/api/conversations/{item['id']}")).json()
        case = (await c.get(f"/api/cases/{case_id}")).json()
    return item, {"read": read, "case": case}


async def test_a_renamed_flow_runs_the_web_chat_intake_face_sheet_and_console(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, profiles_dir=profiles_with(tmp_path), profile="renamed-ward")
    async for running in start_app(settings):
        _session, reply = await run_intake(running.client)
        assert reply["conversation_status"] == "waiting" and reply["state"] == "passed_on", reply
        assert reply["case_id"]
        item, views = await _console_view(running, reply["case_id"])
        assert item["stage"] == "handed_over" and item["profile_id"] == "renamed-ward"
        face = views["read"]["case"]["face_sheet"]
        assert "派遣の契約が切れて" in face["problem_text"] and face["contact_detail"] == "09012345678"
        assert views["read"]["case"]["face_sheet_labels"]["age_band"] == "40代"
        assert views["case"]["face_sheet"]["contact_method"] == "phone"
        assert {k["kind"] for k in views["read"]["consents"]} == {"use", "share_agencies"}


async def test_a_renamed_flow_runs_the_email_intake(tmp_path: Path, dovecot: Dovecot, smtp_sink: SmtpSink) -> None:
    settings = make_settings(tmp_path, profiles_dir=profiles_with(tmp_path), profile="renamed-ward")
    async with email_app(settings, dovecot, smtp_sink) as running:
        dovecot.deliver(fixture("docomo_iso2022jp.eml"))
        (first,) = await smtp_sink.wait_for(1)
        for expected in ("同意します", "Q1.", "Q4.", "Q11.", "Q13."):  # the form is built by roles
            assert expected in first.text, expected
        dovecot.deliver(reply_to(first, DOCOMO, "同意します。\nQ2: 1\nQ5: 40代\nQ6: 麻布\nQ10: 髙橋\n"))
        second = (await smtp_sink.wait_for(2))[1]
        assert "受付番号" in second.text, second.text
        async with running.ctx.sessions() as s:
            case = (await s.scalars(select(Case))).one()
        assert case.profile_id == "renamed-ward" and "家賃が払えず" in (case.problem_text or "")
        assert case.age_band == "40s" and case.name == "髙橋" and case.contact_method == "this_channel"
        assert case.share_consent == "discuss"
        item, views = await _console_view(running, case.id)
        assert item["stage"] == "handed_over" and views["case"]["face_sheet"]["name"] == "髙橋"
