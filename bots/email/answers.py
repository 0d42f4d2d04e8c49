"""Reading a free-form email reply into the intake's answers.

The bot's mail numbers its questions (Q1, Q2, ...). A resident may answer "Q3: 2, 5",
"Q3：家賃・住まい", fill the lines in inside the quoted mail, or ignore the form and simply
write. Whatever can be read fills an answer; anything else is left for the counsellor, and the
whole text always stays as the presenting problem in the resident's own words.
Categories are also read from keywords in that text (Japanese and English), because most people
will just describe their situation; the safety answer comes from the shared risk screen.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache

from bots.email.quotes import REPLY_MARKER


@dataclass(frozen=True)
class FormQuestion:
    number: int
    role: str  # the role (in the flow file) of the node it answers, whatever the node is called
    multi: bool = False
    free_text: bool = False


# The questions one email asks, in the flow's order. Consent to use is asked in words.
FORM: tuple[FormQuestion, ...] = (
    FormQuestion(1, "safety", multi=True),
    FormQuestion(2, "for_whom"),
    FormQuestion(3, "categories", multi=True),
    FormQuestion(4, "problem", free_text=True),
    FormQuestion(5, "age_band"),
    FormQuestion(6, "district"),
    FormQuestion(7, "household"),
    FormQuestion(8, "public_assistance"),
    FormQuestion(9, "residence"),
    FormQuestion(10, "name", free_text=True),
    FormQuestion(11, "contact"),
    FormQuestion(12, "contact_time"),
    FormQuestion(13, "consent_share"),
)
BY_NUMBER = {q.number: q for q in FORM}

_AGREE = re.compile(
    r"(同意します|同意する|同意いたします|同意致します|同意です|どうい\s*します|どういします|"
    r"\bi\s+agree\b|tôi đồng ý|동의합니다)",
    re.IGNORECASE,
)
_DECLINE = re.compile(
    r"(同意しません|同意しない|同意できません|同意いたしません|どうい\s*しません|不同意|"
    r"\bi\s+do\s*n[o']t\s+agree\b|\bdisagree\b|\bi\s+decline\b|không đồng ý|동의하지 않습니다)",
    re.IGNORECASE,
)
_Q_LINE = re.compile(r"^\s*(?:>\s*)*(?:Q|Ｑ|質問|問|しつもん)\s*([0-9０-９]{1,2})\s*[:：]\s*(.*)$", re.IGNORECASE)

# keywords → problem categories (the counsellor refines them; a wrong guess costs little)
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "money": ("生活費", "お金", "収入", "給料", "給与", "貯金", "money", "income", "salary"),
    "debt": ("借金", "ローン", "返済", "督促", "滞納", "消費者金融", "カード", "debt", "loan", "arrears"),
    "job": ("仕事", "失業", "就職", "解雇", "雇い止め", "求職", "派遣", "アルバイト", "バイト", "職場",
            "job", "work", "unemploy", "fired", "laid off"),
    "housing": ("家賃", "住まい", "住居", "立ち退き", "退去", "部屋を出", "引っ越", "アパート", "rent",
                "evict", "housing", "apartment"),
    "homeless": ("住む所がない", "住むところがない", "野宿", "ホームレス", "ネットカフェ", "路上", "homeless",
                 "nowhere to live", "sleeping rough"),
    "food": ("食べ物", "食料", "食べる物", "食べるもの", "食事", "ごはん", "ご飯", "food", "hungry"),
    "health": ("病気", "入院", "医療", "体調", "通院", "障害", "うつ", "病院", "health", "hospital",
               "illness", "sick", "depress"),
    "family": ("離婚", "DV", "暴力", "介護", "家族の問題", "夫", "妻", "divorce", "violence", "family"),
    "children": ("子ども", "子供", "こども", "学校", "不登校", "進学", "children", "child", "school"),
    "single_parent": ("ひとり親", "一人親", "母子家庭", "父子家庭", "シングルマザー", "シングルファーザー",
                      "single mother", "single father", "single parent"),
    "isolation": ("ひきこも", "引きこも", "引き籠", "閉じこも", "孤独", "孤立", "家から出られない", "外に出られない",
                  "isolat", "lonely", "hikikomori"),
    "welfare": ("生活保護", "保護費", "福祉事務所", "welfare", "public assistance"),
}
# The safety question is answered from the one risk screen every channel uses (i18n.risk), never
# from a word list of the email channel's own. The mail text itself is also screened by the
# dialog on arrival, which gives the emergency contacts at the top of the answer mail.
_SAFETY_KINDS = ("medical", "no_shelter", "no_food")
_RELATIVE = re.compile(r"(息子|娘|母|父|夫|妻|兄|姉|弟|妹|家族|祖母|祖父|my (son|daughter|mother|father|husband|wife))")
_CONSENT_LINE = re.compile(r"^\s*(" + _AGREE.pattern + r"|" + _DECLINE.pattern + r")\s*[。.!！]*\s*$", re.IGNORECASE)


def norm(s: str) -> str:
    return unicodedata.normalize("NFKC", s).strip().casefold()


@cache
def _consent_labels() -> dict[str, str]:
    """Every catalog's consent labels ("Estoy de acuerdo", "Tôi không đồng ý", ...) → decision.

    The mail asks the resident to write their language's label; a label counts only as a line
    of its own, because short ones ("同意", "Concordo") also occur inside ordinary sentences.
    """
    from i18n.catalog import available_languages, catalog

    found: dict[str, str] = {}
    for language in available_languages():
        cat = catalog(language)
        for decision in ("agree", "decline"):
            found.setdefault(_bare(cat.label(decision)), decision)
    return found


def _bare(line: str) -> str:
    return norm(line).strip(" \t.。!！、,「」『』\"'“”")


def _consent_of_line(line: str) -> str | None:
    return _consent_labels().get(_bare(line)) if line.strip() else None


def _consent_in(text: str) -> str | None:
    by_line = {_consent_of_line(ln) for ln in text.splitlines()}
    if _DECLINE.search(text) or "decline" in by_line:
        return "decline"
    if _AGREE.search(text) or "agree" in by_line:
        return "agree"
    return None


@dataclass
class MailAnswers:
    consent: str | None = None  # agree, decline
    # role -> raw answer text from a "Qn:" line (choice nodes are matched later, per node)
    form: dict[str, str] = field(default_factory=dict)
    problem_text: str = ""
    categories: list[str] = field(default_factory=list)
    safety: list[str] = field(default_factory=list)
    for_whom: str | None = None


def _read_form(text: str) -> dict[str, str]:
    """Qn lines (a multi-line answer runs until the next Qn line or a blank line)."""
    found: dict[str, str] = {}
    current: int | None = None
    buf: list[str] = []

    def flush() -> None:
        if current is None:
            return
        value = "\n".join(buf).strip()
        if value and not _placeholder(value):
            found.setdefault(BY_NUMBER[current].role, value)

    for line in text.splitlines():
        if REPLY_MARKER in line:
            break
        m = _Q_LINE.match(line)
        if m:
            flush()
            n = int(unicodedata.normalize("NFKC", m.group(1)))
            current = n if n in BY_NUMBER else None
            buf = [m.group(2)]
            continue
        if current is not None:
            stripped = re.sub(r"^\s*(>\s*)+", "", line)
            if not stripped.strip():
                flush()
                current, buf = None, []
            elif BY_NUMBER[current].free_text:
                buf.append(stripped)
    flush()
    return found


def _placeholder(value: str) -> bool:
    v = norm(value)
    return v in ("", "-", "ー") or (v.startswith("(") and v.endswith(")")) or v.startswith("（")


def read_answers(new_text: str, whole_body: str) -> MailAnswers:
    """`new_text`: the reply without quotes; `whole_body`: with them (forms filled inline)."""
    ans = MailAnswers()
    form = _read_form(whole_body)
    form.update(_read_form(new_text))  # what was written above the quote wins
    ans.form = form
    ans.consent = _consent_in(new_text)
    # The presenting problem: the new text without the consent phrase and form lines
    kept = [
        ln for ln in new_text.splitlines()
        if not _Q_LINE.match(ln) and not _CONSENT_LINE.match(ln) and _consent_of_line(ln) is None
    ]
    problem = "\n".join(kept).strip()
    if form.get("problem"):
        problem = "\n\n".join(p for p in (form["problem"], problem) if p)
    ans.problem_text = problem
    ans.categories, ans.safety = keywords(problem)
    if _RELATIVE.search(problem):
        ans.for_whom = "relative"
    return ans


def keywords(text: str) -> tuple[list[str], list[str]]:
    """(problem categories from keywords, safety choices from the shared risk screen)."""
    t = norm(text)
    categories = [c for c, words in CATEGORY_WORDS.items() if any(norm(w) in t for w in words)]
    return categories, safety_from_screen(text)


def safety_from_screen(text: str) -> list[str]:
    """The safety question's choices (danger, medical, no_shelter, no_food) for what the risk
    screen found at the emergency level; a "look" finding answers nothing here."""
    from i18n import risk

    finding = risk.screen(text) if text.strip() else None
    if not finding or finding.level != "emergency":
        return []
    out = [k for k in _SAFETY_KINDS if k in finding.kinds]
    if set(finding.kinds) - set(_SAFETY_KINDS):
        out.insert(0, "danger")
    return out


def match_choices(value: str, choices: list[tuple[str, list[str]]], multi: bool) -> list[str]:
    """Map an answer ("2", "2, 5", "家族", "rent") to choice ids. `choices` holds
    (id, [labels in every language we know]) in the order the mail numbered them."""
    parts = [value] if not multi else [p for p in re.split(r"[,、，/／・\s]+|\band\b", value) if p.strip()]
    picked: list[str] = []
    for part in parts:
        p = norm(part).rstrip(".。")
        if not p:
            continue
        cid = None
        if p.isdigit() and 1 <= int(p) <= len(choices):
            cid = choices[int(p) - 1][0]
        else:
            for choice_id, labels in choices:
                names = {norm(choice_id), *(norm(label) for label in labels)}
                if p in names:
                    cid = choice_id
                    break
            if cid is None and len(p) >= 2:  # a word inside a label: "家賃" for "家賃・住まい"
                hits = [cid_ for cid_, labels in choices if any(p in norm(label) for label in labels)]
                cid = hits[0] if len(hits) == 1 else None
        if cid and cid not in picked:
            picked.append(cid)
    if multi and not picked:
        # a whole label written with separators in it ("家賃・住まい")
        whole = norm(value)
        picked = [cid for cid, labels in choices if any(norm(label) == whole for label in labels)]
    return picked if multi else picked[:1]
