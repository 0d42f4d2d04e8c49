"""CPU per inbound event, in process, on the embedded default (SQLite), with N stored
conversations (issue 19: time per event at 10,000 stored conversations within 1.1 × that at 100).

    PYTHONPATH=$PWD python3 bench/inbound_cpu.py --stored 100 10000 --events 600
    PYTHONPATH=$PWD python3 bench/inbound_cpu.py --profile          # cProfile of the events, top 40

What runs: the app's own context (create_app + lifespan, translation off), a null LINE sender,
and `--events` LINE text events from `--residents` residents (the same six texts as
bench/webhook.py), fed through the app's inbox (the in-process queue and its consumers, as the
webhook does) until drained. The figure is process CPU (every thread: the dialog step and its
risk screen run on a step thread) per event, after a warm-up. `--stored N` first fills the
database with N other residents (contact points, conversations, messages, consents).
Per-event queries' plans: `--plans` prints EXPLAIN QUERY PLAN of each statement one event runs.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import os
import pstats
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

TEXTS = ["家賃が払えなくて困っています", "こんにちは", "Tôi cần giúp đỡ về tiền thuê nhà 🙏",
         "仕事を失いました。相談したいです", "<b>help</b> please, I lost my job", "1"]


class NullSender:
    channel = "line"

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, target: object, messages: object) -> None:
        self.sent += 1


UNIQUE = False  # --unique-texts: every sentence differs, so the risk encoder's cache never answers


def text_of(i: int) -> str:
    text = TEXTS[i % len(TEXTS)]
    return f"{text} (#{i} {uuid.uuid4().hex[:6]})" if UNIQUE and len(text) >= 10 else text


def events(prefix: str, count: int, residents: int, profile_id: str):  # type: ignore[no-untyped-def]
    from handoff.events import InboundEvent

    for i in range(count):
        user = "U" + hashlib.md5(f"{prefix}-{i % residents}".encode()).hexdigest()
        yield InboundEvent(channel="line", channel_event_id=uuid.uuid4().hex, external_user_id=user,
                           profile_id=profile_id, kind="message", text=text_of(i),
                           reply_context={"reply_token": uuid.uuid4().hex})


async def feed(ctx, evs, batch: int = 200) -> None:  # type: ignore[no-untyped-def]
    """Submit through the inbox as the webhook does, a batch at a time, and wait until done."""
    pending = list(evs)
    for i in range(0, len(pending), batch):
        for ev in pending[i:i + batch]:
            await ctx.router.submit(ev)
        await ctx.router.queue.join()


async def run(stored: int, count: int, residents: int, profile: bool, plans: bool) -> dict[str, float]:
    from madoguchi.app import create_app
    from madoguchi.settings import Settings

    data = Path(tempfile.mkdtemp(prefix="madoguchi-cpu-"))
    try:
        settings = Settings(data_dir=data, secret_key=secrets.token_urlsafe(32), translation_enabled=False,
                            log_level="ERROR", inbox_max_pending=100_000)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            ctx = app.state.ctx
            sink = NullSender()
            ctx.senders.register(sink)  # type: ignore[arg-type]
            profile_id = ctx.router.profiles.default.id
            if stored:
                filled = time.perf_counter()
                await prefill(ctx, stored, profile_id)
                print(f"  stored {stored} conversations in {time.perf_counter() - filled:.1f} s", flush=True)
            await feed(ctx, events("warm", 120, 40, profile_id))
            if plans:
                await explain(ctx, profile_id)
            prof = _Profiler() if profile else None
            wall, cpu = time.perf_counter(), time.process_time()
            if prof:
                prof.start()
            await feed(ctx, events("measured", count, residents, profile_id))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if prof:
                prof.stop()
        return {"cpu_ms": cpu / count * 1000, "wall_ms": wall / count * 1000, "sent": sink.sent}
    finally:
        shutil.rmtree(data, ignore_errors=True)


async def prefill(ctx, n: int, profile_id: str) -> None:  # type: ignore[no-untyped-def]
    """N other residents, each with a contact point, a closed and an open conversation, six
    messages and two consent rows, written directly (the path itself would take minutes): the
    rows an event's look-ups must not scan. Their texts are placeholders, never read."""
    now = "2026-12-01 10:00:00.000000"
    cps, convs, msgs, consents = [], [], [], []
    for i in range(n):
        cp = i + 1_000_000
        cps.append((cp, profile_id, "line", "v1.placeholder", hashlib.sha256(f"stored-{i}".encode()).hexdigest(),
                    0, now))
        for j, status in enumerate(("closed", "bot")):
            cv = 2 * cp + j
            convs.append((cv, cp, profile_id, "line", status, "problem", "ja", 0, 1, now, now))
            msgs += [(cv, d, "resident" if d == "in" else "bot", "line", f"stored-{cv}-{k}" if d == "in" else None,
                      "text", 0, now) for k, d in enumerate(("in", "out", "out"))]
        consents += [(cp, kind, "granted", "v1", "0" * 64, "ja", "line", now) for kind in ("use", "share_agencies")]
    async with ctx.engine.begin() as conn:
        await conn.exec_driver_sql(
            "INSERT INTO contact_point (id, profile_id, channel, external_id, external_id_index, blocked, created_at)"
            " VALUES (?,?,?,?,?,?,?)", cps)
        await conn.exec_driver_sql(
            "INSERT INTO conversation (id, contact_point_id, profile_id, channel, status, dialog_node, language, urgent,"
            " consented_use, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", convs)
        await conn.exec_driver_sql(
            "INSERT INTO message (conversation_id, direction, sender, channel, channel_event_id, kind, multi, created_at)"
            " VALUES (?,?,?,?,?,?,?,?)", msgs)
        await conn.exec_driver_sql(
            "INSERT INTO consent_record (contact_point_id, kind, decision, wording_version, wording_hash, language,"
            " channel, at) VALUES (?,?,?,?,?,?,?,?)", consents)


