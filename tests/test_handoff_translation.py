"""A live conversation in two languages with the real offline translator (the micro ja<->en
Argos models of tests/fixtures/argos): the counsellor writes Japanese, the English-speaking
resident reads English marked machine translated; the resident's English reaches the console
with its Japanese translation; the transcript keeps both sides, originals and translations."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Running
from tests.handoff_helpers import counsellor_client, resident_messages, waiting_in_english
from tests.helpers import send
from tests.requirements import require

FIXTURES = Path(__file__).parent / "fixtures" / "argos"
MICRO = [FIXTURES / "ja_en-micro.argosmodel", FIXTURES / "en_ja-micro.argosmodel"]
HAVE_CT2 = all(importlib.util.find_spec(m) for m in ("ctranslate2", "sentencepiece", "typer"))

pytestmark = pytest.mark.translation


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("micro") / "argos"
    if not HAVE_CT2 or not all(p.is_file() for p in MICRO):
        return d
    from typer.testing import CliRunner

    from madoguchi.cli_translate import app

    result = CliRunner().invoke(app, ["install", *map(str, MICRO), "--models-dir", str(d)])
    assert result.exit_code == 0, result.output
    return d


@pytest.fixture
async def with_translator(running_sqlite: Running, models_dir: Path) -> AsyncIterator[Running]:
    require("ctranslate2 + sentencepiece", HAVE_CT2)
    require("micro models", all(p.is_file() for p in MICRO), "run tests/fixtures/argos/make_micro_models.py")
    from i18n.translation import build_translator

    t = build_translator(models_dir, timeout=30)
    previous: Any = running_sqlite.ctx.router.translator
    running_sqlite.ctx.router.translator = t  # what the app does once models are installed
    try:
        yield running_sqlite
    finally:
        running_sqlite.ctx.router.translator = previous
        await t.aclose()


async def test_live_conversation_in_japanese_and_english(with_translator: Running) -> None:
    running = with_translator
    client = running.client
    async with counsellor_client(running, "sato") as sato:
        session = await waiting_in_english(client)
        cid = session["session_id"]
        assert (await sato.post(f"/api/conversations/{cid}/claim")).status_code == 200

        r = await sato.post(f"/api/conversations/{cid}/messages", json={"text": "ご相談ありがとうございます。"})
        assert r.status_code == 201, r.text
        m = r.json()["message"]
        assert (m["text"], m["translation"], m["translation_status"]) == (
            "ご相談ありがとうございます。", "Thank you for contacting us.", "translated")

        reply = await send(client, session, "text", "I lost my job.")
        assert reply["messages"] == []

        seen = [x for x in (await resident_messages(client, session))["messages"] if x["sender"] == "counsellor"]
        assert [(x["text"], x["machine_translated"]) for x in seen] == [("Thank you for contacting us.", True)]

        t = (await sato.get(f"/api/conversations/{cid}")).json()
        rows = {(x["sender"], x["text"]): x for x in t["transcript"]}
        resident = rows[("resident", "I lost my job.")]
        assert (resident["translation"], resident["translation_language"]) == ("仕事を失いました。", "ja")
        counsellor = rows[("counsellor", "ご相談ありがとうございます。")]
        assert counsellor["translation"] == "Thank you for contacting us." and counsellor["translation_language"] == "en"
        assert t["translation_available"] is True
