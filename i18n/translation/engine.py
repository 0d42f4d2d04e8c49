"""One installed Argos package, run with CTranslate2 + sentencepiece directly.

This is the part of argostranslate's pipeline that needs no network (tokenize, translate,
detokenize); sentence splitting is ours (segment.py). Blocking calls: the Translator runs
them in its thread pool. CTranslate2's translate_batch releases the GIL and is thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from i18n.translation.packages import InstalledPackage


@dataclass(frozen=True)
class EngineOptions:
    beam_size: int = 2  # Argos uses 4; 2 halves latency on small CPUs at little cost
    max_decoding_length: int = 256
    # Output is capped at ratio * longest input + margin tokens: a degenerate model that
    # repeats itself cannot spend the time budget on a 1-word message.
    decoding_length_ratio: float = 3.0
    decoding_length_margin: int = 10
    intra_threads: int = 2  # threads per translation; the service box has 2 cores
    compute_type: str = "auto"  # int8 where the CPU supports it
    max_batch_size: int = 16  # CTranslate2 sorts by length and splits: less padding


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
                inter_threads=1,
                intra_threads=self.options.intra_threads,
            )

    def translate(self, sentences: list[str]) -> list[tuple[str, float]]:
        """Translate sentences in one CTranslate2 batch: (text, log-prob score) each."""
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
            max_decoding_length=min(
                self.options.max_decoding_length,
                int(self.options.decoding_length_ratio * max(len(t) for t in tokens))
                + self.options.decoding_length_margin,
            ),
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
