"""Email channel throughput: parsing real-shaped Japanese mail, and whole mails through the
intake (parse → loop checks → router steps on SQLite → one answer mail to a loopback SMTP
server). Prints per-mail figures. Bounded in count.

    python bench/email_channel.py [--parse 2000] [--mails 40] [--large 3]

The intake part needs nothing external (SQLite in a temporary directory, aiosmtpd in-process).
--large: 5 MB mails (photos of letters) handled while /healthz is polled every 10 ms, the
parse in a worker process (the default) and, interleaved, in a thread: worst and p99 /healthz.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bots.email.parse import parse_mail  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "mail"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def bench_parse(n: int) -> None:
    mails = [p.read_bytes() for p in sorted(FIXTURES.glob("*.eml"))]
    times: list[float] = []
    started = time.perf_counter()
    for i in range(n):
        raw = mails[i % len(mails)]
        t0 = time.perf_counter()
        parse_mail(raw)
        times.append((time.perf_counter() - t0) * 1e6)
    total = time.perf_counter() - started
    print(f"parse: {n} mails ({len(mails)} fixture shapes) in {total:.2f} s = {n / total:,.0f} mails/s; "
          f"per mail p50 {statistics.median(times):,.0f} µs, p95 {pct(times, 0.95):,.0f} µs, max {max(times):,.0f} µs")


async def bench_intake(n: int) -> None:
    from bots.email.channel import build_email_channel
    from madoguchi.app import build_context
    from madoguchi.settings import Settings
    from tests.smtp_sink import SmtpSink

    sink = SmtpSink()
    await sink.start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), secret_key="bench-secret-key-0123456789-abcdefghij",
                            smtp_host=sink.host, smtp_port=sink.port, smtp_starttls=False,
                            smtp_from="soudan@example.lg.jp", log_level="WARNING")
        ctx = await build_context(settings)
        await ctx.hub.start()
        await ctx.router.start()
        channel = build_email_channel(ctx)
        ctx.senders.register(channel.sender)  # one mailbox: its sender serves directly
        body = "はじめまして。仕事がなくなり、家賃が払えません。どうしたらいいでしょうか。"
        firsts, replies = [], []
        try:
            for i in range(n):
                m = EmailMessage()
                m["From"], m["To"], m["Subject"] = f"r{i}@example.jp", "soudan@example.lg.jp", "相談"
                m["Message-ID"] = f"<bench-{i}@example.jp>"
                m.set_content(body, charset="iso-2022-jp")
                t0 = time.perf_counter()
                await channel.intake.handle(m.as_bytes(), 0)
                firsts.append((time.perf_counter() - t0) * 1e3)
            await sink.wait_for(n, timeout=120)
            for i in range(n):
                bot = sink.received[i].message
                r = EmailMessage()
                r["From"], r["To"] = f"r{i}@example.jp", str(bot["Reply-To"])
                r["Subject"], r["In-Reply-To"] = "Re: " + str(bot["Subject"]), str(bot["Message-ID"])
                r["Message-ID"] = f"<bench-reply-{i}@example.jp>"
                r.set_content("同意します\nQ5: 2\nQ11: 1", charset="utf-8")
                t0 = time.perf_counter()
                await channel.intake.handle(r.as_bytes(), 0)
                replies.append((time.perf_counter() - t0) * 1e3)
            await sink.wait_for(2 * n, timeout=120)
        finally:
            await ctx.router.queue.stop()
            await ctx.hub.stop()
            await ctx.engine.dispose()
            await sink.stop()
    print(f"intake, first mail → intake form sent ({n} residents, SQLite): "
          f"p50 {statistics.median(firsts):.1f} ms, p95 {pct(firsts, 0.95):.1f} ms, max {max(firsts):.1f} ms")
    print(f"intake, consenting reply → ~20 dialog steps → case + answer sent: "
          f"p50 {statistics.median(replies):.1f} ms, p95 {pct(replies, 0.95):.1f} ms, max {max(replies):.1f} ms")


def five_mb_mail(i: int) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = f"big{i}@example.vn", "soudan@example.lg.jp", "Tôi cần giúp đỡ"
    m["Message-ID"] = f"<bench-big-{i}-{time.monotonic_ns()}@example.vn>"
    m.set_content("Xin chào. Tôi không trả được tiền nhà.\n家賃を3か月払えていません。写真を送ります。\n" * 8)
    for n in range(2):
        m.add_attachment(b"\xff\xd8\xff" + bytes(range(256)) * 7_250, maintype="image", subtype="jpeg",
                         filename=f"letter-{n}.jpg")
    return m.as_bytes()


async def bench_large(rounds: int) -> None:
    from bots.email import parsepool
    from bots.email.channel import build_email_channel
    from tests.conftest import make_settings, start_app
    from tests.smtp_sink import SmtpSink

    sink = SmtpSink()
    await sink.start()
    results: dict[str, list[float]] = {"process": [], "thread": [], "idle (no mail)": []}
    worst: dict[str, float] = dict.fromkeys(results, 0.0)
    large = parsepool.LARGE
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(Path(tmp)).model_copy(update={
            "smtp_host": sink.host, "smtp_port": sink.port, "smtp_starttls": False,
            "smtp_from": "soudan@example.lg.jp"})
        async for running in start_app(settings):
            channel = build_email_channel(running.ctx)
            running.ctx.senders.register(channel.sender)
            for _ in range(20):  # warm up
                await running.client.get("/healthz")
            await channel.intake.handle(five_mb_mail(-1), 0)  # warm up (and start the worker)
            for i in range(rounds * 3):
                mode = list(results)[i % 3]
                parsepool.LARGE = large if mode == "process" else 1 << 40
                raw = five_mb_mail(i)
                # the idle round: the same polling for as long as a mail takes, nothing else
                task = asyncio.create_task(
                    asyncio.sleep(2.0) if mode.startswith("idle") else channel.intake.handle(raw, 0))
                while not task.done():
                    t0 = time.perf_counter()
                    await running.client.get("/healthz")
                    took = (time.perf_counter() - t0) * 1e3
                    results[mode].append(took)
                    worst[mode] = max(worst[mode], took)
                    await asyncio.sleep(0.01)
                await task
            parsepool.LARGE = large
            parsepool.shutdown()
    await sink.stop()
    for mode, values in results.items():
        print(f"5 MB mail handled, parse in a {mode}: /healthz while it runs p50 {statistics.median(values):.1f} ms, "
              f"p99 {pct(values, 0.99):.1f} ms, worst {worst[mode]:.1f} ms ({len(values)} polls, {rounds} mails)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parse", type=int, default=2000)
    ap.add_argument("--mails", type=int, default=40)
    ap.add_argument("--large", type=int, default=3)
    args = ap.parse_args()
    bench_parse(args.parse)
    if args.mails:
        asyncio.run(bench_intake(args.mails))
    if args.large:
        asyncio.run(bench_large(args.large))


if __name__ == "__main__":
    main()