class _Profiler:
    """yappi (CPU clock, every thread) when installed (`pip install yappi`, a dev tool), else cProfile
    (the event loop's thread only)."""

    def __init__(self) -> None:
        try:
            import yappi
        except ImportError:
            self.yappi, self.prof = None, cProfile.Profile()
        else:
            self.yappi, self.prof = yappi, None
            yappi.set_clock_type("cpu")

    def start(self) -> None:
        if self.yappi:
            self.yappi.start()
        else:
            self.prof.enable()

    def stop(self) -> None:
        if self.yappi:
            self.yappi.stop()
            stats = self.yappi.get_func_stats()
            for key in ("ttot", "tsub"):
                stats.sort(key, "desc")
                print(f"--- by {key} ---")
                for f in stats[:45]:
                    print(f"{f.ttot:8.3f} {f.tsub:8.3f} {f.ncall:7d}  {f.module.split('site-packages/')[-1]}:{f.lineno} {f.name}")
            for t in self.yappi.get_thread_stats():
                print(f"thread {t.name} {t.ttot:.2f} s CPU")
        else:
            self.prof.disable()
            pstats.Stats(self.prof).sort_stats("cumulative").print_stats(45)
            pstats.Stats(self.prof).sort_stats("tottime").print_stats(30)


async def explain(ctx, profile_id: str) -> None:  # type: ignore[no-untyped-def]
    """Every statement one event runs, with SQLite's plan for it."""
    from sqlalchemy import event as sa_event

    seen: list[tuple[str, object]] = []
    engine = ctx.engine.sync_engine

    def capture(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append((statement, parameters))

    sa_event.listen(engine, "before_cursor_execute", capture)
    await feed(ctx, events("plans", 2, 1, profile_id))
    sa_event.remove(engine, "before_cursor_execute", capture)
    async with ctx.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        for statement, params in seen:
            head = statement.split()[0].upper()
            if head not in ("SELECT", "UPDATE", "DELETE", "INSERT"):
                continue
            try:
                cur = raw.driver_connection._conn.execute("EXPLAIN QUERY PLAN " + statement, params or ())
                plan = "; ".join(row[3] for row in cur.fetchall())
            except Exception as exc:
                plan = f"({type(exc).__name__})"
            print(f"  {' '.join(statement.split())[:110]}\n      → {plan}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stored", type=int, nargs="+", default=[100])
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--plans", action="store_true")
    parser.add_argument("--unique-texts", action="store_true",
                        help="every sentence differs (the risk encoder's cache never answers)")
    args = parser.parse_args()
    global UNIQUE
    UNIQUE = args.unique_texts
    results = {}
    for n in args.stored:
        r = asyncio.run(run(n, args.events, args.residents, args.profile, args.plans))
        results[n] = r
        print(f"stored {n:>6}: {r['cpu_ms']:.2f} ms CPU per event, {r['wall_ms']:.2f} ms wall "
              f"({args.events} events, {r['sent']} deliveries), load average {os.getloadavg()[0]:.1f}", flush=True)
    if len(results) > 1:
        lo, hi = min(results), max(results)
        print(f"ratio CPU per event at {hi} / at {lo} stored: {results[hi]['cpu_ms'] / results[lo]['cpu_ms']:.2f}")


if __name__ == "__main__":
    main()
