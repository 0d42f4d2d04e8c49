"""Webhook benchmark: signed LINE webhook events against the real service, beside a bare
FastAPI endpoint, both served by one uvicorn process that this script starts.

    python bench/webhook.py [--events 2000] [--concurrency 16] [--users 200] [--max-seconds 60]

This process is the client (the "second process"): it posts pre-built, pre-signed bodies over
loopback with httpx and measures acknowledgement latency per request. The server runs the
whole inbound path: signature check, SDK parsing, the router's queue, the dialog step, an
SQLite transaction, and the reply to a minimal LINE API sink on loopback (so processing
competes with acknowledging for the CPU, as in production). The bare endpoint reads the body
and answers {} — the floor for FastAPI + uvicorn on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
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
import uuid
from pathlib import Path

from fastapi import FastAPI, Request

SECRET = "bench-channel-secret"
TOKEN = "bench-access-token"
ROOT = Path(__file__).resolve().parents[1]


# ── server side (runs inside the uvicorn process) ────────────────────────────────────────
def _line_sink() -> str:
    """A minimal LINE API on loopback in a thread: accepts replies, pushes, loading, profiles."""
    import threading

    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def handle(request: Request) -> JSONResponse:
        await request.body()
        if request.url.path.startswith("/v2/bot/profile/"):
            return JSONResponse({"userId": "U", "displayName": "x", "language": "ja"})
        if request.url.path.endswith("/loading/start"):
            return JSONResponse({}, status_code=202)
        return JSONResponse({"sentMessages": [{"id": "1"}]})

    app = Starlette(routes=[Route("/{p:path}", handle, methods=["GET", "POST"])])
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    return f"http://127.0.0.1:{port}"


def app_factory():  # type: ignore[no-untyped-def]
    """uvicorn --factory entry point: the service's LINE webhook plus /bare."""
    import contextlib

    from bots.line import line_router
    from madoguchi.app import build_context
    from madoguchi.settings import Settings

    sink = _line_sink()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        settings = Settings(
            data_dir=Path(os.environ["BENCH_DATA_DIR"]), secret_key=secrets.token_urlsafe(32),
            line_channel_secret=SECRET, line_channel_access_token=TOKEN, line_api_base_url=sink,
            log_level="ERROR",
        )
        import logging

        import structlog

        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
        ctx = await build_context(settings)
        app.include_router(line_router(ctx))
        await ctx.hub.start()
        await ctx.router.start()
        app.state.ctx = ctx
        yield
        await ctx.router.queue.stop()
        await ctx.extras["line"].aclose()
        await ctx.engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/bare")
    async def bare(request: Request) -> dict[str, str]:
        await request.body()
        return {}

    @app.get("/ready")
    async def ready() -> dict[str, str]:
        return {}

    @app.get("/stats")
    async def stats(request: Request) -> dict[str, int]:
        from sqlalchemy import func, select

        from casecore.models import Message

        async with request.app.state.ctx.sessions() as s:
            stored = await s.scalar(select(func.count()).select_from(Message).where(Message.channel_event_id.is_not(None)))
        return {"inbound_stored": int(stored or 0)}

    return app


# ── client side ──────────────────────────────────────────────────────────────────────────
def _signed_bodies(n: int, users: int) -> list[tuple[bytes, str]]:
    out = []
    for i in range(n):
        user = "U" + hashlib.md5(str(i % users).encode()).hexdigest()
        event = {
            "type": "message", "mode": "active", "timestamp": int(time.time() * 1000),
            "webhookEventId": uuid.uuid4().hex[:26].upper(), "deliveryContext": {"isRedelivery": False},
            "source": {"type": "user", "userId": user}, "replyToken": uuid.uuid4().hex,
            "message": {"type": "text", "id": str(i), "text": "家賃が払えなくて困っています", "quoteToken": "q"},
        }
        raw = json.dumps({"destination": "U" + "0" * 32, "events": [event]}, ensure_ascii=False).encode()
        sig = base64.b64encode(hmac.new(SECRET.encode(), raw, hashlib.sha256).digest()).decode()
        out.append((raw, sig))
    return out


async def _run(base: str, path: str, bodies: list[tuple[bytes, str]], concurrency: int, max_seconds: float) -> dict[str, float]:
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue: asyncio.Queue[tuple[bytes, str]] = asyncio.Queue()
    for b in bodies:
        queue.put_nowait(b)
    deadline = time.perf_counter() + max_seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def worker() -> None:
            while not queue.empty() and time.perf_counter() < deadline:
                raw, sig = queue.get_nowait()
                t0 = time.perf_counter()
                r = await client.post(path, content=raw, headers={"X-Line-Signature": sig, "Content-Type": "application/json"})
                latencies.append(time.perf_counter() - t0)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    latencies.sort()
    return {
        "events": len(latencies),
        "events_per_s": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "non_200": sum(v for k, v in statuses.items() if k != 200),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    args = parser.parse_args()

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data_dir = tempfile.mkdtemp(prefix="madoguchi-bench-")
    env = {**os.environ, "BENCH_DATA_DIR": data_dir, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.webhook:app_factory", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        import httpx

        for _ in range(300):
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                raise SystemExit("server did not start")
            time.sleep(0.1)
        bodies = _signed_bodies(args.events, args.users)
        asyncio.run(_run(base, "/bare", bodies[:200], args.concurrency, 10))  # warm-up
        bare = asyncio.run(_run(base, "/bare", bodies, args.concurrency, args.max_seconds))
        started = time.perf_counter()
        line = asyncio.run(_run(base, "/webhooks/line", bodies, args.concurrency, args.max_seconds))
        acked_in = time.perf_counter() - started
        stats_r = httpx.get(f"{base}/stats", timeout=30)
        stored_at_ack = stats_r.json()["inbound_stored"]
        while time.perf_counter() - started < args.max_seconds * 2:
            stored = httpx.get(f"{base}/stats", timeout=30).json()["inbound_stored"]
            if stored >= line["events"]:
                break
            time.sleep(0.5)
        processed_in = time.perf_counter() - started
    finally:
        server.terminate()  # queued work is abandoned: the data directory is temporary
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    print(f"LINE webhook benchmark: {args.events} events, concurrency {args.concurrency}, {args.users} residents, "
          f"{os.cpu_count()} CPUs, loopback, load average {os.getloadavg()[0]:.1f} at the end")
    print(f"{'endpoint':<22}{'events':>8}{'events/s':>11}{'p50 ms':>9}{'p99 ms':>9}{'non-200':>9}")
    for name, r in (("bare FastAPI /bare", bare), ("POST /webhooks/line", line)):
        print(f"{name:<22}{r['events']:>8.0f}{r['events_per_s']:>11.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{r['non_200']:>9.0f}")
    print(f"ratio webhook/bare: throughput {line['events_per_s'] / bare['events_per_s']:.2f}, "
          f"p50 latency {line['p50_ms'] / bare['p50_ms']:.2f}x, p99 latency {line['p99_ms'] / bare['p99_ms']:.2f}x")
    print(f"processing behind the acks: {stored_at_ack} of {line['events']:.0f} events stored when the last was "
          f"acknowledged ({acked_in:.1f} s); {stored} stored after {processed_in:.1f} s "
          f"({stored / processed_in:.0f} events/s through dialog + database + reply)")


if __name__ == "__main__":
    main()
