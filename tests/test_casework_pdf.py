"""The printable 相談受付票: a PDF of the face sheet with the routing reasons; characters the
font lacks (an emoji in a name) are left out without being written to the log."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from casecore.models import Case
from dialogs.profile import ProfileRegistry
from handoff import casework_views as V
from handoff.casework_pdf import intake_sheet_pdf

P = ProfileRegistry.load("minato-tokyo").default


def test_intake_sheet_pdf_and_no_personal_characters_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    case = Case(number="2026-000123", profile_id=P.id, status="assessing", urgent=True, urgency_reasons=["no_shelter"],
                language="vi", channel="line", for_whom="self", categories=["housing", "homeless"],
                problem_text="Tôi mất việc và không còn chỗ ở 🙏", problem_text_ja="仕事を失い、住む所もなくなりました",
                household="alone", public_assistance="no", residence="staying_here", contact_method="phone",
                contact_detail="08011112222", name="Nguyễn Văn An 🌻", share_consent="granted",
                recommended_programmes=[], created_at=datetime.now(UTC))
    routing = V.routing_view(P, case)
    assert any(r["id"] == "jusho_futei" for r in routing["recommended"])  # ク: no fixed address, in the ward
    with caplog.at_level(logging.DEBUG):
        pdf = intake_sheet_pdf(case, P, routing, {"label": "センターで支援", "at": "2026-12-02T01:00:00+00:00",
                                                  "reason": "住居確保を優先"}, 1)
    assert pdf.startswith(b"%PDF") and len(pdf) > 5_000
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "🌻" not in logged and "🙏" not in logged and "Nguyễn" not in logged
