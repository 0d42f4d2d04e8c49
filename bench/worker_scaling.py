"""`madoguchi worker` scaling on PostgreSQL + Redis: one worker against two, same run.

    PYTHONPATH=$PWD python3 bench/worker_scaling.py --postgres postgresql://postgres@127.0.0.1:5432/test \
        --redis redis://127.0.0.1:6379 --events 600 --rounds 3

Why this shape: measured through the webhook while it is also being loaded, workers compete with
the web process and the load generator for the same cores, so the figure says more about the
machine than about the workers. Here, in each round and for 1 then 2 workers (interleaved):

1. the workers are started and left to settle until the shard leases are balanced (each holds its
   fair share: the bench fails the round if not), then stopped with SIGSTOP;
2. `--events` LINE events (`--per-resident` messages from each of a fresh set of residents) are
   acknowledged through the real webhook (`MADOGUCHI_INBOX_IN_WEB=false`: the web only enqueues);
3. the workers are resumed (SIGCONT) and the time to the LINE stand-in's receipt of the last
   reply is the figure (events/s), so worker start-up and the acks are not in it.

It prints events/s per round, the median 2-worker / 1-worker ratio, and CPU time per event of the
workers, of this database's PostgreSQL backends and of Redis (shared by other users: indicative),
with the machine's load average. `--profile DIR` runs the workers under cProfile (one file each).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import redis as redis_sync
from claims import redis_db as claimed_redis
from loadgen import closed_loop
from webhook import (
    ROOT,
    SECRET,
    TOKEN,
    Events,
    _get_json,
    drop_postgres,
    free_port,
    prepare_postgres,
    start,
    uvicorn_cmd,
    wait_healthy,
)

SHARDS = 8
TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def pg_backends(admin_url: str, database: str) -> list[int]:
    import asyncpg

    async def q() -> list[int]:
        conn = await asyncpg.connect(admin_url)
        try:
            return [r["pid"] for r in await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)]
        finally:
            await conn.close()

    return asyncio.run(q())


def redis_cpu(r: redis_sync.Redis) -> float:
    info = r.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def lease_owners(r: redis_sync.Redis) -> dict[int, str]:
    owners = {}
    for shard in range(SHARDS):
        v = r.get(f"madoguchi:inbox:lease:{shard}")
        if v is not None:
            owners[shard] = v.decode()
    return owners


def wait_balanced(r: redis_sync.Redis, workers: list[subprocess.Popen[bytes]], seconds: float = 60) -> dict[int, int]:
    """Until every shard is leased and each worker holds its fair share; returns pid → shards."""
    pids = [w.pid for w in workers]
    share = math.ceil(SHARDS / len(pids))
    deadline = time.time() + seconds
    counts: dict[int, int] = {}
    while time.time() < deadline:
        if any(w.poll() is not None for w in workers):
            raise SystemExit(f"a worker exited: {[w.poll() for w in workers]}")
        owners = lease_owners(r)
        counts = {pid: 0 for pid in pids}
        for owner in owners.values():
            pid = int(owner.split(":")[1])
            counts[pid] = counts.get(pid, 0) + 1
        if len(owners) == SHARDS and all(0 < c <= share for c in counts.values()):
            return counts
        time.sleep(0.2)
    raise SystemExit(f"leases not balanced after {seconds} s: {counts}; owners {lease_owners(r)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, help="admin URL; a fresh perfpg_ database is created")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379", help="claimed as tests do; flushed")
    parser.add_argument("--events", type=int, default=600, help="events per round and worker count")
    parser.add_argument("--per-resident", type=int, default=2, help="messages from each fresh resident")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=300.0)
    parser.add_argument("--profile", help="directory: run the workers under cProfile")
    args = parser.parse_args()

    sink_port, app_port = free_port(), free_port()
    sink = f"http://127.0.0.1:{sink_port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MADOGUCHI_DATA_DIR": tempfile.mkdtemp(prefix="madoguchi-bench-"),
           "MADOGUCHI_SECRET_KEY": secrets.token_urlsafe(32), "MADOGUCHI_LINE_CHANNEL_SECRET": SECRET,
           "MADOGUCHI_LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "MADOGUCHI_LINE_API_BASE_URL": sink,
           "MADOGUCHI_LOG_LEVEL": "ERROR", "MADOGUCHI_TRANSLATION_ENABLED": "false",
           "MADOGUCHI_INBOX_MAX_PENDING": "100000", "MADOGUCHI_INBOX_IN_WEB": "false"}
    env["MADOGUCHI_DATABASE_URL"] = prepare_postgres(args.postgres)
    database = env["MADOGUCHI_DATABASE_URL"].rsplit("/", 1)[1]
    procs: list[subprocess.Popen[bytes]] = []
    results: dict[int, list[dict[str, float]]] = {1: [], 2: []}
    try:
        with claimed_redis(args.redis) as redis_url:
            env["MADOGUCHI_REDIS_URL"] = redis_url
            r = redis_sync.Redis.from_url(redis_url)
            procs.append(start([sys.executable, str(ROOT / "bench" / "line_sink.py"), "--port", str(sink_port)], env, None))
            subprocess.run([sys.executable, "-m", "madoguchi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL)
            app = start(uvicorn_cmd("madoguchi.app:create_app", app_port), env, None)
            procs.append(app)
            wait_healthy(f"http://127.0.0.1:{app_port}/healthz", app)
            events = Events(app_port)
            for rnd in range(1, args.rounds + 1):
                for k in (1, 2):
                    res = one_round(args, env, r, events, app_port, sink, database, k, rnd)
                    results[k].append(res)
                    print(f"round {rnd}, {k} worker(s): {res['events']:.0f} events in {res['seconds']:.1f} s = "
                          f"{res['rate']:.1f} events/s ({res['pushed']:.0f} pushed past the reply window); leases {res['leases']}; CPU ms/event: workers "
                          f"{res['worker_ms']:.1f}, PostgreSQL {res['pg_ms']:.1f}, Redis {res['redis_ms']:.1f}; "
                          f"load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        drop_postgres(args.postgres, env["MADOGUCHI_DATABASE_URL"])
    one = statistics.median(x["rate"] for x in results[1])
    two = statistics.median(x["rate"] for x in results[2])
    ratios = [b["rate"] / a["rate"] for a, b in zip(results[1], results[2], strict=True)]
    print(f"median: 1 worker {one:.1f} events/s, 2 workers {two:.1f} events/s; scaling {statistics.median(ratios):.2f} × "
          f"(rounds: {', '.join(f'{x:.2f}' for x in ratios)}); CPU ms/event (1 → 2 workers): workers "
          f"{statistics.median(x['worker_ms'] for x in results[1]):.1f} → {statistics.median(x['worker_ms'] for x in results[2]):.1f}, "
          f"PostgreSQL {statistics.median(x['pg_ms'] for x in results[1]):.1f} → {statistics.median(x['pg_ms'] for x in results[2]):.1f}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")


def warm_up(events: Events, app_port: int, sink: str, n: int, first_resident: int, max_seconds: float) -> None:
    warm, tokens = events.make(n, n, first_resident=first_resident)
    asyncio.run(closed_loop("127.0.0.1", app_port, warm, 4, max_seconds))
    deadline = time.time() + max_seconds
    while time.time() < deadline:
        if sum(1 for t in tokens if t in _get_json(f"{sink}/tokens")["tokens"]) >= len(tokens):
            return
        time.sleep(0.2)


def one_round(args: argparse.Namespace, env: dict[str, str], r: redis_sync.Redis, events: Events, app_port: int,
              sink: str, database: str, k: int, rnd: int) -> dict[str, float]:
    workers = []
    for i in range(k):
        cmd = [sys.executable, "-m", "madoguchi", "worker"]
        if args.profile:
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            cmd = [sys.executable, "-m", "cProfile", "-o", f"{args.profile}/r{rnd}-k{k}-w{i}.prof", "-m", "madoguchi", "worker"]
        workers.append(start(cmd, env, None))
    try:
        leases = wait_balanced(r, workers)
        # Warm up (a long-lived worker has its models loaded and its pools filled): a few
        # events per worker, answered before the measured ones are queued.
        warm_up(events, app_port, sink, 12 * k, 900_000 + 10_000 * (2 * rnd + k), args.max_seconds)
        for w in workers:
            os.kill(w.pid, signal.SIGSTOP)
        residents = max(1, args.events // args.per_resident)
        raws, tokens = events.make(args.events, residents, first_resident=10_000 * (2 * rnd + k))  # fresh ones
        ack = asyncio.run(closed_loop("127.0.0.1", app_port, raws, 16, args.max_seconds))
        if ack.non_200:
            raise SystemExit(f"{ack.non_200} webhooks not acknowledged")
        backends = pg_backends(args.postgres, database)
        cpu0 = {w.pid: proc_cpu(w.pid) for w in workers}
        pg0 = sum(proc_cpu(p) for p in backends)
        rc0 = redis_cpu(r)
        t0 = time.time()
        for w in workers:
            os.kill(w.pid, signal.SIGCONT)
        # An answer is a reply (token matched) or, once the reply token is past its window
        # (an event waiting over 50 s), a push: both count, the push by the sink's tally.
        pushes0 = _get_json(f"{sink}/tokens")["counts"]["push"]
        want = set(tokens)
        answered, state = 0, {}
        while time.time() < t0 + args.max_seconds:
            state = _get_json(f"{sink}/tokens")
            answered = sum(1 for t in state["tokens"] if t in want) + state["counts"]["push"] - pushes0
            if answered >= len(want):
                break
            time.sleep(0.1)
        if answered < len(want):
            raise SystemExit(f"only {answered} of {len(want)} answered within {args.max_seconds} s")
        seconds = state["last_at"] - t0
        pushed = state["counts"]["push"] - pushes0
        backends = set(backends) | set(pg_backends(args.postgres, database))
        worker_cpu = sum(proc_cpu(w.pid) - cpu0[w.pid] for w in workers)
        pg_cpu = sum(proc_cpu(p) for p in backends) - pg0
        rc = redis_cpu(r) - rc0
        n = len(tokens)
        return {"events": n, "seconds": seconds, "rate": n / seconds, "worker_ms": worker_cpu / n * 1000,
                "pg_ms": pg_cpu / n * 1000, "redis_ms": rc / n * 1000,
                "pushed": pushed, "leases": "/".join(str(c) for c in leases.values())}  # type: ignore[dict-item]
    finally:
        for w in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(w.pid, signal.SIGCONT)
                w.send_signal(signal.SIGINT if args.profile else signal.SIGTERM)
        for w in workers:
            try:
                w.wait(timeout=30)
            except subprocess.TimeoutExpired:
                w.kill()


if __name__ == "__main__":
    main()
