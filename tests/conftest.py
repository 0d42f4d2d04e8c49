"""Shared fixtures. The app runs on the embedded default (SQLite, in-process queue) and, for
tests marked with the `stack` parameter, on PostgreSQL + Redis as in production."""

from __future__ import annotations

import asyncio
import atexit
import os
import random
import shutil
import socket
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from casecore.db import sqlite_url_for
from madoguchi.app import create_app
from madoguchi.context import AppContext
from madoguchi.settings import Settings
from tests.requirements import require

PG_ADMIN_URL = os.environ.get("MADOGUCHI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_BASE = os.environ.get("MADOGUCHI_TEST_REDIS", "redis://127.0.0.1:6379")
TEST_SECRET = "test-secret-key-for-madoguchi-0123456789"


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def postgres_available() -> bool:
    return _port_open("127.0.0.1", 5432)


def redis_available() -> bool:
    return _port_open("127.0.0.1", 6379)


async def _pg(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database, cloned for each test (CREATE DATABASE … TEMPLATE)."""
    require("PostgreSQL", postgres_available(), "127.0.0.1:5432")
    from casecore.migrate import upgrade

    name = f"madoguchi_tpl_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    upgrade(f"{base}/{name}")
    yield name
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def pg_database(pg_template: str) -> Iterator[str]:
    """A throw-away PostgreSQL database for one test."""
    name = f"madoguchi_t_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def redis_db() -> Iterator[int]:
    """A Redis logical database (1–15) claimed for this test run, so that two runs on one
    Redis (a developer's and CI's) never flush each other's data. The claim is a key in db 0
    that expires by itself if a run is killed."""
    require("Redis", redis_available(), "127.0.0.1:6379")
    import redis

    admin = redis.Redis.from_url(f"{REDIS_BASE}/0")
    me = f"{os.getpid()}@{os.uname().nodename}"
    deadline = time.monotonic() + 120
    while True:
        for db in random.sample(range(1, 16), 15):
            if admin.set(f"madoguchi-tests:db:{db}", me, nx=True, ex=6 * 3600):
                try:
                    yield db
                finally:
                    if admin.get(f"madoguchi-tests:db:{db}") == me.encode():
                        admin.delete(f"madoguchi-tests:db:{db}")
                    admin.close()
                return
        if time.monotonic() > deadline:
            pytest.fail("every Redis database 1–15 is claimed by other test runs (keys madoguchi-tests:db:* in db 0)")
        time.sleep(2)


@pytest.fixture
def redis_url(redis_db: int) -> Iterator[str]:
    """This run's Redis logical database, emptied before and after each test."""
    import redis

    url = f"{REDIS_BASE}/{redis_db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


# Tests that use these fixtures get the marker, so `-m "not postgres and not redis"` is a
# quick local run on the embedded default alone.
_MARKED_BY_FIXTURE = {"pg_template": "postgres", "pg_database": "postgres", "redis_db": "redis", "redis_url": "redis"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            mark = _MARKED_BY_FIXTURE.get(fixture)
            if mark and not item.get_closest_marker(mark):
                item.add_marker(getattr(pytest.mark, mark))


_template_dir: Path | None = None


def sqlite_template() -> Path:
    """A migrated SQLite database, made once per test session: each app test starts from a
    copy of it instead of running every Alembic revision again (the app's own upgrade at
    start then finds the schema at head)."""
    global _template_dir
    if _template_dir is None:
        from casecore.migrate import upgrade

        directory = Path(tempfile.mkdtemp(prefix="madoguchi-sqlite-tpl-"))
        atexit.register(shutil.rmtree, directory, True)
        # Alembic's env.py runs its own event loop: migrate on a thread, callers may be async.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(upgrade, sqlite_url_for(directory)).result()
        _template_dir = directory
    return _template_dir / "madoguchi.db"


def make_settings(tmp_path: Path, database_url: str | None = None, redis_url: str | None = None, **extra: object) -> Settings:
    if database_url is None:
        data = tmp_path / "data"
        data.mkdir(parents=True, exist_ok=True)
        if not (data / "madoguchi.db").exists():
            shutil.copyfile(sqlite_template(), data / "madoguchi.db")
    return Settings(
        data_dir=tmp_path / "data", database_url=database_url, redis_url=redis_url,
        secret_key=TEST_SECRET, log_json=False, log_level="WARNING", **extra,  # type: ignore[arg-type]
    )


@dataclass
class Running:
    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings

    @property
    def ctx(self) -> AppContext:
        return self.app.state.ctx


async def start_app(settings: Settings) -> AsyncIterator[Running]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield Running(app, client, settings)


@pytest.fixture(params=["sqlite", pytest.param("postgres+redis", marks=[pytest.mark.postgres, pytest.mark.redis])])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for both backends: the embedded default and the production pair."""
    if request.param == "sqlite":
        return make_settings(tmp_path)
    pg = request.getfixturevalue("pg_database")
    redis = request.getfixturevalue("redis_url")
    return make_settings(tmp_path, database_url=pg, redis_url=redis)


@pytest.fixture
async def running(stack: Settings) -> AsyncIterator[Running]:
    async for r in start_app(stack):
        yield r


@pytest.fixture
async def running_sqlite(tmp_path: Path) -> AsyncIterator[Running]:
    async for r in start_app(make_settings(tmp_path)):
        yield r
