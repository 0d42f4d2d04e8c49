"""The async Translator the rest of the service uses.

Degrade, never drop: every call returns a TranslationResult holding text the caller can
deliver. Without a model for the pair the original comes back with status "untranslated";
past the time budget with "timeout"; on a model failure with "error". Nothing raises.

How a call runs: normalize the language codes; find a route (a direct package, else
source→en→target); look in the cache; protect glossary terms with placeholders; split into
sentences (segment.py); hand the sentences to a per-model batcher, which merges concurrent
requests into one CTranslate2 batch in a worker thread; restore glossary terms; translate
back for a round-trip confidence if budget remains; cache the result.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import structlog

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


class _Batcher:
    """Merges concurrent requests for one model into one translate_batch call."""

    def __init__(self, engine: ModelEngine, executor: ThreadPoolExecutor, max_sentences: int):
        self.engine = engine
        self.executor = executor
        self.max_sentences = max_sentences
        self.queue: asyncio.Queue[tuple[list[str], asyncio.Future[list[str]]]] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.batches = 0  # for tests and the benchmark: how many model calls ran

    async def submit(self, sentences: list[str]) -> list[str]:
        fut: asyncio.Future[list[str]] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((sentences, fut))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run(), name=f"mt-batch-{self.engine.version}")
        return await fut

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            item = await self.queue.get()
            await asyncio.sleep(0)  # let requests made in the same tick join this batch
            items = [item]
            count = len(item[0])
            while not self.queue.empty() and count < self.max_sentences:
                nxt = self.queue.get_nowait()
                items.append(nxt)
                count += len(nxt[0])
            items = [(s, f) for s, f in items if not f.done()]  # timed out meanwhile
            if not items:
                continue
            unique = list(dict.fromkeys(s for sentences, _ in items for s in sentences))
            try:
                self.batches += 1
                results = await loop.run_in_executor(self.executor, self.engine.translate, unique)
            except Exception as exc:
                for _, fut in items:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            by_source = {s: text for s, (text, _score) in zip(unique, results, strict=True)}
            for sentences, fut in items:
                if not fut.done():
                    fut.set_result([by_source[s] for s in sentences])


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
        max_workers: int = 2,
        max_batch_sentences: int = 64,
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
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="mt")
        self._max_batch = max_batch_sentences
        self._engines: dict[tuple[str, str], ModelEngine] = {}
        self._batchers: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[str, _Batcher]
        ] = weakref.WeakKeyDictionary()
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
                if b.task is not None:
                    b.task.cancel()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # ---- translation --------------------------------------------------------------------

    def _batcher(self, engine: ModelEngine) -> _Batcher:
        loop = asyncio.get_running_loop()
        per_loop = self._batchers.setdefault(loop, {})
        b = per_loop.get(engine.version)
        if b is None:
            b = per_loop[engine.version] = _Batcher(engine, self._executor, self._max_batch)
        return b

    async def _translate_text(
        self, text: str, source: str, target: str, engines: list[ModelEngine]
    ) -> str:
        """Split, run the sentences through the chain of models, reassemble."""
        pieces = split_sentences(text, source)
        todo = [p.text for p in pieces if p.translatable]
        for engine in engines:
            if not todo:
                break
            todo = await self._batcher(engine).submit(todo)
        it = iter(todo)
        out = [(next(it) if p.translatable else p.text, p.sep) for p in pieces]
        return join_sentences(out, target in UNSPACED)

    async def translate(self, text: str, source: str, target: str) -> TranslationResult:
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

        deadline = asyncio.get_running_loop().time() + self.timeout
        try:
            async with asyncio.timeout_at(deadline):
                result = await self._forward(text, src, tgt, engines, model)
        except TimeoutError:
            return self._done(
                replace(
                    base, status="timeout", model=model, note=f"over the {self.timeout:g}s budget"
                ),
                started,
            )
        except Exception as exc:
            log.warning("translation_failed", source=src, target=tgt, error=type(exc).__name__)
            return self._done(
                replace(base, status="error", model=model, note=type(exc).__name__), started
            )

        result, protected_source, protected_out = result
        if back is not None:
            result = await self._with_confidence(
                result, protected_source, protected_out, back, deadline
            )
        else:
            result = replace(
                result, note=_join(result.note, f"no {tgt}->{src} model for a confidence")
            )
        await self.cache.set(key, asdict(result))
        return self._done(result, started)

    async def _forward(
        self, text: str, src: str, tgt: str, engines: list[ModelEngine], model: str
    ) -> tuple[TranslationResult, str, str]:
        protected = self.glossary.protect(text, src, tgt)
        out = await self._translate_text(protected.text, src, tgt, engines)
        restored = self.glossary.restore(out, protected, tgt)
        note = None
        if restored is None:
            # The model lost or invented a placeholder: translate the plain text instead.
            out = await self._translate_text(text, src, tgt, engines)
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
                    protected_out, result.target, result.source, back
                )
        except TimeoutError:
            return replace(result, note=_join(result.note, "no confidence: time budget used"))
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
