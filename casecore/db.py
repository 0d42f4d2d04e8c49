"""Engine and session factory: SQLite (embedded default) or PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

import casecore.residents  # noqa: F401  (registers the flush hook that seals rows per resident)
from casecore import sqlite_driver
from casecore.writer import writer_groups


def normalize_url(url: str) -> str:
    """Accept the usual URL spellings and pick the async driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite:///") and not url.startswith("sqlite+aiosqlite"):
        url = "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


def sqlite_url_for(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'madoguchi.db'}"


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        # One thread round trip per statement instead of four (casecore.sqlite_driver).
        url = url.replace("sqlite+aiosqlite://", f"sqlite+{sqlite_driver.DRIVER}://", 1)
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # Deleted rows are overwritten, not left in free pages (an erased resident's ciphertext)
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        return engine
    # hide_parameters: an error's message (and any traceback) never carries the bound values.
    # No pre-ping: it cost a round trip per transaction (two per inbound event). A connection
    # broken by a database restart fails its first use and is dropped from the pool (the inbox
    # consumer retries that event once: handoff.queue); pool_recycle bounds a connection's age.
    return create_async_engine(url, pool_pre_ping=False, pool_recycle=1800, pool_size=10, max_overflow=10,
                               hide_parameters=True, **kwargs)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any error."""
    async with sessions() as session, session.begin():
        yield session


def writer_turn(sessions: async_sessionmaker[AsyncSession]) -> AbstractAsyncContextManager[object]:
    """On SQLite, one writing transaction of this process at a time, waiting its turn on the
    event loop (casecore.writer: an open write group is committed first): SQLite has one
    writer, and a second one used to wait in SQLite's busy handler, which sleeps 1 to 100 ms
    between tries while holding nothing but its thread. Elsewhere nothing."""
    groups = writer_groups(sessions)
    return contextlib.nullcontext() if groups is None else groups.alone()
