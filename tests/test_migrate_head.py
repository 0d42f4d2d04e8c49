"""Start-up on a migrated database skips Alembic (casecore.migrate.at_head): the head read from
the migration files must be Alembic's own, and anything short of the head still migrates."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest

from casecore import migrate
from tests.conftest import sqlite_template


def test_the_head_read_from_the_files_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite:///unused.db"))
    assert migrate.head_revision() == script.get_current_head()
    assert len(list((migrate.MIGRATIONS / "versions").glob("*.py"))) == len(list(script.walk_revisions()))


def _downgrade_one(url: str) -> None:
    from alembic import command

    command.downgrade(migrate.alembic_config(url), "-1")


def _sqlite_copy(tmp_path: Path) -> str:
    db = tmp_path / "copy.db"
    shutil.copyfile(sqlite_template(), db)
    return f"sqlite:///{db}"


def test_a_database_at_head_is_not_migrated_again_and_one_behind_is(tmp_path: Path, monkeypatch: Any) -> None:
    url = _sqlite_copy(tmp_path)
    assert asyncio.run(migrate.at_head(url))
    ran: list[str] = []
    real = migrate._alembic_upgrade
    monkeypatch.setattr(migrate, "_alembic_upgrade", lambda u, r: (ran.append(r), real(u, r)))
    migrate.upgrade(url)
    assert ran == []  # at head: Alembic neither imported nor run
    _downgrade_one(url)
    assert not asyncio.run(migrate.at_head(url))
    migrate.upgrade(url)
    assert ran == ["head"] and asyncio.run(migrate.at_head(url))


def test_a_new_database_is_migrated(tmp_path: Path, monkeypatch: Any) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert not asyncio.run(migrate.at_head(url))
    migrate.upgrade(url)
    assert asyncio.run(migrate.at_head(url))
    assert asyncio.run(migrate.current_revision(url)) == migrate.head_revision()


def test_a_migration_file_that_does_not_parse_leaves_the_decision_to_alembic(tmp_path: Path, monkeypatch: Any) -> None:
    fake = tmp_path / "migrations"
    shutil.copytree(migrate.MIGRATIONS / "versions", fake / "versions")
    (fake / "versions" / "0099_odd.py").write_text("revision = make_revision()\ndown_revision = '0015'\n")
    monkeypatch.setattr(migrate, "MIGRATIONS", fake)
    migrate.head_revision.cache_clear()
    try:
        assert migrate.head_revision() is None
        assert not asyncio.run(migrate.at_head(_sqlite_copy(tmp_path)))
    finally:
        monkeypatch.undo()
        migrate.head_revision.cache_clear()


@pytest.mark.postgres
async def test_postgres_at_head_and_behind(pg_database: str) -> None:
    assert await migrate.at_head(pg_database)
    await asyncio.to_thread(_downgrade_one, pg_database)
    assert not await migrate.at_head(pg_database)
    await migrate.upgrade_async(pg_database)  # Alembic runs the last revision again
    assert await migrate.at_head(pg_database)
