"""Benchmark: the pure dialog step, and one web chat message end to end (HTTP → router →
dialog → SQLite/PostgreSQL → response). Prints figures; asserts nothing.

    python bench/dialog_and_webchat.py [--intakes 40] [--postgres ADMIN_URL] [--redis URL]

With --postgres, a throw-away database is created through ADMIN_URL and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dialogs.engine import DialogContext, DialogInput, step
from dialogs.profile import ProfileRegistry
from tests.conftest import make_settings, start_app
from tests.helpers import JAPANESE_INTAKE, new_session, send


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def bench_dialog(rounds: int) -> None:
    profile = ProfileRegistry.load("minato-tokyo").default
    ctx = DialogContext(profile=profile, now=datetime(2026, 11, 24, 2, tzinfo=UTC))
    inputs = [DialogInput(kind="follow", language_hint="ja")] + [
        DialogInput(choice=v) if k == "choice" else DialogInput(text=v) for k, v in JAPANESE_INTAKE
    ]
    samples: list[float] = []
    for _ in range(rounds):
        state = None
        for inp in inputs:
            t = time.perf_counter()
            state = step(state, inp, ctx).state
            samples.append((time.perf_counter() - t) * 1e6)
    print(f"dialog step (pure, in process): n={len(samples)} median={statistics.median(samples):.0f} µs "
          f"p95={pct(samples, 95):.0f} µs p99={pct(samples, 99):.0f} µs")


async def bench_webchat(intakes: int, database_url: str | None, redis_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp), database_url=database_url, redis_url=redis_url,
                                 rate_limits_enabled=False)  # a benchmark is a flood on purpose
        async for running in start_app(settings):
            client = running.client
            samples: list[float] = []
            started = time.perf_counter()
            for _ in range(intakes):
                session = await new_session(client, "ja")
                for kind, value in JAPANESE_INTAKE:
                    t = time.perf_counter()
                    await send(client, session, kind, value)
                    samples.append((time.perf_counter() - t) * 1e3)
            wall = time.perf_counter() - started
            label = "PostgreSQL+Redis" if database_url else "SQLite, in-process queue"
            print(f"web chat message end to end ({label}, ASGI in process, sequential): n={len(samples)} "
                  f"median={statistics.median(samples):.2f} ms p95={pct(samples, 95):.2f} ms "
                  f"p99={pct(samples, 99):.2f} ms; {intakes} full intakes in {wall:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--intakes", type=int, default=40)
    ap.add_argument("--postgres", default=None)
    ap.add_argument("--redis", default=None)
    args = ap.parse_args()
    bench_dialog(args.rounds)
    asyncio.run(bench_webchat(args.intakes, None, None))
    if args.postgres:
        asyncio.run(with_scratch_database(args.postgres, args.intakes, args.redis))


async def with_scratch_database(admin_url: str, intakes: int, redis_url: str | None) -> None:
    import uuid

    import asyncpg

    name = f"madoguchi_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await bench_webchat(intakes, f"{admin_url.rsplit('/', 1)[0]}/{name}", redis_url)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    main()
