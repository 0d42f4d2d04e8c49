"""Offline machine translation (Argos packages run with CTranslate2) with glossary and cache.

translator = build_translator(models_dir, redis=redis, timeout=8.0)
await translator.warm()
result = await translator.translate(text, "vi", "ja")   # never raises
"""

from i18n.translation.glossary import Glossary, load_glossary
from i18n.translation.packages import (
    InstalledPackage,
    PackageError,
    install_from_index,
    install_package,
    list_installed,
    models_dir_for,
    validate_package,
)
from i18n.translation.translator import TranslationResult, Translator, build_translator

__all__ = [
    "Glossary",
    "InstalledPackage",
    "PackageError",
    "TranslationResult",
    "Translator",
    "build_translator",
    "install_from_index",
    "install_package",
    "list_installed",
    "load_glossary",
    "models_dir_for",
    "validate_package",
]
