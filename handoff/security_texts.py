"""Words of the resident-side defences (issue 17) — the `security` catalog namespace
(i18n/catalogs/security/<lang>.yaml), with the catalog's one fallback rule."""

from __future__ import annotations

from i18n.catalog import available_languages, catalog

KEYS = ("rate_limited", "quick_exit", "quick_exit_hint", "warning", "removed", "session_ended", "blocked")


def security_text(key: str, language: str | None, **params: object) -> str:
    """The text in the resident's language (an unknown language falls back as every catalog does)."""
    return catalog(language or "ja", "security").text(key, **params)


def all_texts() -> dict[str, dict[str, str]]:
    """Every language's table, for the web chat page (quick-exit label, hints)."""
    return {lang: {k: security_text(k, lang) for k in KEYS} for lang in available_languages()}
