"""Translation latency and throughput with a model of the real Argos ja<->en size and shape,
against plain argostranslate on the same model in the same run.

    HF_HUB_OFFLINE=1 python bench/translation.py [--rounds 3] [--concurrency 16]
        [--round-messages 32] [--messages 30] [--redis redis://127.0.0.1:6379/14]

Builds (once, cached under $TMPDIR/madoguchi-bench-argos/) two packages shaped like Argos ja<->en —
transformer base: 6+6 layers, 512 wide, 8 heads, 2048 FFN, a 32k vocabulary, int8 as Argos
ships them — with random weights written through CTranslate2's spec API. Untrained weights
never choose </s> on their own, so </s> is disabled and the output length is set to what a
trained model writes (1.2 x the input plus 2 tokens); the cost per token is the real one.

"Plain argostranslate" is argostranslate's own API (get_translation_from_codes(...).translate,
its tokenizer, its CTranslate2 call and settings) on the same .argosmodel, installed with
argostranslate.package.install_from_path into a temporary ARGOS_PACKAGES_DIR, beam 2 and
the same threads as ours (ARGOS_BEAM_SIZE / ARGOS_INTRA_THREADS), 16 threads calling it at
once (as a server's worker threads would). Two changes, both stated in the output: its
sentence splitter (MiniSBD, which downloads a model on first use) is replaced by "the message
is one sentence" (every message here is one sentence), and its translate_batch call gets the
same output cap as ours (1.2 x input + 2), standing in for the </s> a trained model writes.
Nothing is downloaded: every socket to a non-loopback address is refused and counted.

Prints: ours vs plain, 16 concurrent, interleaved rounds and the median ratio; a short
message one at a time, uncached (p50/p95 and CPU time per message), forward only (what the
resident or counsellor waits for when the round trip follows, on_confidence=) and with the
round trip inline, and the batcher's own delay for a lone message (submit to model call);
cached answers (in-process LRU, and Redis when reachable).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from i18n.translation import build_translator, install_package, list_installed  # noqa: E402
from i18n.translation.engine import EngineOptions, available_cores  # noqa: E402
from tests.fixtures.argos.build import (  # noqa: E402
    ARGOS_BASE,
    build_random_package,
    corpus_lines,
    train_sentencepiece,
)

CACHE = Path(tempfile.gettempdir()) / "madoguchi-bench-argos"  # ~190 MB, rebuilt if missing
MODELS = CACHE / "argos-base"
RATIO, MARGIN = 1.2, 2  # a trained model's output length: 1.2 x input + 2 tokens
REFUSED: list[str] = []  # non-loopback connections attempted (must stay empty)


def guard_network() -> None:
    """Refuse (and count) every connection that is not to this machine."""
    real = socket.socket.connect

    def connect(self, address):  # type: ignore[no-untyped-def]
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and not (
            host in ("localhost", "::1") or host.startswith("127.") or host.startswith("/")
        ):
            REFUSED.append(str(host))
            raise OSError(f"bench: network refused ({host})")
        return real(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign]


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


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


class OthersCPU:
    """CPU the rest of the machine used meanwhile, in cores: busy time from /proc/stat minus
    this process's own CPU time (the box is shared, so every figure carries this)."""

    def __init__(self) -> None:
        self.busy0, self.wall0, self.own0 = self._busy(), time.perf_counter(), time.process_time()

    @staticmethod
    def _busy() -> float:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        idle = fields[3] + fields[4]
        return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")

    def cores(self) -> float:
        wall = time.perf_counter() - self.wall0
        other = (self._busy() - self.busy0) - (time.process_time() - self.own0)
        return max(0.0, other / wall) if wall > 0 else 0.0


def wait_quiet(max_seconds: float, below: float = 0.3) -> float:
    """Wait (up to max_seconds) for a second in which other processes use < `below` cores."""
    deadline = time.perf_counter() + max_seconds
    while True:
        probe = OthersCPU()
        time.sleep(1.0)
        used = probe.cores()
        if used < below or time.perf_counter() > deadline:
            return used


