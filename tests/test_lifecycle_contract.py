"""End of contract (issue 12): `madoguchi export --profile P` writes an AES-256 zip of open
formats, `madoguchi destroy --profile P` leaves no row and no key of the profile and prints a
certificate whose counts match what was there; another profile is untouched."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import re
from pathlib import Path

import pytest
import pyzipper
from typer.testing import CliRunner

from casecore import keys
from casecore.db import transaction
from casecore.models import Case, ContactPoint, IncidentRecord
from handoff.actions.contract import count_profile_rows
from madoguchi.cli import app as cli
from tests.conftest import TEST_SECRET, make_settings, start_app
from tests.helpers import run_intake
from tests.test_lifecycle_retention import _resident

PASSWORD = "correct horse battery staple 港区"


async def _in_app(settings, fn):
    """Run `fn(running)` inside a started app and stop it cleanly."""
    gen = start_app(settings)
    running = await gen.__anext__()
    try:
        return await fn(running)
    finally:
        await gen.aclose()


async def _seed(settings) -> dict[str, int]:
    return await _in_app(settings, _seed_in)


async def _seed_in(running) -> dict[str, int]:
    if True:
        _, reply = await run_intake(running.client)
        other_tokyo = await _resident(running.ctx, "Ana Lima", status="closed")
        osaka = await _resident(running.ctx, "大阪太郎", status="supporting", profile="minato-osaka")
        async with transaction(running.ctx.sessions) as s:
            case = (await s.get(Case, reply["case_id"]))
            s.add(IncidentRecord(profile_id="minato-tokyo", summary="誤送信 1件", data_kinds=["氏名"], resident_count=1,
                                 case_numbers=[case.number], timeline=[]))
        return {"tokyo_case": reply["case_id"], "other_tokyo": other_tokyo, "osaka": osaka}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    settings = make_settings(tmp_path)
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MADOGUCHI_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("MADOGUCHI_EXPORT_PASSWORD", PASSWORD)
    return settings


def test_export_then_destroy_with_a_certificate_whose_counts_match(env, tmp_path: Path) -> None:
    ids = asyncio.run(_seed(env))
    runner = CliRunner()
    out = tmp_path / "handback.zip"
    r = runner.invoke(cli, ["export", "--profile", "minato-tokyo", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "2 residents" in r.output
    with pyzipper.AESZipFile(out) as zf:
        with pytest.raises(RuntimeError):
            zf.read("manifest.json")  # nothing without the password
        zf.setpassword(PASSWORD.encode())
        names = set(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        for name, digest in manifest["files"].items():
            assert hashlib.sha256(zf.read(name)).hexdigest() == digest, name
        residents = [json.loads(zf.read(n)) for n in names if n.startswith("residents/")]
        ledger = list(csv.DictReader(io.StringIO(zf.read("consent_ledger.csv").decode("utf-8-sig"))))
        assert zf.read(next(n for n in names if n.startswith("face_sheets/"))).startswith(b"%PDF")
    assert {c["face_sheet"]["name"] for r_ in residents for c in r_["cases"]} == {"山田花子", "Ana Lima"}
    assert all(r_["resident"]["profile_id"] == "minato-tokyo" for r_ in residents)  # never Osaka's
    assert {row["decision"] for row in ledger} == {"granted"} and len(ledger) >= 3
    assert json.loads(zf_read(out, "incidents.json"))[0]["summary"] == "誤送信 1件"

    async def before(running) -> dict[str, int]:
        async with transaction(running.ctx.sessions) as s:
            return await count_profile_rows(s, "minato-tokyo")

    counts = asyncio.run(_in_app(env, before))
    assert counts["contact_point"] == 2 and counts["case"] == 2 and counts["message"] > 10
    refused = runner.invoke(cli, ["destroy", "--profile", "minato-tokyo", "--by", "x", "--confirm", "minato-osaka"])
    assert refused.exit_code != 0
    cert_path = tmp_path / "certificate.txt"
    r = runner.invoke(cli, ["destroy", "--profile", "minato-tokyo", "--by", "港区 福祉課 田中（立会い）",
                            "--confirm", "minato-tokyo", "--certificate", str(cert_path)])
    assert r.exit_code == 0, r.output
    cert = cert_path.read_text(encoding="utf-8")
    assert "データ消去証明書" in cert and "港区 福祉課 田中" in cert and "残存なし" in cert
    listed = {m[0]: int(m[1]) for m in re.findall(r"^  (\w+): (\d+)$", cert, re.M) if m[0] != "total"}
    assert listed == counts  # what went is what was there
    assert "Residents: 2" in cert and "Data keys destroyed: 2" in cert, cert
    # the spares made ahead for new residents went too, counted apart: they sealed nothing
    spares = re.search(r"Unused spare keys destroyed: (\d+)", cert)
    assert spares and 1 <= int(spares.group(1)) < keys.SPARE_BATCH, cert

    async def after(running) -> None:
        async with transaction(running.ctx.sessions) as s:
            assert await count_profile_rows(s, "minato-tokyo") == {}
            assert await s.get(Case, ids["tokyo_case"]) is None
            osaka = await s.get(ContactPoint, ids["osaka"])
            assert osaka.external_id == "U大阪太郎"  # another municipality's resident still reads
        assert keys.ring().kids("minato-tokyo") == []

    asyncio.run(_in_app(env, after))


def zf_read(path: Path, name: str) -> bytes:
    with pyzipper.AESZipFile(path) as zf:
        zf.setpassword(PASSWORD.encode())
        return zf.read(name)
