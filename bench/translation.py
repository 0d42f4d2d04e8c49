"""Translation latency and throughput with a model of the real Argos ja<->en size and shape.

    python bench/translation.py [--messages 40] [--concurrency 16] [--redis redis://127.0.0.1:6379/14]

Builds (once, cached under $TMPDIR/madoguchi-bench-argos/) two packages shaped like Argos ja<->en —
transformer base: 6+6 layers, 512 wide, 8 heads, 2048 FFN, a 32k vocabulary, int8 as Argos
ships them — with random weights written through CTranslate2's spec API. Untrained weights
never choose </s> on their own, so </s> is disabled and the output length is set to what a
trained model writes (1.2 x the input plus 2 tokens); the cost per token is the real one.

Prints p50/p95 latency for short messages (one at a time, uncached; with and without the
round-trip confidence), throughput with concurrent requests (batched), and the same for
cached answers (in-process LRU, and Redis when reachable).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from i18n.translation import build_translator, install_package, list_installed  # noqa: E402
from i18n.translation.engine import EngineOptions  # noqa: E402
from tests.fixtures.argos.build import (  # noqa: E402
    ARGOS_BASE,
    build_random_package,
    corpus_lines,
    train_sentencepiece,
)

CACHE = Path(tempfile.gettempdir()) / "madoguchi-bench-argos"  # ~130 MB, rebuilt if missing
MODELS = CACHE / "argos-base"


def ensure_models() -> Path:
    if len(list_installed(MODELS)) >= 2:
        return MODELS
    started = time.perf_counter()
    sp = train_sentencepiece(CACHE / "sp.model", vocab_size=1000)
    for i, (src, tgt) in enumerate((("ja", "en"), ("en", "ja"))):
        pkg = build_random_package(
            CACHE, src, tgt, ARGOS_BASE, seed=i, never_end=True, quantization="int8", sp_model=sp
        )
        install_package(pkg, MODELS)
        pkg.unlink()
    print(f"built two Argos-base-shaped models in {time.perf_counter() - started:.1f}s")
    return MODELS


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def report(name: str, seconds: list[float]) -> None:
    ms = [s * 1000 for s in seconds]
    print(
        f"  {name:<44} p50 {pct(ms, 0.5):8.1f} ms   p95 {pct(ms, 0.95):8.1f} ms   "
        f"mean {statistics.fmean(ms):8.1f} ms   (n={len(ms)})"
    )


async def sequential(translator, messages: list[str]) -> list[float]:
    times = []
    for m in messages:
        t0 = time.perf_counter()
        r = await translator.translate(m, "ja", "en")
        times.append(time.perf_counter() - t0)
        assert r.status == "translated", r.status
    return times


async def concurrent(
    translator, messages: list[str], concurrency: int
) -> tuple[float, list[float]]:
    sem = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(m: str) -> None:
        async with sem:
            t0 = time.perf_counter()
            r = await translator.translate(m, "ja", "en")
            latencies.append(time.perf_counter() - t0)
            assert r.status == "translated", r.status

    t0 = time.perf_counter()
    await asyncio.gather(*(one(m) for m in messages))
    return len(messages) / (time.perf_counter() - t0), latencies


async def main() -> None:
    import logging

    import structlog

    # One debug event per translation would drown the figures (and cost time).
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=30)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    )
    args = ap.parse_args()

    models = ensure_models()
    # Short messages: one sentence of 12-30 characters, as residents and counsellors write in
    # chat. Similar lengths on purpose: the untrained model never stops early, so mixing
    # lengths in one batch would charge every message the longest one's decoding (a trained
    # model ends each sentence on its own).
    pool = [x for x in corpus_lines() if not x.isascii() and 12 <= len(x) <= 30]
    n = args.messages

    def fresh(k: int, tag: str) -> list[str]:
        """Distinct texts, so nothing is served from the cache."""
        return [f"{pool[i % len(pool)]}（{tag}{i}）" for i in range(k)]

    options = EngineOptions(decoding_length_ratio=1.2, decoding_length_margin=2)
    import ctranslate2

    print(
        f"CTranslate2 {ctranslate2.__version__}, {os.cpu_count()} CPUs, beam {options.beam_size}, "
        f"intra_threads {options.intra_threads}, compute {options.compute_type}, "
        f"load average {os.getloadavg()[0]:.1f} (other work on the box slows every figure)"
    )
    t = build_translator(models, timeout=60, options=options, round_trip=False)
    t0 = time.perf_counter()
    await t.warm()
    print(f"  warm-up (load 2 models)                      {time.perf_counter() - t0:8.2f} s")
    sizes = ", ".join(
        f"{p.pair[0]}->{p.pair[1]} {p.size_bytes / 1e6:.0f} MB" for p in list_installed(models)
    )
    print(f"  models: {sizes}")

    print("short messages, one at a time, uncached:")
    report("translate", await sequential(t, fresh(n, "a")))
    t_rt = build_translator(models, timeout=60, options=options, round_trip=True)
    t_rt._engines = t._engines  # share the loaded models
    report("translate + round-trip confidence", await sequential(t_rt, fresh(n, "b")))

    print(f"concurrent requests ({args.concurrency} in flight), uncached:")
    rate, lat = await concurrent(t, fresh(n * 2, "c"), args.concurrency)
    print(f"  throughput {rate:8.1f} messages/s")
    report("latency under load", lat)
    batcher = next(iter(t._batchers.values()))
    b = next(iter(batcher.values()))
    print(f"  model calls so far: {b.batches} (requests are merged into batches)")

    print("cached (in-process LRU):")
    warm_msgs = fresh(n, "a")
    report("cached translate", await sequential(t, warm_msgs))
    rate, _ = await concurrent(t, warm_msgs * 10, args.concurrency)
    print(f"  throughput {rate:8.1f} messages/s")

    try:
        import redis.asyncio as aioredis

        client = aioredis.from_url(args.redis)
        await client.ping()
    except Exception as exc:
        print(f"Redis cache: skipped ({type(exc).__name__})")
    else:
        await client.flushdb()
        tr = build_translator(models, redis=client, timeout=60, options=options, round_trip=False)
        tr._engines = t._engines
        msgs = fresh(n, "r")
        print("Redis cache:")
        report("first (uncached, stored in Redis)", await sequential(tr, msgs))
        report("cached translate (Redis)", await sequential(tr, msgs))
        rate, _ = await concurrent(tr, msgs * 10, args.concurrency)
        print(f"  throughput {rate:8.1f} messages/s")
        await client.flushdb()
        await client.aclose()
        await tr.aclose()
    await t.aclose()
    await t_rt.aclose()
    bench_detection()
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


def bench_detection() -> None:
    from i18n.detect import detect, warm

    t0 = time.perf_counter()
    warm()
    print(f"language detection: lingua load {time.perf_counter() - t0:.2f} s")
    samples = {
        "Latin script (lingua)": "Tôi bị mất việc và không trả được tiền nhà tháng này.",
        "kana (script rule)": "家賃が払えなくて困っています。",
    }
    for name, text in samples.items():
        times = []
        for _ in range(200):
            t0 = time.perf_counter()
            detect(text)
            times.append(time.perf_counter() - t0)
        report(name, times)


if __name__ == "__main__":
    asyncio.run(main())
