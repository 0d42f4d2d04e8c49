"""Login benchmark (issue 11): does hashing passwords stall the service? `/healthz` latency,
idle and under 20 concurrent login attempts, against one real uvicorn process this script
starts (SQLite, rate limits off so every attempt reaches argon2).

    python bench/login.py [--logins 20] [--samples 300] [--rounds 3]

The load is raw HTTP/1.1 over keep-alive sockets (asyncio streams, no client library), so the
client is never the bottleneck: each of the 20 login clients posts a wrong password again and
again on its own connection (argon2 verifies a wrong password at the same cost as a right
one). A probe asks `/healthz` on its own keep-alive connection, one request after another.
Each round measures the probe idle, then under load; the script prints p50/p99 of each round,
the median p99 of the rounds, and their ratio (the issue asks for within 2×).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Conn:
    """One keep-alive HTTP/1.1 connection, requests one after another."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def request(self, method: str, path: str, body: bytes = b"") -> int:
        assert self.reader is not None and self.writer is not None
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nConnection: keep-alive\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if length:
            await self.reader.readexactly(length)
        return int(status_line.split()[1])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def probe(port: int, samples: int) -> list[float]:
    conn = Conn(port)
    await conn.open()
    out = []
    try:
        for _ in range(samples):
            t = time.perf_counter()
            assert await conn.request("GET", "/healthz") == 200
            out.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(0.005)
    finally:
        conn.close()
    return out


async def login_loop(port: int, stop: asyncio.Event, counter: list[int], i: int) -> None:
    conn = Conn(port)
    await conn.open()
    body = json.dumps({"login": "bench", "password": f"wrong-password-{i}", "otp": "123456"}).encode()
    try:
        while not stop.is_set():
            assert await conn.request("POST", "/api/auth/login", body) == 401
            counter[0] += 1
    finally:
        conn.close()


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else values[0]


async def one_round(port: int, logins: int, samples: int) -> tuple[list[float], list[float], float]:
    idle = await probe(port, samples)
    stop, counter = asyncio.Event(), [0]
    tasks = [asyncio.create_task(login_loop(port, stop, counter, i)) for i in range(logins)]
    await asyncio.sleep(0.5)  # every client is hashing
    start, before = time.perf_counter(), counter[0]
    loaded = await probe(port, samples)
    rate = (counter[0] - before) / (time.perf_counter() - start)
    stop.set()
    await asyncio.gather(*tasks)
    return idle, loaded, rate


def _wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited; see its output above")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in s.recv(100):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer /healthz within 60 s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--logins", type=int, default=20)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="madoguchi-bench-login-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MADOGUCHI_DATA_DIR": str(data), "MADOGUCHI_LOG_LEVEL": "ERROR",
           "MADOGUCHI_SECRET_KEY": "bench-secret-key-0123456789-bench-secret-key",
           "MADOGUCHI_RATE_LIMITS_ENABLED": "false", "MADOGUCHI_TRANSLATION_ENABLED": "false",
           "MADOGUCHI_NEW_PASSWORD": "bench-password-123"}
    subprocess.run([sys.executable, "-c", "from madoguchi.cli import app; app()", "accounts", "create", "bench",
                    "--profile", "minato-tokyo"], env=env, check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "madoguchi.app:create_app", "--factory",
                               "--host", "127.0.0.1", "--port", str(port), "--log-level", "error"], env=env)
    try:
        _wait_ready(port, server)
        asyncio.run(probe(port, 50))  # warm up
        idle_p99, loaded_p99 = [], []
        for r in range(args.rounds):
            idle, loaded, rate = asyncio.run(one_round(port, args.logins, args.samples))
            idle_p99.append(pct(idle, 99))
            loaded_p99.append(pct(loaded, 99))
            print(f"round {r + 1}: /healthz idle p50 {pct(idle, 50):.1f} ms p99 {idle_p99[-1]:.1f} ms | "
                  f"under {args.logins} logins p50 {pct(loaded, 50):.1f} ms p99 {loaded_p99[-1]:.1f} ms "
                  f"({rate:.1f} logins/s)")
        idle_m, loaded_m = statistics.median(idle_p99), statistics.median(loaded_p99)
        print(f"median p99: idle {idle_m:.1f} ms, under load {loaded_m:.1f} ms, ratio {loaded_m / idle_m:.2f}x "
              f"(cores: {os.cpu_count()})")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
