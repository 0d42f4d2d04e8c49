"""Migration 0010 on a database with cases from before it: they become findable by name and
phone through the blind index (the backfill), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import text

from casecore import crypto
from casecore.casework.search import digest
from casecore.migrate import upgrade
from tests.conftest import TEST_SECRET
from tests.test_hardening_coded_fields import _exec, empty_database  # noqa: F401  (the fixture)


async def _keys(url: str) -> set[tuple[int, str, str]]:
    from casecore.db import make_engine

    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return {tuple(r) for r in (await conn.execute(text("SELECT case_id, kind, digest FROM casework_search_key")))}
    finally:
        await engine.dispose()


def test_existing_cases_get_search_keys(empty_database: str) -> None:  # noqa: F811
    url = empty_database
    upgrade(url, "0006")
    crypto.configure(crypto.FieldCipher.from_secrets(TEST_SECRET))
    c = crypto.cipher()
    insert_contact = text("INSERT INTO contact_point (id, profile_id, channel, external_id, external_id_index, blocked, created_at) "
                          "VALUES (1, 'minato-tokyo', 'line', 'x', 'x', false, :now)")
    insert_case = text(
        'INSERT INTO "case" (id, number, profile_id, contact_point_id, status, urgent, urgency_reasons, language, channel, '
        "categories, recommended_programmes, name, contact_method, contact_detail, created_at, updated_at) VALUES "
        f"(1, '2026-000001', 'minato-tokyo', 1, 'new', false, '{c.encrypt('[]')}', 'ja', 'line', '{c.encrypt('[]')}', "
        f"'[]', '{c.encrypt('佐藤 一郎')}', 'phone', '{c.encrypt('09011112222')}', :now, :now)")
    asyncio.run(_exec(url, [insert_contact, insert_case], datetime.now(UTC)))
    upgrade(url)
    keys = asyncio.run(_keys(url))
    assert (1, "phone", digest("phone", "09011112222")) in keys
    assert {(1, "name", digest("name", n)) for n in ("佐藤一郎", "佐藤", "一郎")} <= keys
    assert "09011112222" not in str(keys) and "佐藤" not in str(keys)


def test_reindex_after_a_key_rotation(empty_database: str, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The blind index follows the active key: `madoguchi db reindex-cases` after a rotation."""
    import json

    from typer.testing import CliRunner

    from madoguchi.cli import app

    test_existing_cases_get_search_keys(empty_database)
    monkeypatch.setattr(crypto, "_cipher", crypto.cipher())  # the CLI configures its own: restored after
    new_secret = "rotated-secret-key-for-madoguchi-9876543210"
    for k, v in {"MADOGUCHI_DATA_DIR": str(tmp_path), "MADOGUCHI_DATABASE_URL": empty_database,
                 "MADOGUCHI_SECRET_KEY": new_secret, "MADOGUCHI_OLD_SECRET_KEYS": json.dumps([TEST_SECRET])}.items():
        monkeypatch.setenv(k, v)
    result = CliRunner().invoke(app, ["db", "reindex-cases"])
    assert result.exit_code == 0 and "1 cases indexed" in result.output, result.output
    keys = asyncio.run(_keys(empty_database))
    rotated = crypto.FieldCipher.from_secrets(new_secret)
    assert (1, "phone", digest("phone", "09011112222", rotated)) in keys
    assert (1, "phone", digest("phone", "09011112222", crypto.FieldCipher.from_secrets(TEST_SECRET))) not in keys
