"""The lexicon layers: every language's terms, the cues that lower a level and the idioms that
are not risk, compiled once into one Aho-Corasick automaton and matched in one pass over the
views of a message (normalised text, and for Japanese its token surfaces, readings and lemmas,
and for Japanese sessions its romaji read as kana).

Term syntax in risk_terms.yaml: a trailing `*` matches the start of a word (suicid* finds
suicide, suicidal, suicidarme); a leading `*` the end of one; `a…b` finds a and then b at
most a few characters later (食べさせるもの…ない finds 食べさせるものがもう家にない). Terms in spaced scripts match
whole words otherwise. Terms in kana, CJK, Hangul, Thai, Burmese and Devanagari match inside
words, except that in the Japanese token views a term must begin where a token begins.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from . import japanese
from .normalize import has_kana, normalize, pre, romaji_to_kana

TERMS_FILE = Path(__file__).parent.parent / "risk_terms.yaml"
_WORD = re.compile(r"[a-z0-9\u00c0-\u024f]")
_KANA_ONLY = re.compile(r"^[\u3040-\u309f]+$")
_SPACELESS = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\u0e00-\u0e7f\u1000-\u109f]")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
_JA_LANGS = ("ja", "ja-easy")
# How far (characters) a cue may stand from a term in the same view, by group and by whether
# the term is in a spaceless script. Negation must touch the term ("not suicidal",
# 死にたいわけじゃない); past and third-party cues may stand a clause away.
_WINDOW = {"negated": {True: 8, False: 4}, "past": {True: 14, False: 40},
           "others": {True: 14, False: 40}, "actor": {True: 14, False: 40},
           "ordinary": {True: 16, False: 40}}
_CUE_GROUPS = ("negated", "past", "others")
_LOOK_GROUPS = (*_CUE_GROUPS, "ordinary")
# Someone else's danger is for a counsellor to look at; a collapse in front of the resident, a
# child at risk, a family without a bed or food is the resident's own emergency.
_OTHERS_LOWER = frozenset({"suicide", "self_harm", "domestic_violence", "violence"})
# Ordinary contexts (the news, volunteering, a shelter's own name) make a mention of the world's
# dangers no danger to the resident; never for suicide, self-harm or medical, which a resident
# may well say right after reading the news.
_ORDINARY_MASKS = frozenset({"domestic_violence", "child_abuse", "violence", "no_shelter",
                             "no_food"})
# Conditional term groups: words that are a danger only near an actor (生活費をくれない, "takes
# my phone" from a partner; "hitting" a child); elsewhere (a boss, a landlord) they say nothing.
_CONDITIONAL = {"with_partner": "domestic_violence", "with_child": "child_abuse"}
# A kind near an actor that is also the actor's kind: a child with nothing to eat is neglect.
_ACTOR_KINDS = {"violence": ("domestic_violence", "child_abuse"), "no_food": ("child_abuse",)}


@dataclass(frozen=True)
class Entry:
    role: str  # "term"; "look" (lowers the level); "mask" (idiom or ordinary mention);
    # "actor" (a partner, a child: turns a violence term near it into its own kind)
    kind: str | None  # the kind of a term or actor; the group of a look cue
    lang: str
    length: int
    left: bool  # needs a word boundary on the left
    right: bool  # needs a word boundary on the right
    kana_only: bool  # all hiragana: in Japanese text only trusted in the token views


@dataclass(frozen=True)
class Hit:
    role: str
    kind: str | None  # as Entry.kind
    lang: str
    view: int
    start: int
    end: int  # exclusive
    spaceless: bool
    sentence: int = 0  # cues and actors act within their sentence only


def _read(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def load_terms(path: Path = TERMS_FILE) -> dict[str, Any]:
    """Per language: terms (by kind), actors, look cues (negated, past, others, ordinary),
    not_risk. The file's `extend:` section (a later pass of general word forms, kept apart so its
    history reads) is merged in; its `combined` terms are in combined_terms()."""
    doc = _read(path)
    for lang, spec in (doc.pop("extend", None) or {}).items():
        into = doc.setdefault(lang, {}) or {}
        doc[lang] = into
        for section, value in (spec or {}).items():
            if section == "combined":
                continue
            if isinstance(value, dict):
                target = into.setdefault(section, {}) or {}
                into[section] = target
                for key, words in value.items():
                    target[key] = list(target.get(key) or []) + list(words or [])
            else:
                into[section] = list(into.get(section) or []) + list(value or [])
    return doc


def combined_terms(path: Path = TERMS_FILE) -> dict[str, dict[str, list[str]]]:
    """Per language, terms that are two kinds at once (`suicide+self_harm`) or a kind only near
    an actor (`with_partner`, `with_child`)."""
    extend = _read(path).get("extend") or {}
    return {lang: dict((spec or {}).get("combined") or {}) for lang, spec in extend.items()}


_SENTENCE_END = re.compile(r"[.!?。！？\n]+")
_GAP = "…"
_GAP_CHARS = {True: 8, False: 24}  # the gap a…b allows, by "spaceless script"


@cache
def gap_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """The a…b terms, one regex each (few: the automaton holds everything else)."""
    out = []
    specs = [(spec or {}).get("terms") or {} for spec in load_terms().values()]
    for terms in specs + list(combined_terms().values()):
        for kind, words in terms.items():
            for w in words or []:
                if _GAP not in str(w):
                    continue
                parts = [normalize(p) for p in str(w).split(_GAP)]
                gap = _GAP_CHARS[bool(_SPACELESS.search(parts[0]))]
                body = f".{{0,{gap}}}?".join(re.escape(p) for p in parts)
                edge = "" if _SPACELESS.search(parts[0]) else r"(?<![a-z0-9])"
                out.append((kind, re.compile(edge + body)))
    return tuple(out)


def _entries(word: str, role: str, kind: str | None, lang: str) -> list[tuple[str, Entry]]:
    word = str(word).strip()
    if _GAP in word:
        return []  # matched by gap_patterns()
    prefix, suffix = word.endswith("*"), word.startswith("*")
    word = word.strip("*").strip()
    if not word:
        return []
    forms = {normalize(word)}
    if _HANGUL.search(word):
        forms |= {f.replace(" ", "") for f in forms}  # 죽고 싶 and 죽고싶
    if lang in _JA_LANGS and has_kana(normalize(word)) | bool(_SPACELESS.search(word)):
        forms |= japanese.term_variants(word, lemmas=role != "look")
    out = []
    for form in forms:
        if not form:
            continue
        spaced_start = bool(_WORD.match(form[0]))
        spaced_end = bool(_WORD.match(form[-1]))
        out.append((form, Entry(role, kind, lang, len(form), spaced_start and not suffix,
                                spaced_end and not prefix, bool(_KANA_ONLY.match(form)))))
    return out


def _language_entries(lang: str, spec: dict[str, Any]) -> list[tuple[str, Entry]]:
    """One language's terms, cues ("look"), actors and idioms (masks) as automaton entries."""
    out: list[tuple[str, Entry]] = []
    for kind, words in (spec.get("terms") or {}).items():
        out += [fe for w in words or [] for fe in _entries(w, "term", kind, lang)]
    for group, words in (spec.get("look") or {}).items():
        if group not in _LOOK_GROUPS:
            raise ValueError(f"{lang}: unknown look group {group!r}")
        out += [fe for w in words or [] for fe in _entries(w, "look", group, lang)]
    for kind, words in (spec.get("actors") or {}).items():
        out += [fe for w in words or [] for fe in _entries(w, "actor", kind, lang)]
    out += [fe for w in spec.get("not_risk") or [] for fe in _entries(w, "mask", None, lang)]
    return out


