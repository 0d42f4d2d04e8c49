"""Words of the resident-side defences (issue 17) in every catalog language.

They live in i18n/catalogs/security/<lang>.yaml. Until the catalog-namespace loader in
i18n/catalog.py lands this small loader reads them; switch to it then.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from i18n.catalog import available_languages

SECURITY_DIR = Path(__file__).resolve().parent.parent / "i18n" / "catalogs" / "security"
KEYS = ("rate_limited", "quick_exit", "quick_exit_hint", "warning", "removed", "session_ended", "blocked")


@cache
def _table(language: str) -> dict[str, str]:
    path = SECURITY_DIR / f"{language}.yaml"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as fh:
        return {str(k): str(v) for k, v in (yaml.safe_load(fh) or {}).items()}


def security_text(key: str, language: str | None, **params: object) -> str:
    """The text in the resident's language; Easy Japanese falls back to Japanese, every
    other language to English, then Japanese."""
    lang = language or "ja"
    chain = [lang, "ja"] if lang.startswith("ja") else [lang, "en", "ja"]
    for code in chain:
        text = _table(code).get(key)
        if text is not None:
            return text.format(**params) if params else text
    raise KeyError(key)


def all_texts() -> dict[str, dict[str, str]]:
    """Every language's table, for the web chat page (quick-exit label, hints)."""
    return {lang: {k: security_text(k, lang) for k in KEYS} for lang in available_languages()}
