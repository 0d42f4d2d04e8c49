"""A raw keep-alive HTTP/1.1 load generator on asyncio sockets (no HTTP client library).

Why not httpx: on this machine an httpx generator tops out near 360 requests/s, so it measured
itself, not the server. Here each request is pre-built bytes written to a kept-alive
connection and the answer is read as bytes (status line, Content-Length, body), which a
single core turns into several thousand requests a second — every benchmark checks that in
the same run by loading a bare endpoint.

- `closed_loop`: N connections, each sends its next request as soon as the last answer came
  (saturation throughput).
- `open_loop`: requests scheduled at a fixed rate; latency counts from the scheduled time, so a
  stalled server cannot hide its queueing (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field


def request_bytes(host: str, path: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", "Content-Type: application/json",
             f"Content-Length: {len(body)}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    wall: float = 0.0
    sent_at: list[float] = field(default_factory=list)  # loop time each accepted request was sent

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.wall if self.wall else 0.0

    def pct(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.latencies) * 1000 if self.latencies else float("nan")

    @property
    def p99_ms(self) -> float:
        return self.pct(99) * 1000

    @property
    def non_200(self) -> int:
        return sum(v for k, v in self.statuses.items() if k != 200)


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def roundtrip(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
                break
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


async def _connect(host: str, port: int, n: int) -> list[_Conn]:
    return [_Conn(*await asyncio.open_connection(host, port)) for _ in range(n)]


async def closed_loop(host: str, port: int, requests: Sequence[bytes], connections: int = 16,
                      max_seconds: float = 60.0) -> Result:
    conns = await _connect(host, port, connections)
    loop = asyncio.get_running_loop()
    result = Result()
    next_index = 0
    started = loop.time()
    deadline = started + max_seconds

    async def run(conn: _Conn) -> None:
        nonlocal next_index
        while next_index < len(requests) and loop.time() < deadline:
            raw = requests[next_index]
            next_index += 1
            t0 = loop.time()
            status = await conn.roundtrip(raw)
            result.latencies.append(loop.time() - t0)
            result.statuses[status] = result.statuses.get(status, 0) + 1
            if status == 200:
                result.sent_at.append(t0)

    try:
        await asyncio.gather(*(run(c) for c in conns))
    finally:
        result.wall = loop.time() - started
        for c in conns:
            c.close()
    return result


async def open_loop(host: str, port: int, requests: Sequence[bytes], rate: float, connections: int = 64) -> Result:
    """Send `requests` at `rate` per second over a pool of connections; a request waits for a
    free connection if all are busy, and that wait counts in its latency."""
    conns = await _connect(host, port, connections)
    free: asyncio.Queue[_Conn] = asyncio.Queue()
    for c in conns:
        free.put_nowait(c)
    loop = asyncio.get_running_loop()
    result = Result()
    started = loop.time()

    async def one(raw: bytes, scheduled: float) -> None:
        conn = await free.get()
        try:
            status = await conn.roundtrip(raw)
        finally:
            free.put_nowait(conn)
        result.latencies.append(loop.time() - scheduled)
        result.statuses[status] = result.statuses.get(status, 0) + 1

    tasks = []
    for i, raw in enumerate(requests):
        scheduled = started + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(raw, scheduled)))
    await asyncio.gather(*tasks)
    result.wall = loop.time() - started
    for c in conns:
        c.close()
    return result


def pin(cpu: int | None) -> str:
    """Pin this process to one CPU (Linux); says what it did."""
    if cpu is None or not hasattr(os, "sched_setaffinity") or (os.cpu_count() or 1) < 2:
        return "not pinned"
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def taskset(cpu: int | None) -> list[str]:
    """A command prefix pinning a child process to one CPU, when taskset and 2+ CPUs exist."""
    import shutil

    if cpu is None or (os.cpu_count() or 1) < 2 or shutil.which("taskset") is None:
        return []
    return ["taskset", "-c", str(cpu)]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (Linux /proc; 0 where unreadable)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            pass
    return total


def wait_quiet(pids: list[int], max_seconds: float = 120.0, window: float = 0.5, busy_share: float = 0.05) -> float:
    """Wait until these processes use under `busy_share` of a core over `window` seconds (a
    service done with its backlog), at most `max_seconds`; returns the seconds waited. A bare
    round measured while the service still works off the previous round's events on the same
    core would make the bare endpoint look slow and the ratio look good."""
    import time

    started = time.perf_counter()
    last = cpu_seconds(pids)
    while time.perf_counter() - started < max_seconds:
        time.sleep(window)
        now = cpu_seconds(pids)
        if now - last < busy_share * window:
            break
        last = now
    return time.perf_counter() - started
