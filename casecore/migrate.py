"""Schema migrations (Alembic) run from code: `madoguchi db upgrade`, the app's start, tests.

A database already at the head revision is recognised without Alembic: its `alembic_version`
row is compared with the head read from the migration files, so a start-up on a migrated
database neither imports Alembic nor loads its scripts (about 0.7 s of `serve`'s start,
issue 19). Anything else (no table, another revision, a file that does not parse) runs
Alembic as before."""

from __future__ import annotations

import asyncio
import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text

from casecore.db import normalize_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_REVISION = re.compile(r"""^revision\s*(?::\s*str\s*)?=\s*['"]([^'"]+)['"]""", re.MULTILINE)
_DOWN = re.compile(r"""^down_revision\s*(?::[^=]*)?=\s*(None|['"]([^'"]+)['"])""", re.MULTILINE)


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


@cache
def head_revision() -> str | None:
    """The one head of the migration files, or None when it cannot be told for certain (a file
    without a plain `revision = "…"`, a merge, several heads): then Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    files = sorted((MIGRATIONS / "versions").glob("*.py"))
    for path in files:
        source = path.read_text(encoding="utf-8")
        rev, down = _REVISION.findall(source), _DOWN.findall(source)
        if len(rev) != 1 or len(down) != 1:
            return None
        revisions.add(rev[0])
        if down[0][1]:
            parents.add(down[0][1])
    heads = revisions - parents
    return next(iter(heads)) if len(revisions) == len(files) and len(heads) == 1 else None


async def current_revision(url: str) -> str | None:
    """The database's `alembic_version`, or None (no table yet, or more than one row)."""
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(normalize_url(url))
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
    except Exception:  # no table (a new database) or no database yet: Alembic makes them
        return None
    finally:
        await engine.dispose()
    return rows[0] if len(rows) == 1 else None


async def at_head(url: str) -> bool:
    head = head_revision()
    return head is not None and await current_revision(url) == head


def upgrade(url: str, revision: str = "head") -> None:
    """Called off any event loop (Alembic's env.py runs its own)."""
    if revision == "head" and asyncio.run(at_head(url)):
        return
    _alembic_upgrade(url, revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    if revision == "head" and await at_head(url):
        return
    # env.py runs its own event loop, so migrations go to a worker thread.
    await asyncio.to_thread(_alembic_upgrade, url, revision)


def _alembic_upgrade(url: str, revision: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)
