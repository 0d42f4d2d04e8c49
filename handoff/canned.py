"""Canned replies (定型文) and system notices: the `canned` catalog namespace
(i18n/catalogs/canned/<lang>.yaml).

A canned reply is written once per language by people, so sending one needs no machine
translation: the resident gets their language's version, the transcript keeps the Japanese.
Keys are shared across languages; a missing text falls back as every catalog does (Easy
Japanese to Japanese, others to English, then Japanese) and says which language it is, so
the counsellor can tell what the resident will read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from i18n.catalog import available_languages, catalog, format_text

NAMESPACE = "canned"
BASE = "ja"


@dataclass(frozen=True)
class Canned:
    key: str
    label: str  # Japanese, for the counsellor
    ja: str  # the Japanese text (what the transcript keeps as the original)
    text: str  # the version the resident reads
    language: str  # the language of `text` (may be a fallback)


def languages() -> list[str]:
    return sorted(available_languages(NAMESPACE))


def _keys(group: str) -> list[str]:
    """Keys of a group in the order of the Japanese file."""
    prefix = f"{group}."
    seen = [k[len(prefix):].split(".", 1)[0] for k in catalog(BASE, NAMESPACE).texts if k.startswith(prefix)]
    return list(dict.fromkeys(seen))


def replies(language: str) -> list[Canned]:
    """Every canned reply, in the order of the Japanese file."""
    return [reply(k, language) for k in _keys("replies")]


def reply(key: str, language: str) -> Canned:
    base = catalog(BASE, NAMESPACE)
    if f"replies.{key}.text" not in base.texts:
        raise KeyError(f"no canned reply {key!r}")
    text, lang = catalog(language, NAMESPACE).lookup(f"replies.{key}.text")
    return Canned(key=key, label=base.texts[f"replies.{key}.label"], ja=base.texts[f"replies.{key}.text"],
                  text=text, language=lang)


def notice(
    key: str, language: str, params: dict[str, Any] | None = None, ja_params: dict[str, Any] | None = None
) -> tuple[str, str, str]:
    """(resident text, its language, Japanese text) of a system notice. `ja_params` fill the
    Japanese version (contacts rendered in Japanese); `params` when not given."""
    params = params or {}
    base = catalog(BASE, NAMESPACE).texts.get(f"notices.{key}")
    if base is None:
        raise KeyError(f"no notice {key!r}")
    raw, lang = catalog(language, NAMESPACE).lookup(f"notices.{key}")
    return format_text(raw, params), lang, format_text(base, ja_params if ja_params is not None else params)
