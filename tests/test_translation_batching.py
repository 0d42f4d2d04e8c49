"""The translation batcher (i18n/translation/batcher.py) and what the Translator builds on it:
concurrent requests joined into model calls, order kept, failures isolated, buckets by
length so a long sentence neither truncates nor holds up a short one, a bounded queue and a
time budget that deliver the original, coalescing of identical work in flight, and the round
trip off the caller's path (on_confidence=).

The batcher's own behaviour is tested with a scripted engine (deterministic, no model); the
caps and the Translator paths with real CTranslate2 packages built here (random weights)."""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.requirements import require

HAVE_CT2 = all(importlib.util.find_spec(m) for m in ("ctranslate2", "sentencepiece"))


class ScriptedEngine:
    """Stands in for ModelEngine: 'translates' by upper-casing, records every call, fails on
    sentences containing 'bad', can be held at a gate, buckets by word count."""

    version = "xx-yy@scripted"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.gate: threading.Event | None = None
        self.entered = threading.Event()

    def buckets(self, sentences: list[str]) -> list[list[int]]:
        order = sorted(range(len(sentences)), key=lambda i: len(sentences[i].split()))
        groups: dict[bool, list[int]] = {}
        for i in order:
            groups.setdefault(len(sentences[i].split()) > 5, []).append(i)
        return [groups[k] for k in sorted(groups)]

    def translate(self, sentences: list[str]) -> list[tuple[str, float]]:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        self.calls.append(list(sentences))
        if any("bad" in s for s in sentences):
            raise RuntimeError("model failure")
        return [(s.upper(), 0.0) for s in sentences]


@pytest.fixture
def executor():
    pool = ThreadPoolExecutor(2)
    yield pool
    pool.shutdown(wait=False, cancel_futures=True)


def _later(seconds: float = 30.0) -> float:
    return asyncio.get_running_loop().time() + seconds


async def test_concurrent_requests_join_one_batch_in_order(executor) -> None:
    from i18n.translation.batcher import Batcher

    engine = ScriptedEngine()
    b = Batcher(engine, executor, window=0.01)
    requests = [[f"a{i}", f"b{i}", f"a{i}"] for i in range(10)]  # a repeat inside a request
    out = await asyncio.gather(*(b.submit(r, _later()) for r in requests))
    assert out == [[s.upper() for s in r] for r in requests]
    assert b.stats.batches == 1 and len(engine.calls) == 1
    assert sorted(engine.calls[0]) == sorted({s for r in requests for s in r})  # each once


async def test_one_failing_sentence_fails_only_its_request(executor) -> None:
    from i18n.translation.batcher import Batcher

    engine = ScriptedEngine()
    b = Batcher(engine, executor, window=0.01)
    results = await asyncio.gather(
        b.submit(["good one"], _later()),
        b.submit(["a bad one", "fine"], _later()),
        b.submit(["good two"], _later()),
        return_exceptions=True,
    )
    assert results[0] == ["GOOD ONE"] and results[2] == ["GOOD TWO"]
    assert isinstance(results[1], RuntimeError)
    assert b.stats.batches == 1  # one batch; its failed call was retried sentence by sentence
    assert ["a bad one"] in engine.calls


async def test_short_sentences_are_delivered_before_a_long_one_is_translated(executor) -> None:
    from i18n.translation.batcher import Batcher

    engine = ScriptedEngine()
    b = Batcher(engine, executor, window=0.01)
    long = "one two three four five six seven eight nine ten"
    done: list[str] = []

    async def ask(text: str) -> None:
        await b.submit([text], _later())
        done.append(text)

    await asyncio.gather(ask(long), ask("short"), ask("also short"))
    assert engine.calls == [["short", "also short"], [long]]  # one call per bucket, short first
    assert done.index(long) == 2  # the short ones had their answer first


async def test_a_lone_request_does_not_wait_for_the_batch_window(executor) -> None:
    """A message arriving alone goes to the model at once; the window only helps when others
    are arriving with it (a 30 s window would make this wait 30 s if it were applied)."""
    from i18n.translation.batcher import Batcher

    engine = ScriptedEngine()
    b = Batcher(engine, executor, window=30.0)
    assert await asyncio.wait_for(b.submit(["alone"], _later()), 5) == ["ALONE"]
    assert engine.calls == [["alone"]]
    b.close()


async def test_requests_arriving_close_together_still_wait_to_join(executor) -> None:
    """The window still applies when a request follows another within it: the second and
    third (each within the window of the one before) join one call."""
    from i18n.translation.batcher import Batcher

    engine = ScriptedEngine()
    engine.gate = threading.Event()
    b = Batcher(engine, executor, window=0.2)
    first = asyncio.ensure_future(b.submit(["one"], _later()))
    await asyncio.to_thread(engine.entered.wait, 5)  # "one" went alone, the model is busy
    second = asyncio.ensure_future(b.submit(["two"], _later()))
    await asyncio.sleep(0.01)
    third = asyncio.ensure_future(b.submit(["three"], _later()))
    engine.gate.set()
    assert await asyncio.gather(first, second, third) == [["ONE"], ["TWO"], ["THREE"]]
    assert engine.calls == [["one"], ["two", "three"]]
    b.close()


