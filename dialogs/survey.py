"""The post-session survey (002 §6(1)⑤, (3)⑧, (4)⑩): anonymous, optional, three questions and a
free comment, in the resident's language (the `survey` catalog namespace). Pure: no I/O.

The close action sends `survey_invitation(language)`. On a chat channel (web chat, LINE,
Telegram) the resident then answers one question at a time: `survey_step(progress, …)` takes
the saved progress and the resident's choice or text and says what to ask next, or that the
survey is over and which answers to store. By mail the invitation carries a link to a form
(`survey_email_invitation`). Anything that is not an answer — a new problem written after the
chat ended — leaves the survey (`Step.abandoned`) so the message is treated as a new
consultation; a risk-screened message never reaches this module."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dialogs.types import Choice, OutboundMessage
from i18n.catalog import catalog

NAMESPACE = "survey"
QUESTIONS = ("helped", "easy", "again")
ANSWERS = ("yes", "partly", "no")
START, SKIP = "survey_answer", "survey_skip"  # choice ids of the invitation


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    choices: tuple[Choice, ...]


def _label(language: str, choice_id: str) -> str:
    return catalog(language, NAMESPACE).label(choice_id)


def survey_invitation(language: str) -> OutboundMessage:
    """The message sent when a counsellor closes a conversation: the invitation and two choices."""
    cat = catalog(language, NAMESPACE)
    return OutboundMessage(text=cat.text("invite"),
                           choices=(Choice(START, cat.label("answer")), Choice(SKIP, cat.label("skip"))))


def survey_questions(language: str) -> list[Question]:
    cat = catalog(language, NAMESPACE)
    answers = tuple(Choice(a, cat.label(a)) for a in ANSWERS)
    return [Question(q, cat.text(q), answers) for q in QUESTIONS]


def survey_text(language: str, key: str) -> str:
    """`comment`, `thanks` or `worried` in the resident's language."""
    return catalog(language, NAMESPACE).text(key)


def survey_email_invitation(language: str, url: str) -> OutboundMessage:
    """The invitation by mail: no buttons to press, so a link to the form (one use, expires)."""
    cat = catalog(language, NAMESPACE)
    return OutboundMessage(text=f"{cat.text('invite')}\n\n{cat.text('email_link', url=url)}")


# ── one question at a time on a chat channel ───────────────────────────────────────────
INVITED, COMMENT = "invited", "comment"
_ORDER = (INVITED, *QUESTIONS, COMMENT)
NO_COMMENT = "no_comment"  # the comment question's one button


@dataclass(frozen=True)
class Step:
    """What `survey_step` decided. `progress` is None when the survey is over (finished,
    declined or abandoned); `answers` is set only when finished, for the anonymous store."""

    progress: dict[str, Any] | None
    messages: tuple[OutboundMessage, ...] = ()
    answers: dict[str, str | None] | None = None
    abandoned: bool = False
    comment: str | None = field(default=None, repr=False)


def _question_message(language: str, step: str) -> OutboundMessage:
    cat = catalog(language, NAMESPACE)
    if step == COMMENT:
        return OutboundMessage(text=cat.text("comment"), choices=(Choice(NO_COMMENT, cat.label("no_comment")),))
    return OutboundMessage(text=cat.text(step), choices=tuple(Choice(a, cat.label(a)) for a in ANSWERS))


def _as_choice(language: str, choice: str | None, text: str | None, allowed: tuple[str, ...]) -> str | None:
    """A button press, or a typed answer that is exactly a button's label or its number
    (LINE and Telegram residents often type "はい" or "1" instead of pressing)."""
    if choice in allowed:
        return choice
    if not text:
        return None
    typed = text.strip().casefold()
    cat = catalog(language, NAMESPACE)
    for n, cid in enumerate(allowed, 1):
        if typed in (str(n), cat.label(cid).casefold()):
            return cid
    return None


def survey_step(progress: dict[str, Any], language: str, *, choice: str | None = None,
                text: str | None = None, max_comment: int = 2000) -> Step:
    """Advance the survey by one answer. `progress` is {"step": …, "answers": {…}} as saved."""
    step = progress.get("step", INVITED)
    answers: dict[str, str | None] = dict(progress.get("answers") or {})
    if step == INVITED:
        picked = _as_choice(language, choice, text, (START, SKIP))
        if picked is None:
            return Step(None, abandoned=True)
        if picked == SKIP:
            return Step(None, (OutboundMessage(text=survey_text(language, "thanks")),))
        return Step({"step": QUESTIONS[0], "answers": answers}, (_question_message(language, QUESTIONS[0]),))
    if step in QUESTIONS:
        picked = _as_choice(language, choice, text, ANSWERS)
        if picked is None:
            return Step(None, abandoned=True)
        answers[step] = picked
        nxt = _ORDER[_ORDER.index(step) + 1]
        return Step({"step": nxt, "answers": answers}, (_question_message(language, nxt),))
    # the free comment: any text, or the "nothing to add" button
    comment = None if choice == NO_COMMENT or not (text or "").strip() else (text or "").strip()[:max_comment]
    if comment is None and choice != NO_COMMENT:
        return Step(None, abandoned=True)
    if comment is not None and _as_choice(language, None, comment, (NO_COMMENT,)):
        comment = None
    return Step(None, (OutboundMessage(text=survey_text(language, "thanks")),),
                answers={q: answers.get(q) for q in QUESTIONS}, comment=comment)
