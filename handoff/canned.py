"""Canned replies (定型文) and system notices: the `canned` catalog namespace
(i18n/catalogs/canned/<lang>.yaml), and the replies leads edit in the console (issue 14,
table `desk_canned_reply`), which override or add to the catalog's.

A canned reply is written once per language by people, so sending one needs no machine
translation: the resident gets their language's version, the transcript keeps the Japanese.
Keys are shared across languages; a missing text falls back as every catalog does (Easy
Japanese to Japanese, others to English, then Japanese) and says which language it is, so
the counsellor can tell what the resident will read. At each step of that chain a lead's
text comes before the catalog's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore.desk import DeskCannedReply
from i18n.catalog import available_languages, catalog, fallback_chain, format_text

NAMESPACE = "canned"
BASE = "ja"
# (key, language) -> (label, text): what leads wrote in the console
Edits = Mapping[tuple[str, str], tuple[str, str]]
NO_EDITS: Edits = {}


@dataclass(frozen=True)
class Canned:
    key: str
    label: str  # Japanese, for the counsellor
    ja: str  # the Japanese text (what the transcript keeps as the original)
    text: str  # the version the resident reads
    language: str  # the language of `text` (may be a fallback)
    edited: bool = False  # a lead's text (not the catalog's) in the resident's version


def languages() -> list[str]:
    return sorted(available_languages(NAMESPACE))


async def edits(s: AsyncSession) -> dict[tuple[str, str], tuple[str, str]]:
    """Every lead-written reply (a small table: a few dozen rows)."""
    rows = (await s.scalars(select(DeskCannedReply))).all()
    return {(r.key, r.language): (r.label, r.text) for r in rows}


def _keys(group: str) -> list[str]:
    """Keys of a group in the order of the Japanese file."""
    prefix = f"{group}."
    seen = [k[len(prefix):].split(".", 1)[0] for k in catalog(BASE, NAMESPACE).texts if k.startswith(prefix)]
    return list(dict.fromkeys(seen))


def keys(ed: Edits = NO_EDITS) -> list[str]:
    """The catalog's keys, then those leads added (a new key needs its Japanese text)."""
    added = sorted({k for (k, lang) in ed if lang == BASE} - set(_keys("replies")))
    return [*_keys("replies"), *added]


def replies(language: str, ed: Edits = NO_EDITS) -> list[Canned]:
    """Every canned reply, in the order of the Japanese file (leads' new ones after)."""
    return [reply(k, language, ed) for k in keys(ed)]


def _text(key: str, language: str, ed: Edits) -> tuple[str, bool] | None:
    """The text written for exactly this language: a lead's, else the catalog file's."""
    if (key, language) in ed:
        return ed[(key, language)][1], True
    raw = catalog(language, NAMESPACE).texts.get(f"replies.{key}.text") if language in languages() else None
    if raw and catalog(language, NAMESPACE).language == language:
        return raw, False
    return None


def reply(key: str, language: str, ed: Edits = NO_EDITS) -> Canned:
    if key not in keys(ed):
        raise KeyError(f"no canned reply {key!r}")
    ja = _text(key, BASE, ed)
    assert ja is not None
    for lang in fallback_chain(language):
        found = _text(key, lang, ed)
        if found is not None:
            text, edited = found
            break
    else:  # pragma: no cover - the chain ends in Japanese, which every key has
        text, edited, lang = ja[0], ja[1], BASE
    label = ed[(key, BASE)][0] if (key, BASE) in ed else catalog(BASE, NAMESPACE).texts[f"replies.{key}.label"]
    return Canned(key=key, label=label, ja=ja[0], text=text, language=lang, edited=edited)


def table(ed: Edits = NO_EDITS) -> list[dict[str, Any]]:
    """For the leads' editor: each key with its text in every language (None where the
    resident would get a fallback) and whether a lead wrote it."""
    out = []
    for key in keys(ed):
        base = reply(key, BASE, ed)
        texts = {}
        for lang in languages():
            found = _text(key, lang, ed)
            texts[lang] = {"text": found[0], "edited": found[1]} if found else None
        out.append({"key": key, "label": base.label, "texts": texts})
    return out


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