async def test_identical_sentences_in_flight_are_translated_once(executor) -> None:
    from i18n.translation.batcher import Batcher

    engine = ScriptedEngine()
    engine.gate = threading.Event()
    b = Batcher(engine, executor, window=0)
    first = asyncio.create_task(b.submit(["same"], _later()))
    await asyncio.to_thread(engine.entered.wait, 10)  # "same" is being translated now
    second = asyncio.create_task(b.submit(["same", "other"], _later()))
    await asyncio.sleep(0.01)
    engine.gate.set()
    assert await first == ["SAME"] and await second == ["SAME", "OTHER"]
    assert engine.calls == [["same"], ["other"]]
    assert b.stats.coalesced == 1


async def test_a_full_queue_refuses_at_once(executor) -> None:
    from i18n.translation.batcher import Batcher, Busy

    engine = ScriptedEngine()
    engine.gate = threading.Event()
    b = Batcher(engine, executor, window=0, max_pending=2)
    running = asyncio.create_task(b.submit(["x"], _later()))
    await asyncio.to_thread(engine.entered.wait, 10)
    queued = asyncio.create_task(b.submit(["y", "z"], _later()))
    await asyncio.sleep(0)
    assert b.pending == 2
    with pytest.raises(Busy):
        await b.submit(["w"], _later())
    joined = asyncio.create_task(b.submit(["y"], _later()))  # already queued: joins, allowed
    engine.gate.set()
    assert await running == ["X"] and await queued == ["Y", "Z"] and await joined == ["Y"]
    assert b.stats.rejected == 1


async def test_sentences_past_their_deadline_never_reach_the_model(executor) -> None:
    from i18n.translation.batcher import Batcher

    engine = ScriptedEngine()
    engine.gate = threading.Event()
    b = Batcher(engine, executor, window=0)
    running = asyncio.create_task(b.submit(["x"], _later()))
    await asyncio.to_thread(engine.entered.wait, 10)
    late = asyncio.create_task(b.submit(["too late"], asyncio.get_running_loop().time()))
    gave_up = asyncio.create_task(b.submit(["abandoned"], _later()))
    await asyncio.sleep(0)
    gave_up.cancel()  # its requester left (the Translator's time budget cancels like this)
    engine.gate.set()
    assert await running == ["X"]
    with pytest.raises(TimeoutError):
        await late
    await asyncio.sleep(0.05)
    assert engine.calls == [["x"]]
    assert b.stats.expired == 2


# ---- with CTranslate2 models ------------------------------------------------------------


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not HAVE_CT2:
        return Path("/nonexistent")
    from i18n.translation import install_package
    from tests.fixtures.argos.build import build_random_package, train_sentencepiece

    out = tmp_path_factory.mktemp("argos-batching")
    sp = train_sentencepiece(out / "sp.model")
    d = out / "models"
    for i, (s, t) in enumerate((("vi", "en"), ("en", "vi"))):
        # never_end: every output runs to its cap, so output length shows which cap applied
        install_package(build_random_package(out, s, t, sp_model=sp, seed=i, never_end=True), d)
    return d


@pytest.fixture
def _ct2() -> None:
    require("ctranslate2 + sentencepiece", HAVE_CT2, "pip install ctranslate2 sentencepiece")


@pytest.mark.usefixtures("_ct2")
async def test_a_long_sentence_does_not_change_a_short_ones_cap(models_dir: Path) -> None:
    from i18n.translation import build_translator
    from i18n.translation.engine import EngineOptions

    options = EngineOptions(decoding_length_ratio=1.0, decoding_length_margin=2)
    short = "Tôi cần giúp đỡ."
    long = "Tôi bị mất việc và không trả được tiền nhà tháng này, tôi cần giúp đỡ ngay. " * 3
    alone = build_translator(models_dir, options=options, round_trip=False)
    together = build_translator(models_dir, options=options, round_trip=False)
    try:
        solo = await alone.translate(short, "vi", "en")
        both = await asyncio.gather(
            together.translate(long.strip(), "vi", "en"), together.translate(short, "vi", "en")
        )
        engine = together.route("vi", "en")[0]
        assert engine.buckets([short, long.strip()]) == [[0], [1]]
        assert both[1].text == solo.text  # the same cap, so the same (capped) output
        assert len(both[0].text) > 2 * len(both[1].text)
        stats = together._batcher(engine).stats
        assert stats.batches == 1 and stats.calls == 2  # one batch, one call per bucket
    finally:
        await alone.aclose()
        await together.aclose()


