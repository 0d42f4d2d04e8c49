"""Issue 17: coded personal fields of a case (urgency reasons, categories, district, public
assistance) are encrypted at rest; the migration converts existing rows; the monthly report
still counts them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from casecore import crypto
from casecore.db import transaction
from casecore.migrate import upgrade
from casecore.models import Case
from madoguchi.report import monthly_report
from tests.conftest import PG_ADMIN_URL, TEST_SECRET, _pg, postgres_available
from tests.helpers import run_intake
from tests.requirements import require

FIELDS = ("urgency_reasons", "categories", "district", "public_assistance")


async def test_coded_fields_are_ciphertext_in_the_database_and_the_report_still_counts(running) -> None:
    _, reply = await run_intake(running.client)
    async with running.ctx.engine.connect() as conn:
        raw = (await conn.execute(text(
            'SELECT urgency_reasons, categories, district, public_assistance FROM "case" WHERE id = :i'),
            {"i": reply["case_id"]})).one()
    for name, value in zip(FIELDS, raw, strict=True):
        assert isinstance(value, str) and value.startswith("v2."), (name, value)
    assert "麻布" not in "".join(raw) and "debt" not in "".join(raw)
    async with transaction(running.ctx.sessions) as s:
        case = await s.get(Case, reply["case_id"])
        assert case.district == "麻布" and case.categories == ["debt", "job"] and case.public_assistance == "no"
    data = await monthly_report(running.settings, datetime.now(UTC).strftime("%Y-%m"), "minato-tokyo")
    assert data["by_district"] == {"麻布": 1} and data["topics"] == {"debt": 1, "job": 1}


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    require("PostgreSQL", postgres_available(), "127.0.0.1:5432")
    name = f"madoguchi_m_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_the_migration_encrypts_existing_rows(empty_database: str) -> None:
    url = empty_database
    upgrade(url, "0004")  # a database from before the change, with a case in clear
    now = datetime.now(UTC)
    insert_contact = text("INSERT INTO contact_point (id, profile_id, channel, external_id, external_id_index, blocked, created_at) "
                          "VALUES (1, 'minato-tokyo', 'line', 'x', 'x', false, :now)")
    insert_case = text(
        'INSERT INTO "case" (id, number, profile_id, contact_point_id, status, urgent, urgency_reasons, language, channel, '
        "categories, district, public_assistance, recommended_programmes, created_at, updated_at) VALUES "
        "(1, '2026-000001', 'minato-tokyo', 1, 'new', true, '[\"no_shelter\"]', 'ja', 'line', '[\"housing\", \"debt\"]', "
        "'麻布', 'yes', '[]', :now, :now)")
    asyncio.run(_exec(url, [insert_contact, insert_case], now))
    crypto.configure(crypto.FieldCipher.from_secrets(TEST_SECRET))
    upgrade(url)
    raw = asyncio.run(_fetch(url))
    for name, value in zip(FIELDS, raw, strict=True):
        assert isinstance(value, str) and value.startswith("v1."), (name, value)
    c = crypto.cipher()
    assert c.decrypt(raw[0]) == '["no_shelter"]' and c.decrypt(raw[1]) == '["housing","debt"]'
    assert c.decrypt(raw[2]) == "麻布" and c.decrypt(raw[3]) == "yes"


async def _exec(url: str, statements: list, now: datetime) -> None:  # type: ignore[type-arg]
    from casecore.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            for st in statements:
                await conn.execute(st, {"now": now})
    finally:
        await engine.dispose()


async def _fetch(url: str) -> tuple[str, ...]:
    from casecore.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(text(
                'SELECT urgency_reasons, categories, district, public_assistance FROM "case" WHERE id = 1'))).one()
            return tuple(row)
    finally:
        await engine.dispose()
