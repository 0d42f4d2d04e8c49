"""The post-session survey (002 §6(1)⑤, (3)⑧, (4)⑩): anonymous, optional, three questions and a
free comment, in the resident's language (the `survey` catalog namespace). Pure: no I/O.

The close action calls `survey_invitation(language)` and sends the message it returns; a
resident who picks `survey_answer` is asked `survey_questions(language)` (the web chat shows them
as a form and posts the answers to /api/webchat/sessions/{id}/survey)."""

from __future__ import annotations

from dataclasses import dataclass

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
