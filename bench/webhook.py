"""LINE webhook benchmark that cannot fool us: the real service beside a bare endpoint.

    PYTHONPATH=$PWD python3 bench/webhook.py                     # embedded SQLite, one process
    PYTHONPATH=$PWD python3 bench/webhook.py --postgres postgresql://postgres@127.0.0.1:5432/test \
        --redis redis://127.0.0.1:6379/14 --workers 1            # web + `madoguchi worker` processes

What runs: the service as `uvicorn madoguchi.app:create_app` (every middleware, the real LINE
webhook) and a bare FastAPI app (one route that reads the body and answers {}), both pinned to
CPU 0; the load generator (bench/loadgen.py, raw keep-alive sockets) and a LINE API stand-in
(bench/line_sink.py) pinned to CPU 1, with the `madoguchi worker` processes if any. In that order:

1. end to end: `--residents` residents each send one message, as fast as the service acks;
   the figure is events per second from the first send to the stand-in's receipt of the last
   reply (every reply token is matched), with p50/p99 of send → reply;
2. `--rounds` interleaved rounds of bare then webhook at saturation (`--connections`
   connections, closed loop), per-round ratio and the median;
3. the webhook at half the bare median rate (open loop, latency from the scheduled time).

Each bare run waits until the service's processes are quiet (bench/loadgen.wait_quiet): the
webhook's rounds leave events to process, and a bare endpoint sharing the core with that work
would look slow. The webhook's own runs include its processing, as in service.

Absolute figures depend on the machine and its load; the ratios within one run do not.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from claims import redis_db as claimed_redis
from fastapi import FastAPI, Request
from loadgen import (
    Result,
    closed_loop,
    cpu_seconds,
    open_loop,
    pin,
    request_bytes,
    taskset,
    wait_quiet,
)

SECRET = "0123456789abcdef0123456789abcdef"
TOKEN = "bench-access-token"
ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["家賃が払えなくて困っています", "こんにちは", "Tôi cần giúp đỡ về tiền thuê nhà 🙏",
         "仕事を失いました。相談したいです", "<b>help</b> please, I lost my job", "1"]


def bare_app():  # type: ignore[no-untyped-def]
    """uvicorn --factory entry point: the floor for FastAPI + uvicorn on this machine."""
    app = FastAPI()

    @app.post("/bare")
    async def bare(request: Request) -> dict[str, str]:
        await request.body()
        return {}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get_json(url: str) -> dict:  # type: ignore[type-arg]
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def wait_healthy(url: str, proc: subprocess.Popen[bytes], seconds: float = 120) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        if proc.poll() is not None:
            raise SystemExit(f"{url}: process exited ({proc.returncode})")
        try:
            if _get_json(url).get("status") == "ok":
                return time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{url}: not healthy after {seconds} s")


class Events:
    """Signed LINE webhook bodies, one event each, with unique ids and reply tokens."""

    def __init__(self, port: int, unique: bool = False) -> None:
        self.host = f"127.0.0.1:{port}"
        self.n = 0
        self.unique = unique  # every sentence differs: the risk encoder's cache never answers

    def text(self, i: int) -> str:
        text = TEXTS[i % len(TEXTS)]
        return f"{text} (#{i} {uuid.uuid4().hex[:6]})" if self.unique and len(text) >= 10 else text

    def make(self, count: int, residents: int, first_resident: int = 0) -> tuple[list[bytes], list[str]]:
        raws, tokens = [], []
        for _ in range(count):
            i = self.n
            self.n += 1
            user = "U" + hashlib.md5(f"resident-{first_resident + i % residents}".encode()).hexdigest()
            token = uuid.uuid4().hex
            event = {
                "type": "message", "mode": "active", "timestamp": int(time.time() * 1000),
                "webhookEventId": uuid.uuid4().hex[:26].upper(), "deliveryContext": {"isRedelivery": False},
                "source": {"type": "user", "userId": user}, "replyToken": token,
                "message": {"type": "text", "id": str(i), "text": self.text(i), "quoteToken": "q"},
            }
            body = json.dumps({"destination": "U" + "0" * 32, "events": [event]}, ensure_ascii=False).encode()
            sig = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest()).decode()
            raws.append(request_bytes(self.host, "/webhooks/line", body, {"X-Line-Signature": sig}))
            tokens.append(token)
        return raws, tokens


def start(cmd: list[str], env: dict[str, str], cpu: int | None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(taskset(cpu) + cmd, cwd=ROOT, env=env)


def uvicorn_cmd(target: str, port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log"]


def prepare_postgres(admin_url: str) -> str:
    import asyncpg

    name = f"perfpg_bench_{uuid.uuid4().hex[:8]}"

    async def create() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return admin_url.rsplit("/", 1)[0] + "/" + name


def drop_postgres(admin_url: str, url: str) -> None:
    import asyncpg

    async def drop() -> None:
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


def end_to_end(port: int, sink: str, events: Events, residents: int, connections: int, max_seconds: float,
               service: list[int]) -> dict[str, float]:
    raws, tokens = events.make(residents, residents)
    cpu_before = cpu_seconds(service)
    sent_wall = time.time()
    ack = asyncio.run(closed_loop("127.0.0.1", port, raws, connections, max_seconds))
    acked_wall = time.time()
    deadline = time.time() + max_seconds
    want = set(tokens)
    got: dict[str, float] = {}
    while time.time() < deadline:
        got = {t: at for t, at in _get_json(f"{sink}/tokens")["tokens"].items() if t in want}
        if len(got) >= len(want):
            break
        time.sleep(0.2)
    last = max(got.values()) if got else time.time()
    cpu = cpu_seconds(service) - cpu_before  # the service's processes, acks and processing
    # Per-event send → reply, with the send time approximated by the ack run's even spread.
    spread = (acked_wall - sent_wall) / max(1, len(tokens))
    delays = sorted(got[t] - (sent_wall + i * spread) for i, t in enumerate(tokens) if t in got)
    return {
        "events": len(tokens), "replied": len(got), "acked_per_s": ack.rate, "non_200": ack.non_200,
        "events_per_s": len(got) / max(1e-9, last - sent_wall), "cpu_ms_per_event": cpu / max(1, len(got)) * 1000,
        "p50_s": statistics.median(delays) if delays else float("nan"),
        "p99_s": delays[min(len(delays) - 1, int(len(delays) * 0.99))] if delays else float("nan"),
    }


def fmt(r: Result) -> str:
    return f"{r.count:>6} req {r.rate:>8.0f} req/s  p50 {r.p50_ms:7.2f} ms  p99 {r.p99_ms:8.2f} ms  non-200 {r.non_200}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per endpoint per round")
    parser.add_argument("--rounds", type=int, default=3, help="0: the end-to-end phase only")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--residents", type=int, default=1000, help="end to end: residents, one message each")
    parser.add_argument("--half-seconds", type=float, default=3.0, help="duration of the half-rate run")
    parser.add_argument("--max-seconds", type=float, default=120.0)
    parser.add_argument("--postgres", help="admin URL; a fresh database is created")
    parser.add_argument("--redis", help="Redis URL; its database is claimed as tests do and flushed (none given: any free one)")
    parser.add_argument("--workers", type=int, default=0, help="`madoguchi worker` processes (with Redis)")
    parser.add_argument("--unique-texts", action="store_true",
                        help="every sentence differs (the risk encoder's cache never answers)")
    args = parser.parse_args()

    gen_cpu, srv_cpu = (1, 0) if (os.cpu_count() or 1) >= 2 else (None, None)
    pinned = pin(gen_cpu)
    sink_port, bare_port, app_port = free_port(), free_port(), free_port()
    sink = f"http://127.0.0.1:{sink_port}"
    data_dir = tempfile.mkdtemp(prefix="madoguchi-bench-")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MADOGUCHI_DATA_DIR": data_dir,
           "MADOGUCHI_SECRET_KEY": secrets.token_urlsafe(32), "MADOGUCHI_LINE_CHANNEL_SECRET": SECRET,
           "MADOGUCHI_LINE_CHANNEL_ACCESS_TOKEN": TOKEN, "MADOGUCHI_LINE_API_BASE_URL": sink,
           "MADOGUCHI_LOG_LEVEL": "ERROR", "MADOGUCHI_TRANSLATION_ENABLED": "false",
           "MADOGUCHI_INBOX_MAX_PENDING": "100000"}
    if args.postgres:
        env["MADOGUCHI_DATABASE_URL"] = prepare_postgres(args.postgres)
    with contextlib.ExitStack() as claims:
        if args.redis:  # claimed like a test run's (bench/claims.py), so neither flushes the other's
            env["MADOGUCHI_REDIS_URL"] = claims.enter_context(claimed_redis(args.redis))
        run(args, env, sink_port, bare_port, app_port, sink, gen_cpu, srv_cpu, pinned)


def run(args: argparse.Namespace, env: dict[str, str], sink_port: int, bare_port: int, app_port: int,
        sink: str, gen_cpu: int | None, srv_cpu: int | None, pinned: object) -> None:
    if args.workers:
        env["MADOGUCHI_INBOX_IN_WEB"] = "false"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        procs.append(start([sys.executable, str(ROOT / "bench" / "line_sink.py"), "--port", str(sink_port)], env, gen_cpu))
        procs.append(start(uvicorn_cmd("bench.webhook:bare_app", bare_port), env, srv_cpu))
        if args.postgres:  # migrations once, before any process starts (as `serve` does)
            subprocess.run([sys.executable, "-m", "madoguchi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                           stdout=subprocess.DEVNULL)
        app = start(uvicorn_cmd("madoguchi.app:create_app", app_port), env, srv_cpu)
        procs.append(app)
        healthy = wait_healthy(f"http://127.0.0.1:{app_port}/healthz", app)
        wait_healthy(f"http://127.0.0.1:{bare_port}/healthz", procs[1])
        for _ in range(args.workers):  # the second core, with the generator: CPU 0 stays the web's
            procs.append(start([sys.executable, "-m", "madoguchi", "worker"], env, gen_cpu))
        events = Events(app_port, args.unique_texts)
        bare_raw = [request_bytes(f"127.0.0.1:{bare_port}", "/bare", r[r.index(b"\r\n\r\n") + 4:])
                    for r in events.make(args.requests, 200)[0]]
        asyncio.run(closed_loop("127.0.0.1", bare_port, bare_raw[:500], args.connections, 10))  # warm-up
        warm, _ = events.make(200, 200)
        asyncio.run(closed_loop("127.0.0.1", app_port, warm, args.connections, 30))
        time.sleep(1.0)

        # The service's processes (web and workers): each bare run starts once they are done
        # with the backlog, so the bare endpoint has its core to itself.
        service = [p.pid for p in procs[2:]]
        e2e = end_to_end(app_port, sink, events, args.residents, args.connections, args.max_seconds, service)
        if not args.rounds:  # end to end only (A/B comparisons of processing)
            print(f"end to end, {e2e['events']} residents: {e2e['replied']} replied, {e2e['events_per_s']:.0f} "
                  f"events/s, service CPU {e2e['cpu_ms_per_event']:.1f} ms per event", flush=True)
            return
        drained: list[float] = []
        rounds: list[tuple[Result, Result]] = []
        for _ in range(args.rounds):
            drained.append(wait_quiet(service, args.max_seconds))
            bare = asyncio.run(closed_loop("127.0.0.1", bare_port, bare_raw, args.connections, args.max_seconds))
            raws, _ = events.make(args.requests, 200)
            hook = asyncio.run(closed_loop("127.0.0.1", app_port, raws, args.connections, args.max_seconds))
            rounds.append((bare, hook))
        bare_rate = statistics.median(b.rate for b, _ in rounds)
        half = bare_rate / 2
        raws, _ = events.make(int(half * args.half_seconds), 200)
        drained.append(wait_quiet(service, args.max_seconds))
        at_half = asyncio.run(open_loop("127.0.0.1", app_port, raws, half, connections=64))
        drained.append(wait_quiet(service, args.max_seconds))
        bare_half = asyncio.run(open_loop("127.0.0.1", bare_port, bare_raw[: len(raws)], half, connections=64))
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
    print(f"LINE webhook benchmark: {store}, {args.workers or 'no separate'} worker process(es), "
          f"{args.connections} connections, {os.cpu_count()} CPUs (servers on CPU {srv_cpu}, generator {pinned}), "
          f"load average {os.getloadavg()[0]:.1f} at the end; healthy {healthy:.1f} s after start"
          f"{'; unique texts' if args.unique_texts else ''}")
    print(f"end to end, {e2e['events']} residents → reply at the LINE stand-in: {e2e['replied']} replied, "
          f"{e2e['events_per_s']:.0f} events/s, send→reply p50 {e2e['p50_s'] * 1000:.0f} ms p99 "
          f"{e2e['p99_s'] * 1000:.0f} ms (acked at {e2e['acked_per_s']:.0f} req/s, non-200 {e2e['non_200']}); "
          f"service CPU {e2e['cpu_ms_per_event']:.1f} ms per event")
    print(f"before each bare run the service was let finish its backlog: waited "
          f"{', '.join(f'{d:.1f}' for d in drained)} s")
    for i, (b, h) in enumerate(rounds, 1):
        print(f"round {i}: bare  {fmt(b)}")
        print(f"round {i}: hook  {fmt(h)}   ratio {h.rate / b.rate:.2f}")
    ratios = [h.rate / b.rate for b, h in rounds]
    print(f"median: bare {bare_rate:.0f} req/s, webhook {statistics.median(h.rate for _, h in rounds):.0f} req/s, "
          f"ratio {statistics.median(ratios):.2f} × bare (rounds: {', '.join(f'{r:.2f}' for r in ratios)})")
    print(f"at half the bare rate ({half:.0f} req/s, open loop, {at_half.count} requests): webhook p50 "
          f"{at_half.p50_ms:.1f} ms p99 {at_half.p99_ms:.1f} ms non-200 {at_half.non_200}; bare p50 "
          f"{bare_half.p50_ms:.1f} ms p99 {bare_half.p99_ms:.1f} ms")


if __name__ == "__main__":
    main()
