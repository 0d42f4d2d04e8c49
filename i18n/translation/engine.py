"""One installed Argos package, run with CTranslate2 + sentencepiece directly.

This is the part of argostranslate's pipeline that needs no network (tokenize, translate,
detokenize); sentence splitting is ours (segment.py). Blocking calls: the batcher runs them
in worker threads. CTranslate2's translate_batch releases the GIL and is thread-safe.

CTranslate2 applies one output cap (max_decoding_length) per translate_batch call, so a call
costs what its longest sentence is allowed to cost. `buckets()` groups sentences of similar
token length; the batcher makes one call per bucket, shortest first, so a long sentence
neither truncates nor delays a short one beyond its own cap.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

from i18n.translation.packages import InstalledPackage


def available_cores() -> int:
    """Cores this process may run on (the affinity mask, else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def thread_plan(cores: int) -> tuple[int, int]:
    """(inter_threads, intra_threads) for this many cores: one batch at a time using every
    core up to 4 (a short message's latency is what residents feel); beyond that, parallel
    batches of 4 threads each, so inter * intra never exceeds the cores."""
    if cores <= 4:
        return 1, cores
    return cores // 4, 4


def _default_inter() -> int:
    return thread_plan(available_cores())[0]


def _default_intra() -> int:
    return thread_plan(available_cores())[1]


@dataclass(frozen=True)
class EngineOptions:
    beam_size: int = 2  # Argos uses 4; 2 halves latency on small CPUs at little cost
    max_decoding_length: int = 256
    # Output is capped per bucket at ratio * its longest input + margin tokens: a degenerate
    # model that repeats itself cannot spend the time budget on a 1-word message.
    decoding_length_ratio: float = 3.0
    decoding_length_margin: int = 10
    # Threads sized to the cores this process may use (see thread_plan).
    inter_threads: int = field(default_factory=_default_inter)  # batches run in parallel
    intra_threads: int = field(default_factory=_default_intra)  # threads per batch
    compute_type: str = "auto"  # int8 where the CPU supports it
    max_batch_size: int = 32  # sentences per CTranslate2 call
    # Bucket growth: a bucket holds token lengths up to bucket_growth x its shortest (+2),
    # so no sentence pays more than about that factor of its own cap.
    bucket_growth: float = 1.5

    def cap(self, longest_tokens: int) -> int:
        return min(
            self.max_decoding_length,
            int(self.decoding_length_ratio * longest_tokens) + self.decoding_length_margin,
        )


class ModelEngine:
    def __init__(self, package: InstalledPackage, options: EngineOptions) -> None:
        self.package = package
        self.options = options
        self.version = package.model_version
        self._translator: Any = None
        self._sp: Any = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._translator is not None

    def load(self) -> None:
        """Load the model (slow: hundreds of ms for a real package); idempotent."""
        with self._lock:
            if self._translator is not None:
                return
            import ctranslate2
            import sentencepiece as spm

            path = self.package.path
            self._sp = spm.SentencePieceProcessor(model_file=str(path / "sentencepiece.model"))
            self._translator = ctranslate2.Translator(
                str(path / "model"),
                device="cpu",
                compute_type=self.options.compute_type,
                inter_threads=self.options.inter_threads,
                intra_threads=self.options.intra_threads,
            )

    def token_lengths(self, sentences: list[str]) -> list[int]:
        self.load()
        return [len(self._sp.encode(s, out_type=int)) for s in sentences]

    def buckets(self, sentences: list[str]) -> list[list[int]]:
        """Indices of `sentences` grouped by token length, shortest group first; each group
        is one translate_batch call with its own output cap."""
        if not sentences:
            return []
        lengths = self.token_lengths(sentences)
        order = sorted(range(len(sentences)), key=lambda i: lengths[i])
        groups: list[list[int]] = []
        limit = -1.0
        for i in order:
            if not groups or lengths[i] > limit or len(groups[-1]) >= self.options.max_batch_size:
                groups.append([])
                limit = lengths[i] * self.options.bucket_growth + 2
            groups[-1].append(i)
        return groups

    def translate(self, sentences: list[str]) -> list[tuple[str, float]]:
        """Translate sentences in one CTranslate2 call: (text, log-prob score) each. The
        output cap follows the longest sentence: callers group by length (buckets())."""
        if not sentences:
            return []
        self.load()
        tokens = [self._sp.encode(s, out_type=str) for s in sentences]
        prefix = self.package.info.metadata.get("target_prefix") or ""
        target_prefix = [[prefix]] * len(tokens) if prefix else None
        results = self._translator.translate_batch(
            tokens,
            target_prefix=target_prefix,
            beam_size=self.options.beam_size,
            max_batch_size=self.options.max_batch_size,
            max_decoding_length=self.options.cap(max(len(t) for t in tokens)),
            replace_unknowns=True,
            length_penalty=0.2,
            return_scores=True,
        )
        out = []
        for res in results:
            hyp = res.hypotheses[0]
            if prefix and hyp and hyp[0] == prefix:
                hyp = hyp[1:]
            text = self._sp.decode_pieces(hyp).replace("▁", " ").strip()
            out.append((text, float(res.scores[0]) if res.scores else 0.0))
        return out
