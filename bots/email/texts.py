"""Words only email needs (reply instructions, attachment and size notices), from texts.yaml.

Looked up in the i18n catalog first under `email.<key>` so the catalog owners can take them
over; texts.yaml is the fallback. A language without an entry gets Japanese (for ja-*) or
English.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

TEXTS_FILE = Path(__file__).with_name("texts.yaml")


@cache
def _data() -> dict[str, Any]:
    with TEXTS_FILE.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


def languages() -> tuple[str, ...]:
    return tuple(_data()["texts"])


def _served(language: str) -> str:
    """The language whose texts a resident gets: their own, else Japanese or English."""
    if language in _data()["texts"]:
        return language
    return "ja" if language.startswith("ja") else "en"


def consent_labels(language: str) -> dict[str, str]:
    """The catalog's consent choice labels, which the mail asks the resident to write."""
    from i18n.catalog import catalog

    cat = catalog(language)
    return {"agree": cat.label("agree"), "decline": cat.label("decline")}


def email_text(language: str, key: str, **params: Any) -> str:
    from i18n.catalog import catalog

    try:
        return catalog(language).text(f"email.{key}", **params)
    except Exception:  # no catalog entry yet (or no catalog for this language)
        pass
    texts: dict[str, dict[str, str]] = _data()["texts"]
    served = _served(language)
    template = texts[served].get(key, texts["en"][key])
    if "{agree}" in template or "{decline}" in template:
        params = {**consent_labels(served), **params}
    return template.format(**params)


def for_email(text: str, language: str) -> str:
    """The catalogs speak of "this chat"; a mail says "this mail". Never for consent wordings."""
    for old, new in _data()["chat_to_mail"].get(language, ()):
        text = text.replace(old, new)
    return text
