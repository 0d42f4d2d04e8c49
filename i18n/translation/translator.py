"""The async Translator the rest of the service uses.

Degrade, never drop: every call returns a TranslationResult holding text the caller can
deliver. Without a model for the pair the original comes back with status "untranslated";
past the time budget with "timeout"; on a model failure with "error". Nothing raises.

How a call runs: normalize the language codes; find a route (a direct package, else
source→en→target); look in the cache, then among translations in flight (an identical
request already running is joined, not repeated); protect glossary terms with placeholders;
split into sentences (segment.py); hand the sentences to the model's batcher (batcher.py:
concurrent requests joined into CTranslate2 batches, bucketed by length, bounded, coalesced
per sentence); restore glossary terms; translate back for a round-trip confidence if budget
remains; cache the result.

The round trip doubles the model time. A caller that can show the translation first passes
`on_confidence=`: translate() then returns as soon as the forward translation is ready
(confidence None, note "confidence follows") and calls on_confidence(result) with the
complete result once the round trip is done (it is batched with everyone else's).
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import structlog

from i18n.translation.batcher import Batcher, Busy
from i18n.translation.cache import CacheKey, MemoryCache, RedisCache, TranslationCache
from i18n.translation.codes import UNSPACED, normalize
from i18n.translation.engine import EngineOptions, ModelEngine
from i18n.translation.glossary import Glossary, Protected, load_glossary
from i18n.translation.packages import list_installed
from i18n.translation.quality import chrf
from i18n.translation.segment import join_sentences, split_sentences

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = structlog.get_logger(__name__)

Status = Literal["translated", "same_language", "untranslated", "timeout", "error"]
PIVOT = "en"


@dataclass(frozen=True)
class TranslationResult:
    text: str  # the translation, or the original when status is not "translated"
    source: str
    target: str
    status: Status
    confidence: float | None = None  # round-trip chrF in [0, 1]; None when not measured
    model: str | None = None  # model version(s) used, "+"-joined for a pivot
    note: str | None = None  # why it degraded, or what was skipped (never message text)
    low_confidence: bool = False  # below the threshold: suggest an interpreter

    @property
    def machine_translated(self) -> bool:
        return self.status == "translated"


@dataclass(eq=False)
class _Flight:
    forward: asyncio.Future[TranslationResult]  # the forward translation (or its degrade)
    task: asyncio.Task[TranslationResult] = None  # type: ignore[assignment]  # the whole thing


class Translator:
    def __init__(
        self,
        models_dir: Path,
        *,
        redis: Redis | None = None,
        timeout: float = 8.0,
        glossary: Glossary | None = None,
        cache: TranslationCache | None = None,
        options: EngineOptions | None = None,
        round_trip: bool = True,
        low_confidence_threshold: float = 0.45,
        cache_secret: str | bytes | None = None,
        max_workers: int | None = None,
        max_batch_sentences: int = 32,
        max_pending_sentences: int = 64,
        batch_window: float = 0.003,
        sentence_cache: TranslationCache | None = None,
    ) -> None:
        self.models_dir = Path(models_dir)
        self.timeout = timeout
        self.glossary = glossary or load_glossary()
        self.cache: TranslationCache = cache or (
            RedisCache(redis) if redis is not None else MemoryCache()
        )
        self.options = options or EngineOptions()
        self.round_trip = round_trip
        self.low_confidence_threshold = low_confidence_threshold
        secret = cache_secret or b"madoguchi-translation-cache"
        self._secret = secret.encode() if isinstance(secret, str) else secret
        # One model call at a time per CTranslate2 replica (inter_threads), whichever model:
        # each call already uses intra_threads cores, so more at once would only contend.
        self._parallel = max(1, self.options.inter_threads)
        self._executor = ThreadPoolExecutor(
            max_workers=max_workers or self._parallel + 1, thread_name_prefix="mt"
        )
        self._max_batch = max_batch_sentences
        self._max_pending = max_pending_sentences
        self._window = batch_window
        self._engines: dict[tuple[str, str], ModelEngine] = {}
        self._batchers: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, Batcher]
        ] = weakref.WeakKeyDictionary()
        self._slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        # Identical requests in flight (same text, route, mode) share one computation.
        self._flights: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, _Flight]
        ] = weakref.WeakKeyDictionary()
        self._background: set[asyncio.Task[None]] = set()  # on_confidence deliveries
        # per process, sealed; one entry per (sentence, model)
        self._sentence_cache: TranslationCache = sentence_cache or MemoryCache(max_entries=4096)
        self.reload()

    # ---- models -------------------------------------------------------------------------

    def reload(self) -> None:
        """Rescan the models directory (after `translate install`). Loaded models whose
        files did not change are kept."""
        old = {e.version: e for e in self._engines.values()}
        engines: dict[tuple[str, str], ModelEngine] = {}
        for pkg in list_installed(self.models_dir):
            engine = old.get(pkg.model_version) or ModelEngine(pkg, self.options)
            engines.setdefault(pkg.pair, engine)
        self._engines = engines

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return sorted(self._engines)

    def route(self, source: str, target: str) -> list[ModelEngine] | None:
        """Models to chain for source→target: direct, else through English."""
        src, tgt = normalize(source), normalize(target)
        direct = self._engines.get((src, tgt))
        if direct is not None:
            return [direct]
        first, second = self._engines.get((src, PIVOT)), self._engines.get((PIVOT, tgt))
        if first is not None and second is not None:
            return [first, second]
        return None

    def supports(self, source: str, target: str) -> bool:
        src, tgt = normalize(source), normalize(target)
        return src == tgt or self.route(src, tgt) is not None

    async def warm(self, pairs: list[tuple[str, str]] | None = None) -> list[str]:
        """Load models (all installed, or those the given pairs need) and run one sentence
        through each so the first resident does not wait. Returns the warmed versions."""
        engines: dict[str, ModelEngine] = {}
        if pairs is None:
            engines = {e.version: e for e in self._engines.values()}
        else:
            for s, t in pairs:
                for e in self.route(s, t) or []:
                    engines[e.version] = e
        loop = asyncio.get_running_loop()
        warmed = []
        for version, engine in engines.items():
            try:
                await loop.run_in_executor(self._executor, engine.translate, ["warm up"])
                warmed.append(version)
            except Exception as exc:
                log.error("translation_model_load_failed", model=version, error=type(exc).__name__)
        return warmed

    async def aclose(self) -> None:
        for batchers in list(self._batchers.values()):
            for b in batchers.values():
                b.close()
        for flights in list(self._flights.values()):
            for f in flights.values():
                f.task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ---- translation --------------------------------------------------------------------

    def _batcher(self, engine: ModelEngine) -> Batcher:
        loop = asyncio.get_running_loop()
        per_loop = self._batchers.setdefault(loop, {})
        b = per_loop.get(engine.version)
        if b is None:
            slots = self._slots.get(loop)
            if slots is None:
                slots = self._slots[loop] = asyncio.Semaphore(self._parallel)
            b = per_loop[engine.version] = Batcher(
                engine,
                self._executor,
                max_batch=self._max_batch,
                max_pending=self._max_pending,
                window=self._window,
                slots=slots,
            )
        return b

    async def _translate_text(
        self, text: str, source: str, target: str, engines: list[ModelEngine], deadline: float
    ) -> str:
        """Split, run the sentences through the chain of models, reassemble."""
        pieces = split_sentences(text, source)
        todo = [p.text for p in pieces if p.translatable]
        for engine in engines:
            if not todo:
                break
            todo = await self._through(engine, todo, deadline)
        it = iter(todo)
        out = [(next(it) if p.translatable else p.text, p.sep) for p in pieces]
        return join_sentences(out, target in UNSPACED)

    async def _through(self, engine: ModelEngine, sentences: list[str], deadline: float) -> list[str]:
        """One model hop, with a per-sentence cache in front: the same sentence through the same
        model (a resident's message to English for the risk screen, then to Japanese through
        English) is translated once. Values are sealed like the message cache's."""
        keys = [CacheKey(s, f"sentence|{engine.version}", self._secret) for s in sentences]
        known = [await self._sentence_cache.get(k) for k in keys]
        missing = [s for s, v in zip(sentences, known, strict=True) if v is None]
        fresh: dict[str, str] = {}
        if missing:
            done = await self._batcher(engine).submit(missing, deadline)
            fresh = dict(zip(missing, done, strict=True))
            for s, k in zip(sentences, keys, strict=True):
                if s in fresh:
                    await self._sentence_cache.set(k, {"t": fresh[s]})
        return [
            v["t"] if v is not None else fresh[s] for s, v in zip(sentences, known, strict=True)
        ]

    async def translate(
        self,
        text: str,
        source: str,
        target: str,
        *,
        on_confidence: Callable[[TranslationResult], Awaitable[None]] | None = None,
    ) -> TranslationResult:
        """Translate text; never raises. With on_confidence, return as soon as the forward
        translation is ready: if the round trip is still running, the result has confidence
        None (note "confidence follows") and on_confidence(complete result) is awaited once it
        is done; otherwise the result is already complete and on_confidence is not called."""
        started = time.perf_counter()
        src, tgt = normalize(source or ""), normalize(target or "")
        text = text if isinstance(text, str) else ("" if text is None else str(text))
        base = TranslationResult(text, src, tgt, "untranslated")
        if src == tgt:
            return replace(base, status="same_language")
        engines = self.route(src, tgt)
        if engines is None:
            return self._done(replace(base, note=f"no translation model for {src}->{tgt}"), started)
        if not any(p.translatable for p in split_sentences(text, src)):
            return self._done(
                replace(base, status="translated", confidence=1.0, note="nothing to translate"),
                started,
            )

        model = "+".join(e.version for e in engines)
        back = self.route(tgt, src) if self.round_trip else None
        route_id = f"{src}>{tgt}|{model}|{'+'.join(e.version for e in back or [])}|g{self.glossary.version}"
        key = CacheKey(text, route_id, self._secret)
        cached = await self.cache.get(key)
        if cached is not None:
            return self._done(TranslationResult(**cached), started, cached=True)

        loop = asyncio.get_running_loop()
        flights = self._flights.setdefault(loop, {})
        flight = flights.get(key.id)
        if flight is None:  # else: the same text is being translated now; join it
            flight = _Flight(loop.create_future())
            flight.task = loop.create_task(
                self._fly(flight, text, src, tgt, engines, back, model, key, base)
            )
            flights[key.id] = flight
            flight.task.add_done_callback(
                lambda _t, k=key.id, f=flight: flights.pop(k) if flights.get(k) is f else None
            )
        if on_confidence is None:
            return self._done(await asyncio.shield(flight.task), started)
        result = await asyncio.shield(flight.forward)
        if flight.task.done() and not flight.task.cancelled():
            return self._done(flight.task.result(), started)
        if result.status != "translated" or back is None:
            return self._done(result, started)

        async def later() -> None:
            try:
                final = await flight.task
                await on_confidence(final)
            except Exception as exc:
                log.warning("translation_confidence_callback_failed", error=type(exc).__name__)

        job = loop.create_task(later())
        self._background.add(job)
        job.add_done_callback(self._background.discard)
        return self._done(replace(result, note=_join(result.note, "confidence follows")), started)

    async def _fly(
        self,
        flight: _Flight,
        text: str,
        src: str,
        tgt: str,
        engines: list[ModelEngine],
        back: list[ModelEngine] | None,
        model: str,
        key: CacheKey,
        base: TranslationResult,
    ) -> TranslationResult:
        """One translation in flight: forward (flight.forward is set as soon as it is ready),
        then the round trip, then the cache. Degraded results are not cached."""
        deadline = asyncio.get_running_loop().time() + self.timeout
        try:
            try:
                async with asyncio.timeout_at(deadline):
                    result, protected_source, protected_out = await self._forward(
                        text, src, tgt, engines, model, deadline
                    )
            except Busy:
                result = replace(
                    base, status="timeout", model=model, note="translation queue full"
                )
                flight.forward.set_result(result)
                return result
            except TimeoutError:
                result = replace(
                    base, status="timeout", model=model, note=f"over the {self.timeout:g}s budget"
                )
                flight.forward.set_result(result)
                return result
            except Exception as exc:
                log.warning("translation_failed", source=src, target=tgt, error=type(exc).__name__)
                result = replace(base, status="error", model=model, note=type(exc).__name__)
                flight.forward.set_result(result)
                return result

            if back is None:
                result = replace(
                    result, note=_join(result.note, f"no {tgt}->{src} model for a confidence")
                )
                flight.forward.set_result(result)
            else:
                flight.forward.set_result(result)
                result = await self._with_confidence(
                    result, protected_source, protected_out, back, deadline
                )
            await self.cache.set(key, asdict(result))
            return result
        finally:
            if not flight.forward.done():
                flight.forward.cancel()

    async def _forward(
        self,
        text: str,
        src: str,
        tgt: str,
        engines: list[ModelEngine],
        model: str,
        deadline: float,
    ) -> tuple[TranslationResult, str, str]:
        protected = self.glossary.protect(text, src, tgt)
        out = await self._translate_text(protected.text, src, tgt, engines, deadline)
        restored = self.glossary.restore(out, protected, tgt)
        note = None
        if restored is None:
            # The model lost or invented a placeholder: translate the plain text instead.
            out = await self._translate_text(text, src, tgt, engines, deadline)
            restored, protected = out, Protected(text, (), ())
            note = "glossary placeholders lost; translated without the glossary"
        result = TranslationResult(restored, src, tgt, "translated", model=model, note=note)
        return result, protected.text, out

    async def _with_confidence(
        self,
        result: TranslationResult,
        protected_source: str,
        protected_out: str,
        back: list[ModelEngine],
        deadline: float,
    ) -> TranslationResult:
        try:
            async with asyncio.timeout_at(deadline):
                round_trip = await self._translate_text(
                    protected_out, result.target, result.source, back, deadline
                )
        except TimeoutError:
            return replace(result, note=_join(result.note, "no confidence: time budget used"))
        except Busy:
            return replace(result, note=_join(result.note, "no confidence: queue full"))
        except Exception as exc:
            log.warning(
                "translation_round_trip_failed",
                source=result.target,
                target=result.source,
                error=type(exc).__name__,
            )
            return replace(result, note=_join(result.note, "no confidence: round trip failed"))
        confidence = round(chrf(round_trip, protected_source), 3)
        return replace(
            result,
            confidence=confidence,
            low_confidence=confidence < self.low_confidence_threshold,
        )

    def _done(
        self, result: TranslationResult, started: float, cached: bool = False
    ) -> TranslationResult:
        # Codes, status and timing only: never the text.
        log.debug(
            "translation",
            source=result.source,
            target=result.target,
            status=result.status,
            cached=cached,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return result


def _join(a: str | None, b: str) -> str:
    return f"{a}; {b}" if a else b


def build_translator(
    models_dir: Path,
    redis: Redis | None = None,
    timeout: float = 8.0,
    **kwargs: Any,
) -> Translator:
    """The factory the app uses: Translator(models_dir, redis=..., timeout=...)."""
    return Translator(Path(models_dir), redis=redis, timeout=timeout, **kwargs)
