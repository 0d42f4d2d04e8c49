"""Prompt catalogs: one YAML file per language under i18n/catalogs/ (adding a language is adding
a file). Consent wordings carry a version and a hash per language so a consent record can say
exactly which text the resident saw."""

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


class Catalog:
    def __init__(self, language: str, data: dict[str, Any], fallback: Catalog | None) -> None:
        self.language = language
        self.name: str = data.get("name", language)
        self.texts: dict[str, str] = data.get("texts") or {}
        self.choices: dict[str, str] = {str(k): str(v) for k, v in (data.get("choices") or {}).items()}
        self.consent_versions: dict[str, str] = data.get("consent_versions") or {}
        self.fallback = fallback

    def text(self, key: str, **params: Any) -> str:
        raw = self.texts.get(key)
        if raw is None:
            if self.fallback is None:
                raise KeyError(f"catalog key {key!r} missing in {self.language}")
            return self.fallback.text(key, **params)
        return string.Formatter().vformat(raw, (), _Blank(params)).strip()

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


@cache
def _raw(language: str) -> dict[str, Any]:
    path = CATALOG_DIR / f"{language}.yaml"
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


@cache
def available_languages() -> tuple[str, ...]:
    """Catalog languages, Japanese first, then as the files sort."""
    langs = sorted(p.stem for p in CATALOG_DIR.glob("*.yaml"))
    return tuple(sorted(langs, key=lambda code: (code != "ja", code != "ja-easy", code)))


@cache
def catalog(language: str | None) -> Catalog:
    lang = language if language in available_languages() else DEFAULT_LANGUAGE
    fallback = None if lang == DEFAULT_LANGUAGE else catalog(DEFAULT_LANGUAGE)
    # Easy Japanese falls back to Japanese; every other language falls back to English first.
    if lang not in (DEFAULT_LANGUAGE, "ja-easy", "en") and "en" in available_languages():
        fallback = catalog("en")
    return Catalog(lang, _raw(lang), fallback)


def language_name(language: str) -> str:
    return catalog(language).name


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}
