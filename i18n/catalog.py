"""Catalogs of every user-facing word, one YAML file per language and namespace.

- `dialog` (the intake's prompts, choices and consent wordings): i18n/catalogs/<lang>.yaml.
- every other namespace: i18n/catalogs/<namespace>/<lang>.yaml with a `texts:` mapping
  (nested mappings are read as dotted keys): `email` (the mail's own words), `canned`
  (counsellors' canned replies and system notices), `page` (the web chat page), `console`
  (the counsellor console, Japanese), `channel` (words chat channels add, e.g. the hint
  under a numbered list).

One loader and one fallback rule for all: the language itself, then Japanese for Easy
Japanese, English for every other language, and Japanese last. Consent wordings carry a
version and a hash per language so a consent record can say exactly which text the resident
saw."""

from __future__ import annotations

import hashlib
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CATALOG_DIR = Path(__file__).parent / "catalogs"
DEFAULT_LANGUAGE = "ja"
DIALOG = "dialog"
NAMESPACES = (DIALOG, "email", "canned", "page", "console", "channel", "security", "survey", "casework", "consent",
              "media", "secure")
CONSENT_KINDS = ("use", "share_agencies")


class _Blank(dict[str, Any]):
    def __missing__(self, key: str) -> str:  # a missing placeholder renders empty, never raises
        return ""


@dataclass(frozen=True)
class ConsentWording:
    kind: str
    language: str
    version: str
    text: str

    @property
    def hash(self) -> str:
        return hashlib.sha256(f"{self.kind}|{self.language}|{self.version}|{self.text}".encode()).hexdigest()


def _flatten(texts: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in texts.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


class Catalog:
    def __init__(self, language: str, data: dict[str, Any], fallback: Catalog | None, namespace: str = DIALOG) -> None:
        self.language = language
        self.namespace = namespace
        self.data = data  # the whole file, for a namespace's non-text parts (email's chat_to_mail)
        self.name: str = data.get("name", language)
        self.texts: dict[str, str] = _flatten(data.get("texts") or {})
        self.choices: dict[str, str] = {str(k): str(v) for k, v in (data.get("choices") or {}).items()}
        self.consent_versions: dict[str, str] = data.get("consent_versions") or {}
        self.fallback = fallback

    def lookup(self, key: str) -> tuple[str, str]:
        """(the unformatted text, the language it was found in) along the fallback chain."""
        cat: Catalog | None = self
        while cat is not None:
            raw = cat.texts.get(key)
            if raw is not None and raw != "":
                return raw, cat.language
            cat = cat.fallback
        raise KeyError(f"{self.namespace} catalog key {key!r} missing in {self.language}")

    def text(self, key: str, **params: Any) -> str:
        return format_text(self.lookup(key)[0], params)

    def keys(self) -> set[str]:
        return set(self.texts)

    def label(self, choice_id: str) -> str:
        if choice_id in self.choices:
            return self.choices[choice_id]
        if self.fallback is not None:
            return self.fallback.label(choice_id)
        return choice_id

    def consent(self, kind: str) -> ConsentWording:
        cat: Catalog | None = self
        while cat is not None and f"consent.{kind}.text" not in cat.texts:
            cat = cat.fallback
        if cat is None:
            raise KeyError(f"no consent wording for {kind!r}")
        return ConsentWording(kind, cat.language, cat.consent_versions.get(kind, "0"), cat.text(f"consent.{kind}.text"))


def namespace_dir(namespace: str) -> Path:
    if namespace not in NAMESPACES:
        raise KeyError(f"no catalog namespace {namespace!r}")
    return CATALOG_DIR if namespace == DIALOG else CATALOG_DIR / namespace


@cache
def _raw(language: str, namespace: str = DIALOG) -> dict[str, Any]:
    path = namespace_dir(namespace) / f"{language}.yaml"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


@cache
def available_languages(namespace: str = DIALOG) -> tuple[str, ...]:
    """A namespace's languages, Japanese first, then as the files sort."""
    langs = sorted(p.stem for p in namespace_dir(namespace).glob("*.yaml"))
    return tuple(sorted(langs, key=lambda code: (code != "ja", code != "ja-easy", code)))


def fallback_chain(language: str) -> tuple[str, ...]:
    """Where a missing text is looked for next: Easy Japanese falls back to Japanese; every
    other language to English, then Japanese."""
    if language == DEFAULT_LANGUAGE:
        return (language,)
    if language == "ja-easy":
        return (language, DEFAULT_LANGUAGE)
    return tuple(dict.fromkeys((language, "en", DEFAULT_LANGUAGE)))


@cache
def catalog(language: str | None, namespace: str = DIALOG) -> Catalog:
    """The catalog of `language` in `namespace`; a language the service does not speak gets
    Japanese (the dialog's languages decide, so every namespace answers the same)."""
    lang = language if language in available_languages() else DEFAULT_LANGUAGE
    chain = fallback_chain(lang)
    fallback = catalog(chain[1], namespace) if len(chain) > 1 else None
    return Catalog(lang, _raw(lang, namespace), fallback, namespace)


def format_text(raw: str, params: dict[str, Any]) -> str:
    """Fill `{name}` placeholders; a missing one renders empty, never raises."""
    return string.Formatter().vformat(raw, (), _Blank(params)).strip()


def language_name(language: str) -> str:
    return catalog(language).name


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}
