"""Channel language tags (LINE profile BCP 47, Telegram language_code) -> catalog codes."""

from __future__ import annotations

from i18n.translation.codes import normalize


def hint_language(tag: str | None) -> str | None:
    """The catalog code for a channel's language tag; None when there is no usable tag."""
    if not tag or not tag.strip() or len(tag) > 35:
        return None
    low = tag.strip().replace("_", "-").lower()
    parts = low.split("-")
    # zh-Hant-TW, zh-TW, zh-HK: Traditional Chinese (normalize() alone only knows zh-TW etc.)
    if parts[0] == "zh" and ("hant" in parts or parts[-1] in ("tw", "hk", "mo")):
        return "zh-Hant"
    return normalize(tag)