@cache
def automaton() -> Any:
    import ahocorasick

    table: dict[str, list[Entry]] = {}
    for lang, spec in load_terms().items():
        for form, e in _language_entries(lang, spec or {}):
            table.setdefault(form, []).append(e)
    for lang, spec in combined_terms().items():
        for kind, words in spec.items():
            for w in words or []:
                for form, e in _entries(w, "term", kind, lang):
                    table.setdefault(form, []).append(e)
    auto = ahocorasick.Automaton()
    for form, entries in table.items():
        auto.add_word(form, tuple(set(entries)))
    auto.make_automaton()
    return auto


def term_count() -> int:
    return len(automaton())


@cache
def _exact_masks() -> re.Pattern[str] | None:
    # Ordinary phrases that only differ from a term by accents, removed before accents are
    # folded: Vietnamese "từ từ" ("slowly") folds to the same letters as "tự tử" ("suicide").
    words = [unicodedata.normalize("NFKC", str(w)).casefold()
             for spec in load_terms().values() for w in (spec or {}).get("not_risk_exact") or []]
    if not words:
        return None
    return re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))


def views(text: str, language: str | None) -> list[tuple[str, frozenset[int] | None]]:
    """The views a message is matched in; a view with token starts checks them."""
    p = pre(text)
    exact = _exact_masks()
    if exact is not None:
        p = exact.sub(" | ", p)
    norm = normalize(p)
    out: list[tuple[str, frozenset[int] | None]] = [(norm, None)]
    if has_kana(norm):
        out.extend(japanese.views(p))
    if language in _JA_LANGS:
        kana = romaji_to_kana(p)
        if len(kana) >= 3:
            out.extend(japanese.views(kana) or [(normalize(kana), None)])
    return out