def report(name: str, seconds: list[float], cpu: list[float] | None = None) -> None:
    ms = [s * 1000 for s in seconds]
    extra = f"   CPU p50 {pct([c * 1000 for c in cpu], 0.5):6.1f} ms" if cpu else ""
    print(
        f"  {name:<40} p50 {pct(ms, 0.5):7.1f} ms   p95 {pct(ms, 0.95):7.1f} ms   "
        f"mean {statistics.fmean(ms):7.1f} ms{extra}   (n={len(ms)})"
    )


async def sequential(translator, messages: list[str]) -> tuple[list[float], list[float]]:
    """One at a time: wall time and process CPU time (all threads, CTranslate2's included)."""
    times, cpu = [], []
    for m in messages:
        t0, c0 = time.perf_counter(), time.process_time()
        r = await translator.translate(m, "ja", "en")
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        assert r.status == "translated", (r.status, r.note)
    return times, cpu


async def concurrent(
    translator, messages: list[str], concurrency: int
) -> tuple[float, list[float]]:
    """Closed loop: `concurrency` requests in flight until the messages run out."""
    sem = asyncio.Semaphore(concurrency)
    latencies: list[float] = []

    async def one(m: str) -> None:
        async with sem:
            t0 = time.perf_counter()
            r = await translator.translate(m, "ja", "en")
            latencies.append(time.perf_counter() - t0)
            assert r.status == "translated", (r.status, r.note)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(m) for m in messages))
    return len(messages) / (time.perf_counter() - t0), latencies


async def lone_dispatch(n: int = 100, apart: float = 0.02) -> None:
    """The batcher's own delay for a message arriving alone: submit() to the model call, with
    a stand-in engine (no model, so the load on the box hardly matters)."""
    from i18n.translation.batcher import Batcher

    class Stamp:
        version = "bench@stamp"
        called = 0.0

        def buckets(self, sentences: list[str]) -> list[list[int]]:
            return [list(range(len(sentences)))]

        def translate(self, sentences: list[str]) -> list[tuple[str, float]]:
            self.called = time.perf_counter()
            return [(x, 0.0) for x in sentences]

    engine, loop, waits = Stamp(), asyncio.get_running_loop(), []
    with ThreadPoolExecutor(1) as pool:
        b = Batcher(engine, pool)  # the default window
        for i in range(n):
            t0 = time.perf_counter()
            await b.submit([f"m{i}"], loop.time() + 30)
            waits.append(engine.called - t0)
            await asyncio.sleep(apart)
        b.close()
    report(f"lone message: submit -> model call ({apart * 1000:.0f} ms apart)", waits)


# ---- plain argostranslate ---------------------------------------------------------------


class NullCache:
    """No cache: every request reaches the model ('uncached' without altering the texts);
    used for the message cache and the per-sentence cache."""

    async def get(self, key):  # type: ignore[no-untyped-def]
        return None

    async def set(self, key, value) -> None:  # type: ignore[no-untyped-def]
        return None


class _OneSentence:
    """Stands in for argostranslate's MiniSBD splitter (which downloads a model): every
    benchmark message is one sentence, which is what MiniSBD would return for it."""

    def split_sentences(self, text: str) -> list[str]:
        return [text]


class _Capped:
    """argostranslate's CTranslate2 translator, with the output cap a trained model's </s>
    would give (the random model never ends; argostranslate passes no cap, i.e. 256)."""

    def __init__(self, translator) -> None:
        self._t = translator

    def translate_batch(self, tokens, **kw):
        kw.setdefault("max_decoding_length", int(RATIO * max(len(t) for t in tokens)) + MARGIN)
        return self._t.translate_batch(tokens, **kw)

    def __getattr__(self, name: str):
        return getattr(self._t, name)


