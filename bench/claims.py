"""Shared resources a benchmark borrows without trampling on test runs (tests/conftest.py
claims Redis databases 1–15 with keys `madoguchi-tests:db:N` in db 0; a benchmark claims its
database the same way, so a test run never flushes it mid-run, and it never flushes theirs)."""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Iterator


@contextlib.contextmanager
def redis_db(url: str, wait_seconds: float = 120) -> Iterator[str]:
    """Claim a Redis logical database: the one in `url` if it names one (waiting while a test run
    holds it), else any free one of 1–15. Yields the URL with the claimed database, emptied."""
    import redis

    base, _, tail = url.rstrip("/").rpartition("/")
    if not tail.isdigit():  # no database in the URL: redis://host:port
        base, wanted = url.rstrip("/"), None
    else:
        wanted = int(tail)
    admin = redis.Redis.from_url(f"{base}/0")
    me = f"bench-{os.getpid()}@{os.uname().nodename}"
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            for db in ([wanted] if wanted is not None else random.sample(range(1, 16), 15)):
                if admin.set(f"madoguchi-tests:db:{db}", me, nx=True, ex=6 * 3600):
                    claimed = f"{base}/{db}"
                    client = redis.Redis.from_url(claimed)
                    client.flushdb()
                    try:
                        yield claimed
                    finally:
                        client.flushdb()
                        client.close()
                        if admin.get(f"madoguchi-tests:db:{db}") == me.encode():
                            admin.delete(f"madoguchi-tests:db:{db}")
                    return
            if time.monotonic() > deadline:
                raise SystemExit("no free Redis database (keys madoguchi-tests:db:* in db 0)")
            time.sleep(2)
    finally:
        admin.close()
