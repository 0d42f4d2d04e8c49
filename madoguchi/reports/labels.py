"""Japanese labels for the codes in the report (the report is read at the municipality)."""

from __future__ import annotations

from i18n.catalog import catalog

CHANNELS = {"line": "LINE", "telegram": "Telegram", "email": "メール", "webchat": "ウェブチャット"}
LANGUAGES = {
    "ja": "日本語", "ja-easy": "やさしい日本語", "en": "英語", "zh-Hans": "中国語（簡体字）", "zh-Hant": "中国語（繁体字）",
    "ko": "韓国語", "vi": "ベトナム語", "tl": "タガログ語", "pt-BR": "ポルトガル語", "ne": "ネパール語",
    "id": "インドネシア語", "es": "スペイン語", "th": "タイ語", "my": "ミャンマー語",
}
KINDS = {
    "suicide": "自殺の危険", "self_harm": "自傷", "medical": "急病・けが", "domestic_violence": "DV",
    "child_abuse": "児童虐待", "violence": "暴力", "no_shelter": "今夜の宿がない", "no_food": "食べるものがない",
}
REMOVAL_REASONS = {"rules": "利用規約違反", "harassment": "嫌がらせ", "spam": "迷惑行為", "threats": "脅迫", "other": "その他"}
SURVEY_ANSWERS = {"yes": "はい", "partly": "少し", "no": "いいえ", "no_answer": "無回答"}
UNKNOWN = "未回答"


def choice(code: str) -> str:
    """A dialog choice code (categories, age bands, for whom) as the Japanese intake shows it."""
    if code == "unknown":
        return UNKNOWN
    return catalog("ja").label(code)
