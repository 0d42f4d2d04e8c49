"""End of contract and upkeep from the command line: `madoguchi export --profile P` (an AES-256
zip of open formats for the municipality), `madoguchi destroy --profile P` (every row and key,
and a destruction certificate), `madoguchi retention run`, `madoguchi keys rotate`."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from casecore.db import make_engine, make_sessionmaker, transaction
from casecore.disclosure import resident_record
from casecore.erasure import profile_contact_points
from casecore.migrate import upgrade_async
from casecore.models import Case, ConsentRecord, IncidentRecord
from dialogs.profile import Profile, ProfileRegistry
from madoguchi.lifecycle.pdf import record_pdf
from madoguchi.settings import Settings

JST = ZoneInfo("Asia/Tokyo")
METHOD = ("rows deleted from the database (SQLite: secure_delete, WAL checkpointed); each resident's "
          "AES-256 data key deleted from the key store (crypto-shredding), so copies in backups and "
          "replicas can no longer be decrypted")


@dataclass
class _Ctx:
    """What actions need of a host, for a one-off command (no channels, no Redis)."""

    settings: Settings
    engine: Any
    sessions: Any
    profiles: ProfileRegistry
    hub: Any


@asynccontextmanager
async def host(settings: Settings) -> AsyncIterator[_Ctx]:
    import casecore.reporting.models  # noqa: F401  (their tables carry profile ids too)
    from handoff.hub import Hub

    settings.configure_crypto()
    await upgrade_async(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    try:
        yield _Ctx(settings, engine, make_sessionmaker(engine),
                   ProfileRegistry.load(settings.profile, settings.profiles_dir), Hub(None))
    finally:
        await engine.dispose()


def _csv(rows: list[dict[str, Any]]) -> bytes:
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")  # BOM: Excel opens Japanese CSV right


async def export_files(ctx: _Ctx, profile: Profile) -> dict[str, bytes]:
    """The archive's files: a JSON record and a PDF face sheet per resident, the consent
    ledger and the case list as CSV, incidents as JSON, and a manifest with checksums."""
    files: dict[str, bytes] = {}
    async with transaction(ctx.sessions) as s:
        for cp_id in await profile_contact_points(s, profile.id):
            record = await resident_record(s, cp_id)
            name = record["cases"][0]["number"] if record["cases"] else f"contact-{cp_id}"
            files[f"residents/{name}.json"] = json.dumps(record, ensure_ascii=False, indent=1).encode()
            if record["cases"]:
                files[f"face_sheets/{name}.pdf"] = record_pdf(record, title=f"フェイスシート（受付番号 {name}）",
                                                              transcript=False)
        ledger = (await s.scalars(select(ConsentRecord).join(Case, Case.id == ConsentRecord.case_id, isouter=True)
                                  .where(ConsentRecord.contact_point_id.in_(await profile_contact_points(s, profile.id)))
                                  .order_by(ConsentRecord.id))).all()
        numbers = dict((await s.execute(select(Case.id, Case.number).where(Case.profile_id == profile.id))).all())
        files["consent_ledger.csv"] = _csv([
            {"case_number": numbers.get(k.case_id, ""), "kind": k.kind, "decision": k.decision,
             "wording_version": k.wording_version, "wording_hash": k.wording_hash, "language": k.language,
             "channel": k.channel, "at": k.at.isoformat()} for k in ledger])
        cases = (await s.scalars(select(Case).where(Case.profile_id == profile.id).order_by(Case.id))).all()
        files["cases.csv"] = _csv([
            {"number": c.number, "status": c.status, "channel": c.channel, "language": c.language,
             "urgent": c.urgent, "created_at": c.created_at.isoformat(), "updated_at": c.updated_at.isoformat()}
            for c in cases])
        from handoff.actions.incidents import view

        incidents = (await s.scalars(select(IncidentRecord).where(IncidentRecord.profile_id == profile.id))).all()
        files["incidents.json"] = json.dumps([view(i) for i in incidents], ensure_ascii=False, indent=1).encode()
    files["manifest.json"] = json.dumps({
        "profile": profile.id, "municipality": profile.municipality.get("ja"), "generated_at": datetime.now(UTC).isoformat(),
        "residents": sum(1 for f in files if f.startswith("residents/")), "cases": len(cases),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }, ensure_ascii=False, indent=1).encode()
    return files


def write_zip(path: Path, files: dict[str, bytes], password: str) -> None:
    import pyzipper

    with pyzipper.AESZipFile(path, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as zf:
        zf.setpassword(password.encode())
        for name, data in files.items():
            zf.writestr(name, data)
    path.chmod(0o600)


def certificate(profile: Profile, result: dict[str, Any], performed_by: str, at: datetime, left: dict[str, int]) -> str:
    rows: dict[str, int] = result["rows"]
    lines = [
        "データ消去証明書 / Certificate of data destruction",
        "",
        f"委託元 / Municipality: {profile.municipality.get('ja')}（{profile.id}）",
        f"実施日時 / When: {at.astimezone(JST):%Y-%m-%d %H:%M:%S} JST ({at.isoformat()})",
        f"実施者 / By: {performed_by}",
        f"方法 / Method: {METHOD}",
        "",
        f"対象者（連絡先）/ Residents: {result['residents']}",
        f"消去した暗号鍵 / Data keys destroyed: {result['keys']}",
        *([f"未使用の暗号鍵（何も暗号化していない予備）/ Unused spare keys destroyed: {result['unused_keys']}"]
          if result.get("unused_keys") else []),
        f"監査記録 / Audit rows: {result['audit_rows']}",
        "消去した行 / Rows deleted, per table:",
        *[f"  {table}: {n}" for table, n in sorted(rows.items())],
        f"  合計 / total: {sum(rows.values()) + result['audit_rows']}",
        "",
        "消去後の確認 / Verified after: " + ("残存なし / nothing left" if not left else json.dumps(left)),
    ]
    return "\n".join(lines) + "\n"
