"""Delay from a resident's message to the counsellor console, across app processes.

Starts several uvicorn processes of the real app sharing one PostgreSQL database and Redis on
loopback. Residents write to process A (POST /api/webchat/sessions/{id}/messages); the
counsellor's console WebSocket is connected to process B; the conversations were claimed
through process C. For each message: the time from sending the POST to the console receiving
it (hub over Redis pub/sub → B → database read → socket). Also: from a resident asking for a
person to the console's queue update. Prints p50/p95/max. Bounded in count and time.

    python bench/handoff_latency.py [--messages 200] [--residents 5] [--processes 3]

Needs PostgreSQL (postgres@127.0.0.1:5432, trust) and Redis (127.0.0.1:6379).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import websockets

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get("MADOGUCHI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("MADOGUCHI_BENCH_REDIS", "redis://127.0.0.1:6379/15")
SECRET = "bench-secret-key-for-madoguchi-0123456789"
PASSWORD = "bench password 0123"
TIME_LIMIT = 180.0  # seconds for the whole run, whatever the arguments


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def report(name: str, values_s: list[float]) -> None:
    ms = [v * 1000 for v in values_s]
    print(f"{name:<44} n={len(ms):<4} p50={pct(ms, 50):7.1f} ms  p95={pct(ms, 95):7.1f} ms  "
          f"max={max(ms):7.1f} ms  mean={statistics.fmean(ms):7.1f} ms")


async def admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def prepare(db_url: str) -> None:
    """Migrate once (so the processes do not race on it) and create the counsellor."""
    sys.path.insert(0, str(ROOT))
    from casecore import crypto, staff
    from casecore.db import make_engine, make_sessionmaker, transaction
    from casecore.migrate import upgrade_async

    crypto.configure(crypto.FieldCipher.from_secrets(SECRET, []))
    await upgrade_async(db_url)
    engine = make_engine(db_url)
    async with transaction(make_sessionmaker(engine)) as s:
        await staff.create_counsellor(s, "bench", PASSWORD, "counsellor", display_name="bench")
    await engine.dispose()


def start_process(port: int, env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    log = (log_dir / f"app-{port}.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "madoguchi.app:create_app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


async def wait_healthy(url: str, deadline: float) -> None:
    async with httpx.AsyncClient() as c:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await c.get(url + "/healthz")).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not start; see its log")
            await asyncio.sleep(0.2)


async def _read_console(ws: Any, arrivals: dict[str, float], queue_events: dict[int, float],
                        watching: set[int]) -> None:
    """When each resident message, queue change and watch confirmation reached the console."""
    async for raw in ws:
        now = time.perf_counter()
        e = json.loads(raw)
        if e["type"] == "messages":
            for m in e["messages"]:
                if m["sender"] == "resident" and m["text"]:
                    arrivals.setdefault(m["text"], now)
        elif e["type"] == "queue_changed" and e.get("conversation_id") is not None:
            queue_events.setdefault(int(e["conversation_id"]), now)
        elif e["type"] == "watching":
            watching.add(int(e["conversation_id"]))


async def until(cond: Any, limit: float = 5.0) -> bool:
    end = time.perf_counter() + limit
    while not cond():
        if time.perf_counter() > end:
            return False
        await asyncio.sleep(0.001)
    return True


async def run(args: argparse.Namespace, urls: list[str]) -> None:
    a, b, c = urls[0], urls[1 % len(urls)], urls[2 % len(urls)]
    deadline = time.monotonic() + TIME_LIMIT
    async with httpx.AsyncClient(timeout=10) as http:
        r = await http.post(b + "/api/auth/login", json={"login": "bench", "password": PASSWORD})
        r.raise_for_status()
        cookie = r.cookies["madoguchi_session"]
        ws_url = b.replace("http://", "ws://") + "/api/console/ws"
        async with websockets.connect(ws_url, additional_headers={"Cookie": f"madoguchi_session={cookie}"}) as ws:
            assert json.loads(await ws.recv())["type"] == "hello"
            arrivals: dict[str, float] = {}
            queue_events: dict[int, float] = {}
            watching: set[int] = set()

            read_task = asyncio.create_task(_read_console(ws, arrivals, queue_events, watching))

            residents: list[tuple[int, dict[str, str]]] = []
            queue_delays: list[float] = []
            for _ in range(args.residents):
                s = (await http.post(a + "/api/webchat/sessions", json={"language": "en"})).json()
                headers = {"Authorization": f"Bearer {s['token']}"}
                t0 = time.perf_counter()
                r = await http.post(f"{a}/api/webchat/sessions/{s['session_id']}/messages", json={"choice": "human"}, headers=headers)
                assert r.json()["conversation_status"] == "waiting", r.text
                if await until(lambda sid=s["session_id"]: sid in queue_events):
                    queue_delays.append(queue_events[s["session_id"]] - t0)
                r = await http.post(f"{c}/api/conversations/{s['session_id']}/claim", cookies={"madoguchi_session": cookie})
                r.raise_for_status()
                await ws.send(json.dumps({"action": "watch", "conversation_id": s["session_id"]}))
                assert await until(lambda sid=s["session_id"]: sid in watching), "watch not confirmed"
                residents.append((s["session_id"], headers))

            delays: list[float] = []
            post_times: list[float] = []
            lost = 0
            for i in range(args.messages):
                if time.monotonic() > deadline:
                    print(f"time limit reached after {i} messages")
                    break
                sid, headers = residents[i % len(residents)]
                text = f"bench message {i} {uuid.uuid4().hex[:8]} — 家賃が払えません 🙏"
                t0 = time.perf_counter()
                r = await http.post(f"{a}/api/webchat/sessions/{sid}/messages", json={"text": text}, headers=headers)
                post_times.append(time.perf_counter() - t0)
                assert r.status_code == 200 and r.json()["messages"] == [], r.text
                if await until(lambda text=text: text in arrivals):
                    delays.append(arrivals[text] - t0)
                else:
                    lost += 1
                await asyncio.sleep(args.gap / 1000)
            read_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, websockets.ConnectionClosed):
                await read_task

    print(f"\nmadoguchi handoff latency — {len(urls)} uvicorn processes, PostgreSQL + Redis on loopback")
    print(f"resident → process A; console WebSocket on process B; {args.residents} claimed conversations\n")
    report("resident message → console (other process)", delays)
    report("  of which the resident's POST itself", post_times)
    if queue_delays:
        report("asks for a person → console queue update", queue_delays)
    print(f"messages not seen by the console within 5 s: {lost}")


async def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=200)
    p.add_argument("--residents", type=int, default=5)
    p.add_argument("--processes", type=int, default=3)
    p.add_argument("--gap", type=float, default=20.0, help="milliseconds between messages")
    args = p.parse_args()
    args.messages = max(1, min(args.messages, 2000))
    args.processes = max(2, min(args.processes, 6))

    db = f"madoguchi_bench_{uuid.uuid4().hex[:8]}"
    base = PG_ADMIN.rsplit("/", 1)[0]
    db_url = f"{base}/{db}"
    await admin(f'CREATE DATABASE "{db}"')
    procs: list[subprocess.Popen[bytes]] = []
    tmp = Path(tempfile.mkdtemp(prefix="madoguchi-bench-"))
    try:
        import redis

        redis.Redis.from_url(REDIS).flushdb()
        await prepare(db_url)
        env = {**os.environ, "MADOGUCHI_DATABASE_URL": db_url, "MADOGUCHI_REDIS_URL": REDIS,
               "MADOGUCHI_SECRET_KEY": SECRET, "MADOGUCHI_DATA_DIR": str(tmp), "MADOGUCHI_LOG_LEVEL": "WARNING",
               "MADOGUCHI_TRANSLATION_ENABLED": "false", "PYTHONPATH": str(ROOT),
               "MADOGUCHI_RATE_LIMITS_ENABLED": "false"}  # a benchmark is a flood on purpose
        ports = [free_port() for _ in range(args.processes)]
        procs = [start_process(port, env, tmp) for port in ports]
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        deadline = time.monotonic() + 60
        for u in urls:
            await wait_healthy(u, deadline)
        await asyncio.wait_for(run(args, urls), TIME_LIMIT + 30)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        with contextlib.suppress(Exception):
            import redis

            redis.Redis.from_url(REDIS).flushdb()
        await admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
