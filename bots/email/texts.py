"""Words only email needs (reply instructions, attachment and size notices, the form's
frame): the `email` catalog namespace, i18n/catalogs/email/<lang>.yaml, with the fallback
every catalog has."""

from __future__ import annotations

from typing import Any

from i18n.catalog import available_languages, catalog, format_text

NAMESPACE = "email"


def languages() -> tuple[str, ...]:
    return available_languages(NAMESPACE)


def consent_labels(language: str) -> dict[str, str]:
    """The dialog catalog's consent choice labels, which the mail asks the resident to write."""
    cat = catalog(language)
    return {"agree": cat.label("agree"), "decline": cat.label("decline")}


def _served(language: str) -> str:
    """A resident whose language the service does not speak gets English (Japanese for a
    Japanese variant): a mail in Japanese would be unreadable to most of them."""
    if language in available_languages(NAMESPACE):
        return language
    return "ja" if language.startswith("ja") else "en"


def email_text(language: str, key: str, **params: Any) -> str:
    raw, served = catalog(_served(language), NAMESPACE).lookup(key)
    if "{agree}" in raw or "{decline}" in raw:
        params = {**consent_labels(served), **params}
    return format_text(raw, params)


def for_email(text: str, language: str) -> str:
    """The catalogs speak of "this chat"; a mail says "this mail". Never for consent wordings."""
    for old, new in catalog(language, NAMESPACE).data.get("chat_to_mail") or ():
        text = text.replace(old, new)
    return text