def plain_argostranslate(models: Path, beam: int, intra: int):
    """argostranslate's own API on our ja->en package, installed its own way."""
    home = Path(tempfile.mkdtemp(prefix="bench-argos-home-"))
    os.environ.update(
        ARGOS_PACKAGES_DIR=str(home / "packages"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        ARGOS_BEAM_SIZE=str(beam),
        ARGOS_INTRA_THREADS=str(intra),
        ARGOS_INTER_THREADS="1",
        ARGOS_DEVICE_TYPE="cpu",
    )
    import argostranslate
    import argostranslate.package
    import argostranslate.translate

    pkg_dir = next(p.path for p in list_installed(models) if p.pair == ("ja", "en"))
    archive = home / "translate-ja_en.argosmodel"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        for f in pkg_dir.rglob("*"):
            z.write(f, Path(pkg_dir.name) / f.relative_to(pkg_dir))
    argostranslate.package.install_from_path(archive)
    archive.unlink()
    translation = argostranslate.translate.get_translation_from_codes("ja", "en")
    inner = translation.underlying  # CachedTranslation -> PackageTranslation
    inner.sentencizer = _OneSentence()
    translation.translate("ウォームアップ")  # loads the model the way argostranslate does
    inner.translator = _Capped(inner.translator)
    version = getattr(argostranslate, "__version__", None)
    if version is None:
        from importlib.metadata import version as v

        version = v("argostranslate")
    return translation, version


def plain_concurrent(translation, messages: list[str], concurrency: int) -> float:
    with ThreadPoolExecutor(concurrency) as pool:
        t0 = time.perf_counter()
        out = list(pool.map(translation.translate, messages))
        elapsed = time.perf_counter() - t0
    assert all(isinstance(x, str) and x for x in out)
    return len(messages) / elapsed


def plain_sequential(translation, messages: list[str]) -> tuple[list[float], list[float]]:
    times, cpu = [], []
    for m in messages:
        t0, c0 = time.perf_counter(), time.process_time()
        translation.translate(m)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return times, cpu


# ---- main -------------------------------------------------------------------------------


async def compare_concurrent(t, plain, fresh, args) -> None:
    """Ours vs plain argostranslate, `concurrency` in flight, interleaved rounds."""
    print(
        f"{args.concurrency} concurrent, uncached, {args.round_messages} messages per side per "
        f"round, interleaved:"
    )
    ratios = []
    for rnd in range(args.rounds):
        before, others = load(), OthersCPU()

        async def run_ours(rnd: int = rnd) -> tuple[float, list[float]]:
            return await concurrent(t, fresh(args.round_messages, rnd * 5), args.concurrency)

        async def run_plain(rnd: int = rnd) -> float:
            msgs = fresh(args.round_messages, rnd * 5)
            return await asyncio.to_thread(plain_concurrent, plain, msgs, args.concurrency)

        if rnd % 2 == 0:  # ABBA: the load drifts, so neither side always goes first
            ours, lat = await run_ours()
            theirs = await run_plain()
        else:
            theirs = await run_plain()
            ours, lat = await run_ours()
        ratios.append(ours / theirs)
        print(
            f"  round {rnd + 1}: ours {ours:5.2f} msg/s (p50 {pct(lat, 0.5) * 1000:5.0f} ms)   "
            f"plain argostranslate {theirs:5.2f} msg/s   ratio {ours / theirs:4.2f} x   "
            f"({before}; other processes {others.cores():.1f} cores)"
        )
    print(f"  median ratio {statistics.median(ratios):.2f} x (goal >= 2 x)")
    s = next(iter(next(iter(t._batchers.values())).values())).stats
    print(
        f"  batcher: {s.batches} batches, {s.calls} model calls, {s.sentences} sentences, "
        f"largest batch {s.largest}, coalesced {s.coalesced}"
    )



async def main() -> None:
    import logging

    import structlog

    # One debug event per translation would drown the figures (and cost time).
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=30, help="short messages one at a time")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--round-messages", type=int, default=32)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument(
        "--quiet-wait", type=float, default=0, help="wait up to N s for a quiet machine first"
    )
    ap.add_argument("--short-only", action="store_true", help="only the short-message figures")
    ap.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    )
    args = ap.parse_args()

    models = ensure_models()
    guard_network()
    # Short messages: one sentence of 12-30 characters, as residents and counsellors write in
    # chat (11-25 tokens). Without glossary terms: a random model never copies a placeholder,
    # so our pipeline translates such a message twice (the no-glossary fallback), which a
    # trained model rarely needs; plain argostranslate has no glossary. Same work both sides.
    from i18n.translation import load_glossary

    glossary = load_glossary()
    short = [x for x in corpus_lines() if not x.isascii() and 12 <= len(x) <= 30]
    pool = [x for x in short if glossary.protect(x, "ja", "en").text == x]
    print(
        f"messages: {len(pool)} one-sentence Japanese texts of 12-30 characters, the same ones "
        f"for both sides ({len(short) - len(pool)} with glossary terms left out); 'uncached' = "
        f"ours without a cache, distinct texts among those in flight"
    )
    n = min(args.messages, len(pool))
    if args.round_messages > len(pool):
        raise SystemExit(f"--round-messages must be <= {len(pool)} (distinct texts in flight)")

    def fresh(k: int, offset: int = 0) -> list[str]:
        return [pool[(offset + i) % len(pool)] for i in range(k)]

    options = EngineOptions(decoding_length_ratio=RATIO, decoding_length_margin=MARGIN)
    import ctranslate2

    print(
        f"CTranslate2 {ctranslate2.__version__}, {available_cores()} cores, beam "
        f"{options.beam_size}, inter_threads {options.inter_threads}, intra_threads "
        f"{options.intra_threads}, compute {options.compute_type}; HF_HUB_OFFLINE="
        f"{os.environ.get('HF_HUB_OFFLINE')}; {load()}"
    )
    uncached = {"cache": NullCache(), "sentence_cache": NullCache()}
    t = build_translator(models, timeout=120, options=options, round_trip=False, **uncached)
    t0 = time.perf_counter()
    await t.warm()
    print(f"  warm-up (load 2 models from {models})  {time.perf_counter() - t0:.2f} s")
    sizes = ", ".join(
        f"{p.pair[0]}->{p.pair[1]} {p.size_bytes / 1e6:.0f} MB" for p in list_installed(models)
    )
    print(f"  models: {sizes}")

    plain, plain_version = plain_argostranslate(models, options.beam_size, options.intra_threads)
    print(
        f"plain argostranslate {plain_version}: its translate API on the same ja->en package "
        f"(installed by argostranslate.package.install_from_path), beam {options.beam_size}, "
        f"intra_threads {options.intra_threads}; splitter: one sentence per message (MiniSBD "
        f"would download); output cap {RATIO} x input + {MARGIN} (as ours)"
    )

    if not args.short_only:
        await compare_concurrent(t, plain, fresh, args)
    t_rt = build_translator(
        models, timeout=120, options=options, round_trip=True, **uncached
    )
    t_rt._engines = t._engines  # share the loaded models
    if args.quiet_wait:
        used = await asyncio.to_thread(wait_quiet, args.quiet_wait)
        print(f"(waited for a quiet second: other processes {used:.2f} cores)")
    print("short message (one sentence), one at a time, uncached, interleaved message by message:")
    await lone_dispatch()
    others = OthersCPU()
    fwd = rt = pl = fresh(n)
    series: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in "frp"}
    for i in range(n):
        for k, (wall, cpu) in (
            ("f", await sequential(t, fwd[i : i + 1])),
            ("r", await sequential(t_rt, rt[i : i + 1])),
            ("p", await asyncio.to_thread(plain_sequential, plain, pl[i : i + 1])),
        ):
            series[k][0].extend(wall)
            series[k][1].extend(cpu)
    report("ours, forward (round trip follows)", *series["f"])
    report("ours, with round-trip confidence inline", *series["r"])
    report("plain argostranslate", *series["p"])
    print(f"  ({load()}; other processes {others.cores():.1f} cores meanwhile)")
    if args.short_only:
        await t.aclose()
        await t_rt.aclose()
        print(f"network: {len(REFUSED)} non-loopback connection attempts")
        return

    print("cached (in-process LRU):")
    tc = build_translator(models, timeout=120, options=options, round_trip=False)
    tc._engines = t._engines
    warm_msgs = fresh(n)
    await sequential(tc, warm_msgs)
    report("cached translate", *await sequential(tc, warm_msgs))
    rate, _ = await concurrent(tc, warm_msgs * 10, args.concurrency)
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
        msgs = fresh(n, 7)
        print("Redis cache:")
        report("first (uncached, stored in Redis)", *await sequential(tr, msgs))
        report("cached translate (Redis)", *await sequential(tr, msgs))
        rate, _ = await concurrent(tr, msgs * 10, args.concurrency)
        print(f"  throughput {rate:8.1f} messages/s")
        await client.flushdb()
        await client.aclose()
        await tr.aclose()
    await t.aclose()
    await tc.aclose()
    await t_rt.aclose()
    bench_detection()
    print(
        f"network: {len(REFUSED)} non-loopback connection attempts "
        f"({'none: models loaded from local disk only' if not REFUSED else sorted(set(REFUSED))})"
    )
    print(f"at the end: {load()}")


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
