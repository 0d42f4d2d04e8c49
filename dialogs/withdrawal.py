"""Withdrawing consent in the dialog (issue 12): a whole-message command in every language
(「同意を取り消したい」, "withdraw", /withdraw) or the web chat's control asks which consent
goes; the answer is a ledger row (RecordConsent with decision "withdrawn") and the resident
is told in their language what happens now. Pure: no I/O."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import TYPE_CHECKING

from dialogs.types import Choice, EndConversation, OutboundMessage, RecordConsent
from i18n.catalog import catalog

if TYPE_CHECKING:
    from dialogs.engine import DialogInput, StepResult, _Step
    from dialogs.state import DialogState

COMMAND = "withdraw"
USE, SHARE, CANCEL = "withdraw_use", "withdraw_share", "withdraw_cancel"
# A short message that names consent and taking it back, in Japanese: 「同意を取り消したい…消してください」
_JA_PHRASE = re.compile(r"(同意|どうい).{0,8}(取り消|取消|とりけ|撤回|やめ)")
_MAX_CHARS = 40


def _whole(s: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", s).strip().casefold().strip(" 。．.、,!！?？…「」『』").split())


def words(language: str | None) -> set[str]:
    found = {COMMAND, "/withdraw", "/" + COMMAND}
    for lang in {"ja", "en", language or "ja"}:
        cat = catalog(lang, "consent")
        found |= {_whole(w) for w in cat.data.get("words") or []}
        found.add(_whole(cat.text("control")))
    return found


def is_command(text: str | None, choice: str | None, language: str | None, *, words_too: bool = True) -> bool:
    """The control, or a whole typed message. While a free-text question waits for its answer
    (`words_too` False) only the control's own label counts, as for the engine's commands:
    「夫が離婚の同意をやめると言っている」 is the resident's problem, not a command."""
    if choice == COMMAND:
        return True
    if not text or len(text) > _MAX_CHARS:
        return False
    if not words_too:
        return _whole(text) in {_whole(catalog(lg, "consent").text("control")) for lg in {"ja", "en", language or "ja"}}
    return _whole(text) in words(language) or bool(_JA_PHRASE.search(unicodedata.normalize("NFKC", text)))


def granted(step: _Step) -> set[str]:
    """What this resident may withdraw: the ledger's word (given by the inbound step) or, in a
    conversation still in its intake, the dialog's own answers."""
    kinds = set(step.ctx.granted or ())
    if step.s.consented_use:
        kinds.add("use")
    if step.s.answers.get("share") == "yes":
        kinds.add("share_agencies")
    return kinds - set(step.s.withdrawn)


def _choices(step: _Step) -> tuple[Choice, ...]:
    cat, kinds = catalog(step.lang, "consent"), granted(step)
    ids = [*([USE] if "use" in kinds else []), *([SHARE] if "share_agencies" in kinds else []), CANCEL]
    return tuple(Choice(cid, cat.label(cid)) for cid in ids)


def ask(step: _Step) -> StepResult:
    if not granted(step):
        # nothing to take back: say so and go on where the resident was (the button may
        # have been pressed to see what it does; "stop" is the way to end and purge)
        step.out.append(OutboundMessage(text=catalog(step.lang, "consent").text("nothing")))
        if step.s.node is not None and not step.s.finished:
            step.ask(step.node())
        return step.result()
    step.s.withdrawing = True
    step.out.append(OutboundMessage(text=catalog(step.lang, "consent").text("ask"), choices=_choices(step)))
    return step.result()


def _picked(step: _Step) -> str | None:
    ids = [c.id for c in _choices(step)]
    if step.inp.choice in ids:
        return step.inp.choice
    text = step.inp.text or ""
    t = _whole(text)
    if t.isdigit() and 1 <= int(t) <= len(ids):
        return ids[int(t) - 1]
    for cid in ids:
        if t in {_whole(catalog(lg, "consent").label(cid)) for lg in {"ja", "en", step.lang}} | {cid}:
            return cid
    return None


def _record(step: _Step, kind: str, shown: str) -> None:
    cat = catalog(step.lang, "consent")
    version = str(cat.data.get("version") or "0")
    digest = hashlib.sha256(f"withdraw|{kind}|{cat.language}|{version}|{shown}".encode()).hexdigest()
    step.effect(RecordConsent(consent_kind=kind, decision="withdrawn", wording_version=version,
                              wording_hash=digest, language=cat.language))
    step.s.withdrawn = [*step.s.withdrawn, kind]


def answer(step: _Step) -> StepResult:
    cid = _picked(step)
    cat = catalog(step.lang, "consent")
    if cid is None:  # not one of the buttons: ask again
        step.out.append(OutboundMessage(text=cat.text("ask"), choices=_choices(step)))
        return step.result()
    step.s.withdrawing = False
    shown = cat.text("ask") + "\n" + cat.label(cid)
    if cid == CANCEL:
        step.out.append(OutboundMessage(text=cat.text("cancelled")))
    elif cid == SHARE:
        _record(step, "share_agencies", shown)
        step.out.append(OutboundMessage(text=cat.text("share_done")))
    else:
        _record(step, "use", shown)
        step.s.consented_use = False
        days = step.ctx.profile.retention.withdrawal_erase_days
        key = "use_kept" if step.keeps_record() else ("use_done" if days > 0 else "use_done_now")
        step.out.append(OutboundMessage(text=cat.text(key, days=days)))
        step.s.finished, step.s.paused = True, False
        step.effect(EndConversation())
        return step.result()
    if step.s.node is not None and not step.s.finished:
        step.ask(step.node())  # the intake goes on where it was
    return step.result()


def may_reach(state: DialogState, inp: DialogInput) -> bool:
    """Whether a step on this input can reach the withdrawal: `handle`'s own test, loosened to
    every language the step may answer in. Only then does the inbound step read the ledger's
    consents for it (`DialogContext.granted`; a read on every message otherwise, issue 19)."""
    if state.withdrawing:
        return True
    languages = {state.language, inp.language_hint, inp.detected_language, inp.guessed_language}
    return any(is_command(inp.text, inp.choice, language) for language in languages)


def handle(step: _Step) -> StepResult | None:
    """The withdrawal's part of a step, or None when this message is not about it."""
    if step.s.withdrawing:
        return answer(step)
    at_text = step.s.node is not None and not step.s.finished and step.node().type == "text"
    if is_command(step.inp.text, step.inp.choice, step.lang, words_too=not at_text):
        return ask(step)
    return None
