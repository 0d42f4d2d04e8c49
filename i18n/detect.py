"""Offline language detection for free text, and the policy choosing a conversation's language.

Two stages. The writing system settles most catalog languages on its own: kana → ja, Hangul
→ ko, Thai → th, Myanmar → my, Devanagari → ne, Han without kana → Chinese (Simplified or
Traditional by characters that differ between the two). Latin-script text goes to lingua
(`lingua-language-detector`, which ships its models), restricted to the Latin catalog
languages (en, vi, tl, pt-BR, id, es; Malay is admitted and read as Indonesian).

lingua has no Nepali and no Burmese model, so those two rest on the script alone: any
Devanagari text is taken as Nepali (Hindi or Marathi would be too — they are not catalog
languages), any Myanmar-script text as Burmese.

lingua's models are loaded once, lazily, on the first Latin-script text, and only for the
six languages above (about 150 MB resident and 2 s to load, measured; all 75 would take
several times that). Call warm() at start so no resident waits for it.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from typing import Any

from i18n.translation.codes import CATALOG_LANGUAGES

# The catalog languages Easy Japanese aside (it is Japanese to a detector).
SUPPORTED = CATALOG_LANGUAGES

MIN_SCRIPT_CHARS = 4  # fewer kana/Hangul/Thai... characters than this: unreliable
MIN_HAN_CHARS = 8  # Han-only text shorter than this may well be Japanese kanji (生活保護申請)
MIN_LATIN_LETTERS = 15  # lingua is unsure about a word or two ("ok", "hola", "salamat po")
MIN_CONFIDENCE = 0.6

# Simplified/Traditional pairs of common characters that differ (the first of each pair is
# Simplified). Used only once a text is known to be Chinese.
_SIMPLIFIED_TRADITIONAL_TEXT = (
    "们們 这這 说說 话話 时時 对對 没沒 还還 个個 来來 为為 会會 么麼 问問 题題 现現 里裡 发發 "
    "觉覺 见見 长長 门門 车車 马馬 东東 书書 买買 卖賣 开開 关關 师師 从從 产產 动動 样樣 经經 "
    "过過 进進 实實 应應 该該 给給 让讓 认認 识識 请請 谢謝 钱錢 银銀 欢歡 网網 页頁 电電 视視 "
    "语語 读讀 写寫 学學 习習 爱愛 饭飯 吗嗎 帮幫 听聽 医醫 脑腦 边邊 处處 国國 钟鐘 华華 汉漢 "
    "儿兒 亲親 爷爺 妈媽 乐樂 头頭 难難 离離 记記 谁誰 谈談 贵貴 资資 业業 务務 员員 单單 区區 "
    "县縣 级級 疗療 险險 护護 养養 饮飲 饿餓 热熱 岁歲 块塊 办辦 农農 图圖 场場 报報 纸紙 "
    "厅廳 坏壞 岛島 带帶 归歸 执執 扫掃 护護 换換 据據 携攜 敌敵 无無 旧舊 术術 机機 权權 "
    "条條 极極 杂雜 楼樓 气氣 汤湯 没沒 济濟 灯燈 烦煩 爸爸 独獨 猫貓 环環 画畫 发髮 症症 "
    "痴癡 码碼 礼禮 种種 称稱 穷窮 笔筆 类類 纪紀 约約 红紅 纳納 线線 练練 组組 细細 终終 "
    "结結 给給 绝絕 统統 继繼 续續 绿綠 罗羅 职職 联聯 肤膚 胜勝 脸臉 节節 苏蘇 药藥 虽雖 "
    "补補 装裝 规規 览覽 计計 订訂 训訓 议議 讯訊 记記 讲講 许許 论論 设設 证證 评評 识識 "
    "诉訴 诊診 询詢 该該 详詳 误誤 调調 谈談 贷貸 费費 贴貼 资資 赶趕 践踐 转轉 轻輕 辆輛 "
    "达達 运運 还還 这這 远遠 连連 选選 递遞 邮郵 铁鐵 错錯 问問 间間 闭閉 阳陽 阴陰 险險 "
    "隐隱 难難 韩韓 顾顧 领領 频頻 题題 额額 风風 飞飛 馆館 验驗 鱼魚 鸡雞 齐齊 龄齡 欠欠"
)
_SIMPLIFIED_TRADITIONAL = _SIMPLIFIED_TRADITIONAL_TEXT.split()
_SIMPLIFIED = frozenset(p[0] for p in _SIMPLIFIED_TRADITIONAL if p[0] != p[1])
_TRADITIONAL = frozenset(p[1] for p in _SIMPLIFIED_TRADITIONAL if p[0] != p[1])


@dataclass(frozen=True)
class Detection:
    language: str | None  # a catalog code, or None when nothing could be said
    confidence: float  # 0..1
    reliable: bool  # False for short or ambiguous text: never flips a conversation
    method: str = "none"  # "script", "lingua" or "none"


def _script(ch: str) -> str | None:
    o = ord(ch)
    if 0x3040 <= o <= 0x30FF or 0x31F0 <= o <= 0x31FF or 0xFF66 <= o <= 0xFF9D:
        return "kana"
    if (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0xF900 <= o <= 0xFAFF
        or 0x20000 <= o <= 0x2FA1F
    ):
        return "han"
    if 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF or 0x3130 <= o <= 0x318F:
        return "hangul"
    if 0x0E00 <= o <= 0x0E7F:
        return "thai"
    if 0x1000 <= o <= 0x109F or 0xA9E0 <= o <= 0xA9FF or 0xAA60 <= o <= 0xAA7F:
        return "myanmar"
    if 0x0900 <= o <= 0x097F or 0xA8E0 <= o <= 0xA8FF:
        return "devanagari"
    if unicodedata.category(ch).startswith("L"):
        name = unicodedata.name(ch, "")
        if name.startswith("LATIN") or name.startswith("FULLWIDTH LATIN"):
            return "latin"
        return "other"
    return None


_lingua_lock = threading.Lock()
_lingua: Any = None
_LINGUA_CODES = {
    "ENGLISH": "en",
    "VIETNAMESE": "vi",
    "TAGALOG": "tl",
    "PORTUGUESE": "pt-BR",
    "INDONESIAN": "id",
    "MALAY": "id",
    "SPANISH": "es",
}


def _lingua_detector() -> Any:
    """Built once, on first use, for the Latin-script catalog languages only."""
    global _lingua
    if _lingua is None:
        with _lingua_lock:
            if _lingua is None:
                from lingua import Language, LanguageDetectorBuilder

                langs = [getattr(Language, name) for name in _LINGUA_CODES]
                _lingua = LanguageDetectorBuilder.from_languages(*langs).build()
    return _lingua


def _detect_latin(text: str, letters: int) -> Detection:
    values = _lingua_detector().compute_language_confidence_values(text)
    scores: dict[str, float] = {}
    for v in values:
        code = _LINGUA_CODES[v.language.name]
        scores[code] = scores.get(code, 0.0) + float(v.value)
    if not scores:
        return Detection(None, 0.0, False, "lingua")
    code, conf = max(scores.items(), key=lambda kv: kv[1])
    reliable = letters >= MIN_LATIN_LETTERS and conf >= MIN_CONFIDENCE
    return Detection(code, round(conf, 3), reliable, "lingua")


def _chinese_variant(text: str) -> tuple[str, int]:
    s = sum(ch in _SIMPLIFIED for ch in text)
    t = sum(ch in _TRADITIONAL for ch in text)
    return ("zh-Hant" if t > s else "zh-Hans"), abs(s - t)


def detect(text: str) -> Detection:
    """Guess the catalog language of a message. Never raises."""
    counts: dict[str, int] = {}
    for ch in text or "":
        sc = _script(ch)
        if sc is not None:
            counts[sc] = counts.get(sc, 0) + 1
    letters = sum(counts.values())
    if letters == 0:
        return Detection(None, 0.0, False)
    # A Latin letter carries about a third of what a kana or Han character does.
    weights = {sc: n / 3 if sc == "latin" else float(n) for sc, n in counts.items()}
    total = sum(weights.values())
    kana, han = counts.get("kana", 0), counts.get("han", 0)
    if kana >= 1 and (weights.get("kana", 0) + weights.get("han", 0)) / total >= 0.5:
        share = (kana + han) / (total if total else 1)
        return Detection("ja", round(min(1.0, share), 3), kana + han >= MIN_SCRIPT_CHARS, "script")
    dominant = max(weights, key=lambda k: weights[k])
    share = weights[dominant] / total
    by_script = {"hangul": "ko", "thai": "th", "myanmar": "my", "devanagari": "ne"}
    if dominant in by_script:
        n = counts[dominant]
        return Detection(
            by_script[dominant], round(share, 3), n >= MIN_SCRIPT_CHARS and share >= 0.6, "script"
        )
    if dominant == "han":
        variant, margin = _chinese_variant(text)
        # Han-only text may be Japanese written in kanji: only longer text is trusted.
        reliable = han >= MIN_HAN_CHARS and share >= 0.6 and margin >= 1
        return Detection(variant, round(share * (0.9 if reliable else 0.5), 3), reliable, "script")
    if dominant == "latin":
        d = _detect_latin(text, counts["latin"])
        if share < 0.6:
            return Detection(d.language, d.confidence, False, d.method)
        return d
    return Detection(None, 0.0, False, "script")  # Arabic, Cyrillic...: not a catalog script


def detect_language(text: str) -> str | None:
    """The router's detector hook: a catalog code when the detection is reliable, else None."""
    d = detect(text)
    return d.language if d.reliable else None


def warm() -> None:
    """Load lingua's models now (about a second) rather than on a resident's first message."""
    detect("This warms the language detector up before the first message arrives.")
