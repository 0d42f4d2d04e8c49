"""Issue 4, "done when": a full intake in Vietnamese through the web chat ends in a case
whose presenting problem the counsellor reads in Japanese, with the original beside it.
No vi<->ja model exists: the real Translator pivots vi->en->ja through the micro models
(tests/fixtures/argos), installed with `madoguchi translate install`."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Running
from tests.helpers import JAPANESE_INTAKE, login, make_counsellor, run_intake
from tests.requirements import require

FIXTURES = Path(__file__).parent / "fixtures" / "argos"
MICRO = [FIXTURES / f"{p}-micro.argosmodel" for p in ("ja_en", "en_ja", "vi_en", "en_vi")]
HAVE_CT2 = all(importlib.util.find_spec(m) for m in ("ctranslate2", "sentencepiece", "typer"))

pytestmark = pytest.mark.translation

PROBLEM_VI = "Tôi bị mất việc. Tôi không trả được tiền nhà."
PROBLEM_JA = "仕事を失いました。家賃が払えません。"


@pytest.fixture
async def with_translator(running_sqlite: Running, tmp_path: Path) -> AsyncIterator[Running]:
    require("ctranslate2 + sentencepiece", HAVE_CT2)
    require("micro models", all(p.is_file() for p in MICRO), "run make_micro_models.py")
    from typer.testing import CliRunner

    from i18n.translation import build_translator
    from madoguchi.cli_translate import app

    models = tmp_path / "argos"
    result = CliRunner().invoke(app, ["install", *map(str, MICRO), "--models-dir", str(models)])
    assert result.exit_code == 0, result.output
    t = build_translator(models, timeout=30)
    await t.warm()
    previous: Any = running_sqlite.ctx.router.translator
    running_sqlite.ctx.router.translator = t  # what the app does once models are installed
    try:
        yield running_sqlite
    finally:
        running_sqlite.ctx.router.translator = previous
        await t.aclose()


async def test_vietnamese_intake_reaches_the_counsellor_in_japanese(
    with_translator: Running,
) -> None:
    running = with_translator
    steps = [
        ("text", PROBLEM_VI) if kind == "text" and value.startswith("派遣") else (kind, value)
        for kind, value in JAPANESE_INTAKE
    ]
    session, reply = await run_intake(running.client, steps, language="vi")
    assert reply["state"] == "handed_over", reply
    assert reply["case_id"] is not None

    await make_counsellor(running.ctx)
    await login(running.client)
    assert (await running.client.post(f"/api/conversations/{session['session_id']}/claim")).status_code == 200
    case = (await running.client.get(f"/api/cases/{reply['case_id']}")).json()
    problem = [m for m in case["transcript"] if m["direction"] == "in" and m["text"] == PROBLEM_VI]
    assert len(problem) == 1, [m["text"] for m in case["transcript"] if m["direction"] == "in"]
    msg = problem[0]
    assert msg["language"] == "vi"  # the original, in the resident's language
    assert msg["translation"] == PROBLEM_JA  # beside it, the Japanese the counsellor reads
    assert msg["translation_language"] == "ja"
    assert msg["translation_status"] == "translated"
    assert msg["translation_confidence"] is not None and msg["translation_confidence"] >= 0.8
