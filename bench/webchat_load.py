"""Web chat under load: concurrent residents doing full intakes over real HTTP keep-alive.

    PYTHONPATH=$PWD python3 bench/webchat_load.py                       # embedded SQLite
    PYTHONPATH=$PWD python3 bench/webchat_load.py --postgres postgresql://postgres@127.0.0.1:5432/test \
        --redis redis://127.0.0.1:6379                                   # PostgreSQL + Redis

What runs: the service (`uvicorn madoguchi.app:create_app`, every middleware, flood limits on)
and a bare FastAPI endpoint on CPU 0, this generator on CPU 1. Each of `--residents` simulated
residents holds one keep-alive connection (raw asyncio sockets, as bench/loadgen.py) and does
the intake the tests do (tests/helpers.py JAPANESE_INTAKE: start a session, then 18 answers),
in two modes:

- think: a seeded random pause of `--think-min`–`--think-max` seconds before each message
  (people read and type), so the service sees realistic concurrency;
- closed: no pause (each resident sends its next message as soon as the answer came): the
  service's saturation.

Each round measures the bare endpoint with the same connections first (if the generator were
the bottleneck it would show there), then think, then closed. It prints p50/p95/p99 per message
(session starts counted apart) and intakes per minute, per round and the median of the rounds,
with the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from claims import redis_db as claimed_redis
from loadgen import pin
from webhook import (
    ROOT,
    drop_postgres,
    free_port,
    prepare_postgres,
    start,
    uvicorn_cmd,
    wait_healthy,
)

INTAKE: list[tuple[str, str]] = [  # tests/helpers.py JAPANESE_INTAKE (kept in step by hand)
    ("choice", "agree"), ("choice", "none"), ("choice", "self"),
    ("choice", "debt"), ("choice", "job"), ("choice", "done"),
    ("text", "派遣の契約が切れて、家賃とカードの支払いができません。山田花子です。"),
    ("choice", "40s"), ("choice", "麻布"), ("choice", "alone"), ("choice", "no"), ("choice", "lives_here"),
    ("text", "山田花子"), ("choice", "phone"), ("text", "090-1234-5678"), ("choice", "afternoon"),
    ("choice", "yes"), ("choice", "confirm"),
]


class Conn:
    """One keep-alive HTTP/1.1 connection: pre-encoded requests, answers read as bytes."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: dict[str, object], token: str | None = None) -> tuple[int, bytes]:
        assert self.reader is not None and self.writer is not None
        raw = json.dumps(body, ensure_ascii=False).encode()
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Content-Type: application/json",
                f"Content-Length: {len(raw)}", "Connection: keep-alive"]
        if token:
            head.append(f"Authorization: Bearer {token}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + raw)
        answer = await self.reader.readuntil(b"\r\n\r\n")
        status = int(answer[9:12])
        length = 0
        for line in answer.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, (await self.reader.readexactly(length) if length else b"")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class Stats:
    def __init__(self) -> None:
        self.messages: list[float] = []
        self.starts: list[float] = []
        self.errors: dict[int, int] = {}
        self.intakes = 0
        self.wall = 0.0

    def pct(self, p: float) -> float:
        xs = sorted(self.messages)
        return xs[min(len(xs) - 1, int(len(xs) * p / 100))] * 1000 if xs else float("nan")

    def line(self) -> str:
        return (f"messages n={len(self.messages)} p50 {self.pct(50):.1f} ms p95 {self.pct(95):.1f} ms "
                f"p99 {self.pct(99):.1f} ms | session start p50 "
                f"{(statistics.median(self.starts) * 1000 if self.starts else float('nan')):.1f} ms | "
                f"{self.intakes} intakes, {self.intakes / self.wall * 60:.0f} intakes/min | errors {self.errors or 0}")


def ratio(bare_stats: Stats, st: Stats) -> str:
    """The bare endpoint's latency over the web chat's in the same round, as issue 19 states it
    (1 × would be as fast as the bare endpoint on the same generator and connections)."""
    return f"ratio bare/webchat: p50 {bare_stats.pct(50) / st.pct(50):.2f} ×, p95 {bare_stats.pct(95) / st.pct(95):.2f} ×"


async def intakes(port: int, residents: int, think: tuple[float, float] | None, seed: int) -> Stats:
    stats = Stats()
    rng = random.Random(seed)
    pauses = [[rng.uniform(*think) if think else 0.0 for _ in range(len(INTAKE) + 1)] for _ in range(residents)]
    loop = asyncio.get_running_loop()

    async def resident(i: int) -> None:
        conn = Conn("127.0.0.1", port)
        await conn.open()
        try:
            await asyncio.sleep(pauses[i][0] * rng.random() if think else 0)  # stagger the arrivals
            t0 = loop.time()
            status, body = await conn.post("/api/webchat/sessions", {"language": "ja"})
            stats.starts.append(loop.time() - t0)
            if status != 201:
                stats.errors[status] = stats.errors.get(status, 0) + 1
                return
            session = json.loads(body)
            path = f"/api/webchat/sessions/{session['session_id']}/messages"
            for n, (kind, value) in enumerate(INTAKE, 1):
                if think:
                    await asyncio.sleep(pauses[i][n])
                t0 = loop.time()
                status, body = await conn.post(path, {kind: value, "client_message_id": uuid.uuid4().hex},
                                               session["token"])
                stats.messages.append(loop.time() - t0)
                if status != 200:
                    stats.errors[status] = stats.errors.get(status, 0) + 1
                    return
            if json.loads(body).get("state") == "handed_over":
                stats.intakes += 1
            else:
                stats.errors[-1] = stats.errors.get(-1, 0) + 1  # finished but not handed over
        finally:
            conn.close()

    started = loop.time()
    await asyncio.gather(*(resident(i) for i in range(residents)))
    stats.wall = loop.time() - started
    return stats


async def bare(port: int, connections: int, requests: int) -> Stats:
    """The same generator against a bare endpoint: requests/s and latency floor."""
    stats = Stats()
    conns = [Conn("127.0.0.1", port) for _ in range(connections)]
    for c in conns:
        await c.open()
    loop = asyncio.get_running_loop()
    left = requests

    async def run(c: Conn) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            t0 = loop.time()
            await c.post("/bare", {"text": "派遣の契約が切れて", "client_message_id": uuid.uuid4().hex})
            stats.messages.append(loop.time() - t0)

    started = loop.time()
    await asyncio.gather(*(run(c) for c in conns))
    stats.wall = loop.time() - started
    for c in conns:
        c.close()
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--think-min", type=float, default=1.0)
    parser.add_argument("--think-max", type=float, default=4.0)
    parser.add_argument("--modes", default="think,closed")
    parser.add_argument("--postgres", help="admin URL; a fresh perfpg_ database is created")
    parser.add_argument("--redis", help="Redis URL; its database is claimed as tests do and flushed")
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()

    gen_cpu, srv_cpu = (1, 0) if (os.cpu_count() or 1) >= 2 else (None, None)
    pinned = pin(gen_cpu)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MADOGUCHI_DATA_DIR": tempfile.mkdtemp(prefix="madoguchi-bench-"),
           "MADOGUCHI_SECRET_KEY": secrets.token_urlsafe(32), "MADOGUCHI_LOG_LEVEL": "ERROR",
           "MADOGUCHI_TRANSLATION_ENABLED": "false"}
    if args.postgres:
        env["MADOGUCHI_DATABASE_URL"] = prepare_postgres(args.postgres)
    procs: list[subprocess.Popen[bytes]] = []
    results: dict[str, list[Stats]] = {m: [] for m in ["bare", *args.modes.split(",")]}
    try:
        with contextlib.ExitStack() as claims:
            if args.redis:
                env["MADOGUCHI_REDIS_URL"] = claims.enter_context(claimed_redis(args.redis))
            app_port, bare_port = free_port(), free_port()
            if args.postgres:
                subprocess.run([sys.executable, "-m", "madoguchi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                               stdout=subprocess.DEVNULL)
            procs.append(start(uvicorn_cmd("bench.webhook:bare_app", bare_port), env, srv_cpu))
            app = start(uvicorn_cmd("madoguchi.app:create_app", app_port), env, srv_cpu)
            procs.append(app)
            wait_healthy(f"http://127.0.0.1:{app_port}/healthz", app)
            wait_healthy(f"http://127.0.0.1:{bare_port}/healthz", procs[0])
            asyncio.run(intakes(app_port, 5, None, 0))  # warm-up
            for rnd in range(1, args.rounds + 1):
                b = asyncio.run(bare(bare_port, args.residents, 50 * len(INTAKE)))
                results["bare"].append(b)
                print(f"round {rnd} bare:   {len(b.messages) / b.wall:.0f} req/s, p50 {b.pct(50):.1f} ms "
                      f"p95 {b.pct(95):.1f} ms p99 {b.pct(99):.1f} ms", flush=True)
                for mode in args.modes.split(","):
                    think = (args.think_min, args.think_max) if mode == "think" else None
                    st = asyncio.run(intakes(app_port, args.residents, think, args.seed + rnd))
                    results[mode].append(st)
                    print(f"round {rnd} {mode:<7} {st.line()}; {ratio(b, st)}; load {os.getloadavg()[0]:.1f}",
                          flush=True)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        if args.postgres:
            drop_postgres(args.postgres, env["MADOGUCHI_DATABASE_URL"])
    store = "PostgreSQL + Redis" if args.postgres else "embedded SQLite"
    print(f"web chat load: {store}, {args.residents} residents, think {args.think_min}–{args.think_max} s, "
          f"{os.cpu_count()} CPUs (service on CPU {srv_cpu}, generator {pinned}), load average "
          f"{os.getloadavg()[0]:.1f} at the end; median of {args.rounds} rounds:")
    b = results["bare"]
    print(f"  bare endpoint, same connections: {statistics.median(len(x.messages) / x.wall for x in b):.0f} req/s, "
          f"p50 {statistics.median(x.pct(50) for x in b):.1f} ms")
    for mode in args.modes.split(","):
        rs = results[mode]
        print(f"  {mode:<7} message p50 {statistics.median(x.pct(50) for x in rs):.1f} ms, "
              f"p95 {statistics.median(x.pct(95) for x in rs):.1f} ms, p99 {statistics.median(x.pct(99) for x in rs):.1f} ms; "
              f"{statistics.median(x.intakes / x.wall * 60 for x in rs):.0f} intakes/min "
              f"(errors: {[x.errors for x in rs if x.errors] or 'none'}); median ratio bare/webchat, same round: "
              f"p50 {statistics.median(y.pct(50) / x.pct(50) for x, y in zip(rs, b, strict=True)):.2f} ×, "
              f"p95 {statistics.median(y.pct(95) / x.pct(95) for x, y in zip(rs, b, strict=True)):.2f} ×")


if __name__ == "__main__":
    main()
