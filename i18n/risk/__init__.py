"""Risk screening of free text: suicide, self-harm, medical emergencies, violence at home and
from others, child abuse, nowhere to sleep, no food.

Layers, all offline: normalisation shared by terms and text (normalize.py); every language's
lexicon matched on word forms in one automaton pass (lexicon.py, japanese.py); a multilingual
sentence encoder with a small trained head (learned.py). Either the lexicon or the head flags;
negated, past, third-party and hypothetical mentions lower the level to "look", they never hide
a message. Message text is never logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import learned, lexicon
from .normalize import normalize, pre

__all__ = ["KINDS", "LEVELS", "RiskFinding", "Status", "normalize", "screen", "status", "warm"]

# The kinds of danger a centre meets, in the order responses are given (most urgent first).
# Stable names: the dialog, the catalogs, the profiles' contacts and the console key on them.
KINDS = (
    "suicide", "self_harm", "medical", "domestic_violence", "child_abuse", "violence",
    "no_shelter", "no_food",
)
# Levels: "emergency" (contacts at once, urgent in the queue) and "look" (a counsellor looks
# soon: negated, past, third-party or hypothetical mentions).
LEVELS = ("emergency", "look")
Status = learned.Status


@dataclass(frozen=True)
class RiskFinding:
    kinds: tuple[str, ...]  # ordered as KINDS; empty when nothing is found
    level: str | None = None  # "emergency", "look" or None
    levels: dict[str, str] = field(default_factory=dict)  # kind -> level
    sources: dict[str, tuple[str, ...]] = field(default_factory=dict)  # kind -> layers

    def __bool__(self) -> bool:
        return bool(self.kinds)


def _merge(into: dict[str, str], kind: str, level: str) -> None:
    if into.get(kind) != "emergency":
        into[kind] = level


def screen(*texts: str | None, language: str | None = None) -> RiskFinding:
    """Screen the original text and any translations. `language` (the conversation's, if
    known) is a hint for normalisation such as romaji; every language's lexicon applies."""
    given = [t for t in texts if t]
    if not given:
        return RiskFinding(())
    found: dict[str, str] = {}
    sources: dict[str, list[str]] = {}
    idiom = False
    for text in given:
        hits = lexicon.find(text, language)
        # An idiom (死ぬほど) or an ordinary context (the news, volunteering) the lexicon saw.
        idiom = idiom or any(h.role == "mask" or (h.role, h.kind) == ("look", "ordinary")
                             for h in hits)
        for kind, level in lexicon.levels(hits).items():
            _merge(found, kind, level)
            sources.setdefault(kind, []).append("lexicon")
    model = learned.model(KINDS)
    # The encoder is the costly layer (about 1 ms a token on one core): when the lexicon has
    # already raised an emergency, the head could add a kind but not change what happens. When
    # the lexicon recognised an idiom (腹が減って死にそう, "this rent is killing me") or an
    # ordinary context ("a stabbing in the news"), the head, which reads the words but not the
    # idiom, does not overrule it.
    if model is not None and "emergency" not in found.values() and not idiom:
        scores = model.scores(pre(given[0]))  # the original; as the head was trained
        tier = model.tier(scores, language) if scores else None
        if tier:
            # Past, negated or someone else's (the look unit) lowers an emergency to a look.
            head_level = "look" if scores.look >= 0.5 else tier[0]
            for kind in tier[1]:
                if kind not in found:
                    found[kind] = head_level
                sources.setdefault(kind, []).append("learned")
    kinds = tuple(k for k in KINDS if k in found)
    level = None
    if kinds:
        level = "emergency" if "emergency" in found.values() else "look"
    return RiskFinding(
        kinds, level, {k: found[k] for k in kinds},
        {k: tuple(dict.fromkeys(sources[k])) for k in kinds},
    )


def status() -> Status:
    """Whether the learned layer is on (the console shows a notice when it is not)."""
    return learned.status(KINDS)


def warm() -> Status:
    """Load everything now (the lexicon automaton, the Japanese analyser, the encoder) so the
    first resident does not wait for it."""
    lexicon.automaton()
    screen("warm", language="ja")
    return status()


def term_language(text: str) -> str | None:
    """The one language whose risk terms the text uses ("toi muon chet" is Vietnamese even
    unaccented), or None when none or several match: lets a crisis written before a language
    is chosen be answered in the resident's language."""
    langs = {h.lang for h in lexicon.find(text, None) if h.role == "term"}
    return langs.pop() if len(langs) == 1 else None
