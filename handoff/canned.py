"""Canned replies (定型文) and system notices, kept per language in handoff/canned/<lang>.yaml.

A canned reply is written once per language by people, so sending one needs no machine
translation: the resident gets their language's version, the transcript keeps the Japanese.
Keys are shared across languages; a language without a file (or a key) falls back to English,
then Japanese, and says so, so the counsellor can tell what the resident will read.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CANNED_DIR = Path(__file__).parent / "canned"
BASE = "ja"


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return ""


@dataclass(frozen=True)
class Canned:
    key: str
    label: str  # Japanese, for the counsellor
    ja: str  # the Japanese text (what the transcript keeps as the original)
    text: str  # the version the resident reads
    language: str  # the language of `text` (may be a fallback)


@cache
def _load(language: str) -> dict[str, Any]:
    path = CANNED_DIR / f"{language}.yaml"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def languages() -> list[str]:
    return sorted(p.stem for p in CANNED_DIR.glob("*.yaml"))


def _chain(language: str) -> list[str]:
    out = [language]
    if language.startswith("ja") and language != BASE:
        out.append(BASE)
    out += ["en", BASE]
    return list(dict.fromkeys(out))


def _format(raw: str, params: dict[str, Any]) -> str:
    return string.Formatter().vformat(raw, (), _Blank(params)).strip()


def replies(language: str) -> list[Canned]:
    """Every canned reply, in the order of the Japanese file."""
    keys = list((_load(BASE).get("replies") or {}).keys())
    return [reply(k, language) for k in keys]


def reply(key: str, language: str) -> Canned:
    base = (_load(BASE).get("replies") or {}).get(key)
    if base is None:
        raise KeyError(f"no canned reply {key!r}")
    for lang in _chain(language):
        entry = (_load(lang).get("replies") or {}).get(key)
        if entry and entry.get("text"):
            return Canned(key=key, label=base["label"], ja=base["text"], text=entry["text"], language=lang)
    raise KeyError(f"no canned reply {key!r}")  # unreachable: the Japanese entry exists


def notice(
    key: str, language: str, params: dict[str, Any] | None = None, ja_params: dict[str, Any] | None = None
) -> tuple[str, str, str]:
    """(resident text, its language, Japanese text) of a system notice. `ja_params` fill the
    Japanese version (contacts rendered in Japanese); `params` when not given."""
    params = params or {}
    base = (_load(BASE).get("notices") or {}).get(key)
    if base is None:
        raise KeyError(f"no notice {key!r}")
    for lang in _chain(language):
        raw = (_load(lang).get("notices") or {}).get(key)
        if raw:
            return _format(raw, params), lang, _format(base, ja_params if ja_params is not None else params)
    raise KeyError(f"no notice {key!r}")