def _bounded(view: str, start: int, end: int, e: Entry) -> bool:
    if e.left and start > 0 and _WORD.match(view[start - 1]):
        return False
    return not (e.right and end < len(view) and _WORD.match(view[end]))


# An overdose told as a count: "took like 30 paracetamol", 薬を40錠飲んだ, 吃了30片, uống 20 viên.
# Ten or more of a unit of pills with a verb of taking in the same sentence (a prescription
# "of 30 tablets" has no such verb). Units and verbs in normalised form (no accents, hiragana).
_DOSE_UNITS = (
    "錠", "粒", "じょう", "つぶ", "알", "片", "颗", "顆", "viên", "vien", "pills", "pill",
    "tablets", "tablet", "paracetamol", "painkillers", "comprimidos", "pastillas", "tabletas",
    "butir", "tableta", "चक्की", "ट्याब्लेट", "เม็ด", "လုံး", "remedios", "pilulas",
)
_DOSE_VERBS = (
    "took", "taken", "swallowed", "飲", "のん", "のみ", "吃了", "吞了", "服了", "먹었", "삼켰",
    "uong", "tome", "tomei", "tomou", "engoli", "minum", "nelen", "uminom", "ininom",
    "खाएँ", "खाए", "खाइ", "กิน", "သောက်", "me tome",
)
_DOSE = re.compile(
    r"(?<![0-9])([1-9][0-9]{1,2})\s*(?:"
    + "|".join(sorted({re.escape(normalize(u)) for u in _DOSE_UNITS}, key=len, reverse=True))
    + ")"
)
_DOSE_VERB_FORMS = tuple({normalize(v) for v in _DOSE_VERBS})


def _doses(view: str, ends: list[int], index: int) -> list[Hit]:
    out = []
    for m in _DOSE.finditer(view):
        s = bisect.bisect_right(ends, m.start())
        lo = ends[s - 1] if s else 0
        hi = ends[s] if s < len(ends) else len(view)
        if any(v in view[lo:hi] for v in _DOSE_VERB_FORMS):
            out.append(Hit("term", "self_harm+medical", "", index, m.start(), m.end(),
                           bool(_SPACELESS.search(m.group(0))), s))
    return out


def find(text: str, language: str | None) -> list[Hit]:
    auto = automaton()
    hits: list[Hit] = []
    vs = views(text, language)
    japanese_text = len(vs) > 1
    for i, (view, starts) in enumerate(vs):
        if not view:
            continue
        ends = [m.end() for m in _SENTENCE_END.finditer(view)]
        for last, entries in auto.iter(view):
            for e in entries:
                start, end = last - e.length + 1, last + 1
                if starts is not None and start not in starts:
                    continue
                if starts is None and japanese_text and (
                    (e.kana_only and e.role == "term") or e.role == "actor"
                ):
                    continue  # in Japanese text the token views decide (夫 is in 大丈夫)
                if not _bounded(view, start, end, e):
                    continue
                hits.append(Hit(e.role, e.kind, e.lang, i, start, end,
                                bool(_SPACELESS.search(view[start:end])),
                                bisect.bisect_right(ends, start)))
        if i == 0:
            hits.extend(_doses(view, ends, i))
        for kind, pattern in gap_patterns():
            for m in pattern.finditer(view):
                if starts is None or m.start() in starts:
                    hits.append(Hit("term", kind, "", i, m.start(), m.end(),
                                    bool(_SPACELESS.search(m.group(0))),
                                    bisect.bisect_right(ends, m.start())))
    return hits