@pytest.mark.usefixtures("_ct2")
async def test_identical_requests_in_flight_share_one_translation(
    models_dir: Path, monkeypatch
) -> None:
    from i18n.translation import build_translator
    from i18n.translation.engine import ModelEngine

    calls: list[list[str]] = []
    real = ModelEngine.translate

    def counting(self, sentences):
        calls.append(list(sentences))
        return real(self, sentences)

    monkeypatch.setattr(ModelEngine, "translate", counting)
    t = build_translator(models_dir)
    try:
        results = await asyncio.gather(*(t.translate("Tôi bị mất việc.", "vi", "en") for _ in range(5)))
        assert len({r.text for r in results}) == 1 and all(r.confidence is not None for r in results)
        assert calls.count(["Tôi bị mất việc."]) == 1  # forward once (the round trip is en->vi)
        assert len(calls) == 2
    finally:
        await t.aclose()


@pytest.mark.usefixtures("_ct2")
async def test_a_full_queue_delivers_the_original_marked(models_dir: Path, monkeypatch) -> None:
    from i18n.translation import build_translator
    from i18n.translation.engine import ModelEngine

    gate, entered = threading.Event(), threading.Event()
    real = ModelEngine.translate

    def held(self, sentences):
        entered.set()
        gate.wait(10)
        return real(self, sentences)

    monkeypatch.setattr(ModelEngine, "translate", held)
    t = build_translator(models_dir, round_trip=False, max_pending_sentences=1, batch_window=0)
    try:
        first = asyncio.create_task(t.translate("Tôi bị mất việc.", "vi", "en"))
        await asyncio.to_thread(entered.wait, 10)
        second = asyncio.create_task(t.translate("Tôi cần giúp đỡ.", "vi", "en"))
        await asyncio.sleep(0.01)  # queued: the queue is now full
        r = await t.translate("Con tôi bị ốm.", "vi", "en")
        assert (r.status, r.text, r.note) == ("timeout", "Con tôi bị ốm.", "translation queue full")
        gate.set()
        assert (await first).status == "translated" and (await second).status == "translated"
    finally:
        gate.set()
        await t.aclose()


@pytest.mark.usefixtures("_ct2")
async def test_the_round_trip_can_follow_the_translation(models_dir: Path) -> None:
    from i18n.translation import build_translator

    t = build_translator(models_dir, timeout=30)
    got: list = []
    done = asyncio.Event()

    async def on_confidence(result) -> None:
        got.append(result)
        done.set()

    try:
        fast = await t.translate("Tôi bị mất việc.", "vi", "en", on_confidence=on_confidence)
        assert fast.status == "translated" and fast.confidence is None
        assert "confidence follows" in (fast.note or "")
        await asyncio.wait_for(done.wait(), 30)
        (final,) = got
        assert final.text == fast.text and final.confidence is not None
        assert final.low_confidence == (final.confidence < t.low_confidence_threshold)
        # The complete result is what the cache keeps; a cached answer needs no callback.
        again = await t.translate("Tôi bị mất việc.", "vi", "en", on_confidence=on_confidence)
        assert again == final and len(got) == 1
    finally:
        await t.aclose()


def test_threads_follow_the_cores() -> None:
    from i18n.translation.engine import EngineOptions, available_cores, thread_plan

    assert thread_plan(1) == (1, 1) and thread_plan(2) == (1, 2) and thread_plan(4) == (1, 4)
    assert thread_plan(8) == (2, 4) and thread_plan(16) == (4, 4)
    for cores in range(1, 33):
        inter, intra = thread_plan(cores)
        assert inter * intra <= cores
    options = EngineOptions()
    assert (options.inter_threads, options.intra_threads) == thread_plan(available_cores())


@pytest.mark.usefixtures("_ct2")
async def test_a_sentence_already_translated_by_a_model_is_not_sent_again(
    models_dir: Path, monkeypatch
) -> None:
    from i18n.translation import build_translator
    from i18n.translation.engine import ModelEngine

    calls: list[list[str]] = []
    real = ModelEngine.translate

    def counting(self, sentences):
        calls.append(list(sentences))
        return real(self, sentences)

    monkeypatch.setattr(ModelEngine, "translate", counting)
    t = build_translator(models_dir, round_trip=False)
    try:
        first = await t.translate("Tôi bị mất việc.", "vi", "en")
        second = await t.translate("Tôi bị mất việc. Con tôi bị ốm.", "vi", "en")
        assert calls == [["Tôi bị mất việc."], ["Con tôi bị ốm."]]
        assert second.text.startswith(first.text)
    finally:
        await t.aclose()