def _family(lang: str) -> str:
    return {"ja-easy": "ja", "zh-Hant": "zh", "zh-Hans": "zh"}.get(lang, lang)


def _near(cue: Hit, term: Hit, group: str) -> bool:
    if cue.view != term.view or cue.sentence != term.sentence:
        return False
    if group == "actor" and term.lang and _family(cue.lang) != _family(term.lang):
        return False  # an actor speaks the term's language: Vietnamese "mẹ" is not "me"
    if group == "negated" and term.start <= cue.start and cue.end <= term.end:
        return False  # the negation is the term's own: "don't want to live", 食べていません
    window = _WINDOW[group][term.spaceless]
    if cue.end <= term.start:
        return term.start - cue.end <= window
    if cue.start >= term.end:
        return cue.start - term.end <= window
    return True  # overlapping: "not suicidal" around "suicidal"


def levels(hits: list[Hit]) -> dict[str, str]:
    """Kind -> level. In each view a kind is "emergency" when one of its terms stands free of
    idiom and cue there; across views, a view that saw the cue wins (the views differ only in
    how well they read the words, so a cue one of them missed is still a cue)."""
    per_view: dict[int, dict[str, str]] = {}
    for view in {h.view for h in hits}:
        per_view[view] = _view_levels([h for h in hits if h.view == view])
    out: dict[str, str] = {}
    for found in per_view.values():
        for kind, level in found.items():
            if out.get(kind) != "look":
                out[kind] = level
    return out


def _view_levels(hits: list[Hit]) -> dict[str, str]:
    masks = [h for h in hits if h.role == "mask"]
    actors = [h for h in hits if h.role == "actor"]
    # A third-party cue that starts inside an actor is part of that word, not a third party:
    # 친구가 ("a friend") inside 남자친구가 ("my boyfriend").
    cues = [h for h in hits if h.role == "look" and h.kind != "ordinary" and not (
        h.kind == "others" and any(a.start < h.start < a.end for a in actors if a.view == h.view))]
    ordinary = [h for h in hits if h.role == "look" and h.kind == "ordinary"]
    out: dict[str, str] = {}
    for h in hits:
        if h.role != "term" or h.kind is None:
            continue
        if any(m.start < h.end and h.start < m.end for m in masks):
            continue  # the term is part of an idiom: 死ぬほど, 暇を殺す, 打我电话, dying to
        near = sorted({a.kind for a in actors if a.kind and _near(a, h, "actor")})
        if h.kind in _CONDITIONAL:
            kinds = [_CONDITIONAL[h.kind]] if _CONDITIONAL[h.kind] in near else []
        else:
            kinds = h.kind.split("+")  # suicide+self_harm: 睡眠薬を貯めてる is both
        for k in list(kinds):
            # Violence by a partner or family member is also domestic violence; to a child,
            # also abuse; a child without food, also neglect. The first kind stays: recall
            # first, and both responses fit.
            kinds += [a for a in near if a in _ACTOR_KINDS.get(k, ())]
        for kind in dict.fromkeys(kinds):
            if kind in _ORDINARY_MASKS and any(_near(o, h, "ordinary") for o in ordinary):
                continue  # "volunteering at a homeless shelter", "a murder in the news"
            groups = [g for g in _CUE_GROUPS if g != "others" or kind in _OTHERS_LOWER]
            lowered = any(c.kind in groups and _near(c, h, str(c.kind)) for c in cues)
            level = "look" if lowered else "emergency"
            if out.get(kind) != "emergency":
                out[kind] = level
    return out
