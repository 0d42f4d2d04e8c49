"""The pure step function: (state, input, context) -> (new state, messages, effects). No I/O.

Every step works on a copy of the state; the caller persists the result in one transaction
together with the effects it applies.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dialogs import withdrawal
from dialogs.flow import Flow, Node, advance, jump, load_flow
from dialogs.profile import Contact, Profile
from dialogs.state import DialogState
from dialogs.types import (
    FLOW_EFFECTS,
    Choice,
    ContactLink,
    CreateCase,
    Effect,
    EndConversation,
    FlagLook,
    MarkUrgent,
    OutboundMessage,
    PurgeUnconsented,
    RecordConsent,
    RequestHuman,
    SetLanguage,
)
from i18n import risk
from i18n.catalog import Catalog, available_languages, catalog, language_name
from i18n.formats import format_datetime_for, list_separator

# Commands that work at every node. A typed command is the whole message (after trimming and
# normalising), never a word inside a longer one: 「人生やめたい」 or "i can't stop crying" are a
# person speaking, not a command. On text nodes only the button labels count.
COMMANDS = ("human", "lang", "back", "stop")
COMMAND_WORDS: dict[str, tuple[str, ...]] = {
    "human": ("相談員", "人と話", "担当者", "そうだんいん", "talk to a person", "human", "operator",
              "counsellor", "counselor", "staff", "real person"),
    "lang": ("言語", "げんご", "language", "languages"),
    "back": ("戻る", "もどる", "back", "go back"),
    "stop": ("やめる", "やめます", "やめたい", "中止", "stop", "quit", "cancel"),
}
# Kinds whose "look" answer names a 24-hour line (someone talking about dying, even indirectly).
_LIFE_KINDS = ("suicide", "self_harm")
_TRAILING = " \t\n\r。．.、,!！?？～~…「」『』\"'"
ACK_INTERVAL_SECONDS = 600
_PHONE = re.compile(r"^\+?[0-9]{10,13}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,}$")


@dataclass(frozen=True)
class DialogInput:
    text: str | None = None
    choice: str | None = None
    kind: str = "message"  # message, media, follow
    language_hint: str | None = None  # from the channel
    detected_language: str | None = None  # reliable detection of `text`, if any
    # the likeliest language of `text` even when too short to be sure: only for answering in
    # it before a language is chosen ("i want to die" at the language question), never stored
    guessed_language: str | None = None
    translations: tuple[str, ...] = ()  # the text in Japanese/English, for risk screening
    resumed: bool = False  # the resident comes back after a long pause
    secure: bool = False  # typed on the operator's own page, not in LINE/Telegram (issue 16)
    # With kind "media" (issue 16): "received" (stored for the counsellor: acknowledge, ask
    # again), "album_more" (another photo of an album already acknowledged: say nothing more),
    # "not_kept" (the channel layer tells why; just ask again); None: a sticker or a location.
    media: str | None = None


Screen = Callable[..., risk.RiskFinding]


@dataclass(frozen=True)
class DialogContext:
    profile: Profile
    now: datetime
    max_chars: int = 4000
    screen: Screen | None = None  # i18n.risk.screen unless given (tests inject findings)
    # Consents the ledger holds as granted for this resident (the inbound step reads them): a
    # resident whose intake ended in an earlier conversation can still withdraw them.
    granted: tuple[str, ...] = ()


@dataclass
class StepResult:
    state: DialogState
    messages: list[OutboundMessage] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)

    @property
    def node(self) -> str | None:
        return self.state.node


def separator(language: str | None) -> str:
    """How chosen items are joined in a line in `language` (i18n.formats, shared with the page)."""
    return list_separator(language)


def format_when(moment: datetime, language: str) -> str:
    """A day and time in the language's own form (CLDR through Babel; Easy Japanese in kana)."""
    return format_datetime_for(moment, language)


def _norm(s: str) -> str:
    return unicodedata.normalize("NFKC", s).strip().casefold()


def _whole(s: str) -> str:
    """A whole typed message as compared with commands and labels: NFKC, case-folded, with
    surrounding spaces and punctuation trimmed and inner spaces collapsed."""
    return " ".join(_norm(s).strip(_TRAILING).split())


def contact_link(contact: Contact, language: str) -> ContactLink | None:
    if not contact.phone or not contact.tel_uri:
        return None
    return ContactLink(label=contact.label_for(language), number=contact.phone, uri=contact.tel_uri)


class _Step:
    """One step's working set; methods append messages and effects as they go."""

    def __init__(self, state: DialogState, inp: DialogInput, ctx: DialogContext) -> None:
        self.s = copy.deepcopy(state)
        self.inp = inp
        self.ctx = ctx
        self.flow: Flow = load_flow(self.s.flow or ctx.profile.flow)
        self.out: list[OutboundMessage] = []
        self.effects: list[Effect] = []
        self._params: dict[str, dict[str, Any]] = {}
        self.defer_entering = False  # a risk answer: the next question waits for the choice
        self.no_unknown = False  # a screened message never gets "didn't understand"

    # ── helpers ────────────────────────────────────────────────────────────────
    @property
    def lang(self) -> str:
        # Before the resident picks a language, answer a crisis in the language they wrote.
        langs = available_languages()
        detected = self.inp.detected_language if self.inp.detected_language in langs else None
        guessed = self.inp.guessed_language if self.inp.guessed_language in langs else None
        return self.s.language or detected or guessed or "ja"

    @property
    def cat(self) -> Catalog:
        return catalog(self.lang)

    def params(self) -> dict[str, Any]:
        lang = self.lang
        cached = self._params.get(lang)
        if cached is None:
            cached = self._params[lang] = self._build_params(lang)
        return cached

    def _build_params(self, lang: str) -> dict[str, Any]:
        p = self.ctx.profile
        open_at = p.office_hours.next_opening(self.ctx.now)
        return {
            "centre_name": p.t(p.centre_name, lang),
            "operator": p.t(p.operator, lang),
            "municipality": p.t(p.municipality, lang),
            "contact_line": f"{p.t(p.address, lang)}\nTEL {p.phone}",
            "emergency_contacts": p.emergency_text(lang),
            "lodging_contact": p.lodging_text(lang),
            "next_open": format_when(open_at.astimezone(p.office_hours.tz), lang),
            "limit": self.ctx.max_chars,
        }

    def say(self, key: str, kind: str = "text", **extra: Any) -> None:
        self.out.append(OutboundMessage(text=self.cat.text(key, **{**self.params(), **extra}), kind=kind))  # type: ignore[arg-type]

    def effect(self, effect: Effect) -> None:
        self.effects.append(effect)

    def node(self, name: str | None = None) -> Node:
        return self.flow.nodes[name or self.s.node or self.flow.start]

    def choice_ids(self, node: Node) -> list[str]:
        if node.choices == "$languages":
            ids = list(available_languages())
        elif node.choices == "$districts":
            ids = [*self.ctx.profile.districts, "outside"]
        else:
            ids = list(node.choices)
        if node.type == "multi":
            ids = [*ids, *( [node.none] if node.none else []), "done"]
        if node.optional:
            ids.append("skip")
        return ids

    def label(self, node: Node, cid: str) -> str:
        if node.choices == "$languages":
            return language_name(cid)
        if node.choices == "$districts" and cid not in ("outside", "skip"):
            return cid
        return self.cat.label(cid)

    def choices_for(self, node: Node) -> tuple[Choice, ...]:
        return tuple(Choice(cid, self.label(node, cid)) for cid in self.choice_ids(node))

    # ── input interpretation ───────────────────────────────────────────────────
    def match_choice(self, node: Node, text: str) -> str | None:
        """A typed answer: a choice's number, id, or label in the current, Japanese or English
        catalog (residents type what the button said)."""
        t = _norm(text)
        ids = self.choice_ids(node)
        if t.isdigit() and 1 <= int(t) <= len(ids):
            return ids[int(t) - 1]
        w = _whole(text)
        for cid in ids:
            candidates = {cid, self.label(node, cid), catalog("ja").label(cid), catalog("en").label(cid)}
            if t in {_norm(c) for c in candidates} or w in {_whole(c) for c in candidates}:
                return cid
        return None

    def typed_label(self, *ids: str) -> str | None:
        """Which of these choices a typed message is, as a whole (a label or the id)."""
        if not self.inp.text or len(self.inp.text) > 40:
            return None
        w = _whole(self.inp.text)
        for cid in ids:
            if w in {_whole(cid), *(_whole(catalog(lg).label(cid)) for lg in {"ja", "en", self.lang})}:
                return cid
        return None

    def command(self, node: Node | None) -> str | None:
        if self.inp.choice in COMMANDS:
            return self.inp.choice
        text = self.inp.text
        if not text or len(text) > 40:
            return None
        t = _whole(text)
        words_too = node is None or node.type != "text"
        for cmd in COMMANDS:
            labels = {_whole(catalog(lang).label(cmd)) for lang in {"ja", "en", self.lang}}
            if t in labels or (words_too and t in {_whole(w) for w in COMMAND_WORDS[cmd]}):
                return cmd
        return None

    # ── rendering nodes ────────────────────────────────────────────────────────
    def enter(self, name: str, *, quiet: bool = False) -> None:
        """Move to a node and ask its question, skipping nodes whose answer is known."""
        name = self.place(name)
        node = self.node(name)
        if self.defer_entering and node.type != "end":
            self.s.after_risk = "enter"  # shown when the resident chooses to go on
            return
        if not quiet:
            for key in node.say:
                self.say(key)
        if node.type == "end":
            self._finish(node)
            return
        if node.summary:
            self.say("summary.intro")
            self.out.append(OutboundMessage(text=self.summary_text(), kind="summary"))
        self.ask(node)

    def place(self, name: str) -> str:
        """Move to a node without saying anything (skipping nodes whose answer is known)."""
        for _ in range(len(self.flow.nodes) + 1):
            node = self.node(name)
            if node.skip_when_known and self._known(node.skip_when_known):
                name = advance(self.flow, name, "answered")
                continue
            break
        self.s.node = name
        self.s.selection = []
        return name

    def _known(self, key: str) -> bool:
        if key == "language":
            return self.s.language is not None
        return key in self.s.answers

    def ask(self, node: Node, prefix: str | None = None) -> None:
        text = self.cat.text(node.prompt, **self.params()) if node.prompt else ""
        if prefix:
            text = f"{prefix}\n\n{text}"
        self.out.append(OutboundMessage(text=text, choices=self.choices_for(node), multi=node.type == "multi"))

    def summary_text(self) -> str:
        # "(none)" after "Safety now" read as "no safety": an empty safety answer says the
        # resident answered "nothing urgent", a skipped question says it was not answered.
        a = self.s.answers
        none = self.cat.text("summary.none")
        skipped = self.cat.text("summary.skipped")

        def lbl(v: Any, empty: str = none) -> str:
            if v is None:
                return skipped
            if isinstance(v, list):
                return separator(self.s.language).join(self.cat.label(x) for x in v) if v else empty
            return self.cat.label(str(v))

        rows = [
            ("for_whom", lbl(a.get("for_whom"))),
            ("safety", lbl(a.get("safety"), self.cat.text("summary.safety_none"))),
            ("categories", lbl(a.get("categories"))),
            ("problem_text", self.secured("problem_text") or a.get("problem_text") or skipped),
            ("age_band", lbl(a.get("age_band"))),
            ("district", a.get("district") if a.get("district") not in (None, "outside") else lbl(a.get("district"))),
            ("household", lbl(a.get("household"))),
            ("public_assistance", lbl(a.get("public_assistance"))),
            ("residence", lbl(a.get("residence"))),
            ("name", self.secured("name") or a.get("name") or self.cat.text("summary.anonymous")),
            ("contact_method", lbl(a.get("contact_method")) + (
                f" ({self.secured('contact_detail') or a['contact_detail']})" if a.get("contact_detail") else "")),
            ("contact_time", lbl(a.get("contact_time"))),
            ("share", lbl(a.get("share"))),
        ]
        return "\n".join(f"■ {self.cat.text('summary.field.' + k)}: {v}" for k, v in rows)

    def secured(self, key: str) -> str | None:
        """An answer given on the operator's own page is never repeated into the chat it came
        from: the summary says where it was written instead (issue 16)."""
        if key in self.s.secured and self.s.answers.get(key):
            return catalog(self.lang, "secure").text("summary_value")
        return None

    def _finish(self, node: Node) -> None:
        self.s.finished = True
        if node.prompt and "purge_unconsented" in node.effects and self.keeps_record():
            self.say("safety.record_kept")  # not "nothing was kept": it was, and why
        elif node.prompt:
            self.say(node.prompt)
        for eff in node.effects:
            if eff == "create_case":
                answers = dict(self.s.answers)
                self.effect(CreateCase(
                    answers=answers,
                    language=self.s.language or "ja",
                    urgent_reasons=list(self.s.urgent_reasons),
                    recommended=self.ctx.profile.recommend(answers),
                ))
                self.effect(RequestHuman(reason="intake_complete"))
            elif eff in ("purge_unconsented", "end_conversation") and self.keeps_record():
                continue  # a crisis record is kept, and the conversation stays in the queue
            else:
                self.effect(FLOW_EFFECTS[eff]())

    # ── the step ───────────────────────────────────────────────────────────────
    def run(self) -> StepResult:
        inp = self.inp
        if inp.language_hint and self.s.language is None and inp.language_hint in available_languages():
            self.s.language, self.s.language_source = inp.language_hint, "channel"
            self.effect(SetLanguage(language=inp.language_hint, source="channel"))

        # Safeguarding comes before everything else: every text, in every state.
        finding = self.screen()
        if not finding and (withdrawal_step := withdrawal.handle(self)) is not None:
            return withdrawal_step  # a screened message is never a command
        if self.s.node is None:
            return self.first_contact(finding)
        node = self.node()
        if self.s.finished:
            return self.after_intake(finding)
        early = self.risk_gate(node, finding) or self.media_or_pause_gate(node, finding)
        if early is not None:
            return early
        cmd = None if finding else self.command(node)  # a screened message is never a command
        if cmd:
            return self.run_command(cmd, node)
        if node.type == "text":
            self.answer_text(node)
        elif node.type == "multi":
            self.answer_multi(node)
        else:
            self.answer_choice(node)
        return self.result()

    def first_contact(self, finding: risk.RiskFinding) -> StepResult:
        inp = self.inp
        if inp.detected_language and self.s.language is None and inp.detected_language in available_languages():
            self.s.language, self.s.language_source = inp.detected_language, "detected"
            self.effect(SetLanguage(language=inp.detected_language, source="detected"))
        if inp.kind == "follow":
            self.say("greeting.follow")
        if finding.level == "emergency":
            # The contacts first; the service and its consent wait for the resident's choice.
            self.place(self.flow.start)
            self.s.after_risk = "enter"
            self.respond_emergency(finding)
            return self.result()
        if finding:
            self.respond_look(finding)
        self.enter(self.flow.start)
        return self.result()

    def after_intake(self, finding: risk.RiskFinding) -> StepResult:
        """The bot's part is over: crises are still answered; otherwise a person, or an ack."""
        if finding.level == "emergency":
            self.respond_emergency(finding, offer_choices=False)
            return self.result()
        if finding:
            self.respond_look(finding)
            return self.result()
        if self.inp.kind == "media" and self.inp.media in ("received", "album_more"):
            if self.inp.media == "received":  # kept for the counsellor: said once per album
                self.out.append(OutboundMessage(text=catalog(self.s.language, "media").text("received"), kind="notice"))
            return self.result()
        cmd = self.command(None)
        if cmd == "human" and not self.s.human_requested:
            self.request_human("asked")
        elif self._ack_due():
            self.say("waiting.ack" if self.ctx.profile.office_hours.is_open(self.ctx.now) else "waiting.ack_out_of_hours")
        return self.result()

    def risk_gate(self, node: Node, finding: risk.RiskFinding) -> StepResult | None:
        """A screened message (or the choice after one): the step ends here when answered."""
        if finding.level == "emergency":
            return self.emergency_step(node, finding)
        if finding:
            self.respond_look(finding)
            self.no_unknown = True
            if self.s.after_risk == "enter":
                self.s.after_risk = None
                self.enter(node.name)
                return self.result()
        elif self.s.after_risk and self.after_risk_step(node):
            return self.result()
        return None

    def media_or_pause_gate(self, node: Node, finding: risk.RiskFinding) -> StepResult | None:
        inp = self.inp
        if inp.kind == "media":
            return self.media_step(node, finding)
        # A follow mid-intake (Telegram's /start again, LINE's unblock) is a return, not an
        # answer: welcome back, then continue or restart (never "didn't understand").
        if (inp.resumed or self.s.paused or inp.kind == "follow") and inp.choice not in ("continue", "restart"):
            self.s.paused = True
            self.out.append(OutboundMessage(
                text=self.cat.text("resume.ask"),
                choices=(Choice("continue", self.cat.label("continue")), Choice("restart", self.cat.label("restart"))),
            ))
            return self.result()
        if self.s.paused or inp.choice in ("continue", "restart"):
            return self.resume()
        return None

    def media_step(self, node: Node, finding: risk.RiskFinding) -> StepResult:
        """A photo or a document mid-intake is kept for the counsellor: acknowledged and the
        current question asked again — once per album, never "didn't understand"."""
        if self.inp.media == "album_more" and not finding:
            return self.result()
        if self.inp.media == "received":
            if not finding:
                self.out.append(OutboundMessage(text=catalog(self.s.language, "media").text("received"), kind="notice"))
        elif self.inp.media is None and not finding:
            self.say("media.unsupported")
        self.ask(node)
        return self.result()

    def result(self) -> StepResult:
        return StepResult(self.s, self.out, self.effects)

    def _ack_due(self) -> bool:
        now = self.ctx.now.timestamp()
        if self.s.last_ack_at is None or now - self.s.last_ack_at >= ACK_INTERVAL_SECONDS:
            self.s.last_ack_at = now
            return True
        return False

    # ── safeguarding ───────────────────────────────────────────────────────────
    def screen(self) -> risk.RiskFinding:
        if not self.inp.text:
            return risk.RiskFinding(())
        screen = self.ctx.screen or risk.screen
        return screen(self.inp.text, *self.inp.translations, language=self.s.language or self.inp.detected_language)

    def keeps_record(self) -> bool:
        """A conversation that was ever urgent or flagged is never purged as unconsented."""
        return bool(self.s.urgent_reasons or self.s.look_reasons)

    def emergency_step(self, node: Node, finding: risk.RiskFinding) -> StepResult:
        """A message that screens as an emergency: never a command, never "didn't understand",
        never an end or a reset. Free text answering a text question is kept as the answer; the
        next question waits until the resident chooses to go on."""
        pending = self.s.after_risk or "ask"
        answers_question = (
            pending == "ask" and node.type == "text" and not node.validate_as and self.inp.kind != "media"
            and not self.s.paused and not self.inp.resumed
        )
        if answers_question:
            self.defer_entering = True
            self.answer_text(node)
            self.defer_entering = False
            pending = self.s.after_risk or "ask"
        self.s.after_risk = pending
        self.respond_emergency(finding)
        return self.result()

    def respond_emergency(self, finding: risk.RiskFinding, *, offer_choices: bool = True) -> None:
        new = [k for k in finding.kinds if k not in self.s.urgent_reasons]
        if new:
            self.s.urgent_reasons.extend(new)
            self.effect(MarkUrgent(reasons=new, level="emergency"))
        recent = self.s.last_emergency_at is not None and (
            self.ctx.now.timestamp() - self.s.last_emergency_at < REPEAT_WINDOW_SECONDS)
        if recent and not new:
            self.say_risk_again(list(finding.kinds))
        else:
            self.say_risk(list(finding.kinds))
            self.s.last_emergency_at = self.ctx.now.timestamp()
        if not self.s.human_requested:
            self.s.human_requested = True
            self.effect(RequestHuman(reason="risk"))
        if offer_choices:
            self.out.append(OutboundMessage(
                text=self.cat.text("risk.choose"),
                choices=(Choice("human", self.cat.label("human")), Choice("continue", self.cat.label("continue"))),
            ))

    def respond_look(self, finding: risk.RiskFinding) -> None:
        """A mention to look at (negated, past, someone else): no alarm, a counsellor reads it
        soon, the intake goes on."""
        new = [k for k in finding.kinds if k not in self.s.look_reasons and k not in self.s.urgent_reasons]
        if not new:
            return
        self.s.look_reasons.extend(new)
        self.effect(FlagLook(reasons=new))
        if not self.s.human_requested:
            self.s.human_requested = True
            self.effect(RequestHuman(reason="look"))
        lines = [self.cat.text("risk.look")]
        links: list[ContactLink] = []
        if any(k in _LIFE_KINDS for k in finding.kinds):
            line = next((c for c in self.ctx.profile.contacts_for(["suicide"]) if c.always_open), None)
            if line is not None:
                lines.append(self.cat.text("risk.look_suicide", line=self.contact_line(line)))
                links = [lk for lk in [contact_link(line, self.lang)] if lk]
        self.out.append(OutboundMessage(text="\n".join(lines), contacts=tuple(links)))

    def contact_line(self, c: Contact) -> str:
        hours = self.cat.text(c.hours) if c.hours and c.hours.startswith("safety.") else (c.hours or "")
        note = c.note.get(self.lang) or (c.note.get("ja") if self.lang.startswith("ja") else None) or c.note.get("en") or ""
        extra = "; ".join(x for x in (hours, note) if x)
        line = f"{c.label_for(self.lang)} {c.phone}"
        if not extra:
            return line
        return f"{line}（{extra}）" if self.lang.startswith("ja") else f"{line} ({extra})"

    def say_risk(self, kinds: list[str]) -> None:
        """One emergency message: a line for each kind, the profile's lines for those kinds, and
        when a person reads it (out of hours: the next opening and the lines answering now)."""
        ordered = [k for k in risk.KINDS if k in kinds] + [k for k in kinds if k not in risk.KINDS]
        lines = [self.cat.text(f"risk.open.{k}") for k in ordered if f"risk.open.{k}" in self._keys()]
        contacts = self.ctx.profile.contacts_for(ordered)
        if not self.ctx.profile.office_hours.is_open(self.ctx.now):
            contacts = sorted(contacts, key=lambda c: not c.always_open)  # 24-hour lines first at night
        lines += ["・" + self.contact_line(c) if self.lang.startswith("ja") else "• " + self.contact_line(c) for c in contacts]
        hours = self.ctx.profile.office_hours
        if hours.is_open(self.ctx.now):
            lines.append(self.cat.text("risk.in_hours"))
        else:
            now_lines = [c for c in contacts if c.always_open]
            lines.append(self.cat.text(
                "risk.out_of_hours", **self.params(),
                lines_24h=separator(self.lang).join(f"{c.label_for(self.lang)} {c.phone}" for c in now_lines),
            ))
        links = tuple(lk for c in contacts if (lk := contact_link(c, self.lang)))
        self.out.append(OutboundMessage(text="\n".join(without_repeated_sentences(lines)), kind="emergency",
                                        contacts=links))

    def say_risk_again(self, kinds: list[str]) -> None:
        """The same danger again within the window: a short answer with the lines that answer
        at any hour (the full list was given minutes ago and is still on the screen)."""
        ordered = [k for k in risk.KINDS if k in kinds] + [k for k in kinds if k not in risk.KINDS]
        now_lines = [c for c in self.ctx.profile.contacts_for(ordered) if c.always_open] \
            or self.ctx.profile.contacts_for(ordered)[:2]
        text = self.cat.text("risk.again", lines_24h=separator(self.lang).join(
            f"{c.label_for(self.lang)} {c.phone}" for c in now_lines))
        links = tuple(lk for c in now_lines if (lk := contact_link(c, self.lang)))
        self.out.append(OutboundMessage(text=text, kind="emergency", contacts=links))

    def _keys(self) -> set[str]:
        cat: Catalog | None = self.cat
        keys: set[str] = set()
        while cat is not None:
            keys |= set(cat.texts)
            cat = cat.fallback
        return keys

    def after_risk_step(self, node: Node) -> bool:
        """The resident's answer to "talk to a person, or go on?". True when handled here."""
        choice = self.inp.choice or self.typed_label("continue", "human") or (
            "human" if self.command(node) == "human" else None
        )
        pending = self.s.after_risk
        if choice == "continue":
            self.s.after_risk, self.s.paused = None, False
            if pending == "enter":
                self.enter(node.name)
            elif node.consent == "use":
                # They have read the consent wording already: ask for the answer, not the text.
                self.out.append(OutboundMessage(text=self.cat.text("safety.continue_consent"), choices=self.choices_for(node)))
            else:
                self.ask(node)
            return True
        if choice == "human":
            if not self.s.human_requested:
                self.request_human("asked")
            else:
                open_now = self.ctx.profile.office_hours.is_open(self.ctx.now)
                self.say("human.requested" if open_now else "human.requested_out_of_hours")
            self.out.append(OutboundMessage(
                text=self.cat.text("risk.meanwhile"), choices=(Choice("continue", self.cat.label("continue")),),
            ))
            return True
        self.s.after_risk = None
        if pending == "enter" and self.command(node) is None:
            self.enter(node.name)
            return True
        return False

    def request_human(self, reason: str) -> None:
        self.s.human_requested = True
        self.effect(RequestHuman(reason=reason))
        key = "human.requested" if self.ctx.profile.office_hours.is_open(self.ctx.now) else "human.requested_out_of_hours"
        self.say(key)

    def run_command(self, cmd: str, node: Node) -> StepResult:
        if cmd == "human":
            if self.s.human_requested:
                self.say("waiting.ack")
            else:
                self.request_human("asked")
            self.ask(node)
        elif cmd == "lang":
            self.s.return_to = node.name
            language = self.flow.name_for("language")
            self.s.node = jump(self.flow, node.name, language)
            self.ask(self.node(language))
        elif cmd == "back":
            if not self.s.history:
                self.ask(node, prefix=self.cat.text("back.unavailable"))
            else:
                prev = self.s.history.pop()
                self.s.node = jump(self.flow, node.name, prev)
                self.s.selection = []
                self.ask(self.node(prev))
        elif cmd == "stop":
            if self.s.consented_use:
                self.say("stop.kept")
                self.s.paused = True
            elif self.keeps_record():
                # After a crisis nothing is deleted and the conversation stays with the centre.
                self.say("safety.record_kept")
                self.s.paused = True
            else:
                self.say("stop.purged")
                lang = self.s.language
                self.s = DialogState(flow=self.s.flow, language=lang, language_source=self.s.language_source)
                self.effect(PurgeUnconsented())
                self.effect(EndConversation())
        return self.result()

    def resume(self) -> StepResult:
        self.s.paused = False
        if self.inp.choice == "restart":
            self.say("resume.restarted")
            keep_lang = (self.s.language, self.s.language_source)
            consented, urgent, human = self.s.consented_use, self.s.urgent_reasons, self.s.human_requested
            look = self.s.look_reasons
            self.s = DialogState(flow=self.s.flow, language=keep_lang[0], language_source=keep_lang[1],
                                 consented_use=consented, urgent_reasons=urgent, human_requested=human,
                                 look_reasons=look)
            self.enter(self.flow.start)
        else:
            self.ask(self.node())
        return self.result()

    # ── answers ────────────────────────────────────────────────────────────────
    def move_on(self, node: Node, outcome: str) -> None:
        edge = node.branches.get(outcome)  # plain `next` edges say nothing extra
        self.s.history.append(node.name)
        if node.role == "language" and self.s.return_to:
            target, self.s.return_to = self.s.return_to, None
            self.s.node = jump(self.flow, node.name, target)
            self.say("language.changed")
            self.ask(self.node(target))
            return
        if self.s.return_after and node.name == self.s.return_after:
            self.s.return_after = None
            self.enter(jump(self.flow, node.name, self.flow.name_for("summary")))
            return
        nxt = advance(self.flow, node.name, outcome)
        if edge is not None:
            for key in edge.say:
                self.say(key)
            if edge.return_after:
                self.s.return_after = edge.return_after
            self.enter(nxt, quiet=edge.quiet)
        else:
            self.enter(nxt)

    def read_choice(self, node: Node) -> str | None:
        """The chosen id (a button or a typed answer), after handling `skip` and anything
        unrecognised (which re-asks). None when the step is already answered."""
        cid = self.inp.choice
        if cid is None and self.inp.text:
            cid = self.match_choice(node, self.inp.text)
        if cid is None or cid not in self.choice_ids(node):
            self.ask(node, prefix=None if self.no_unknown else self.cat.text("unknown_input"))
            return None
        if cid == "skip":
            self.move_on(node, "skip")
            return None
        return cid

    def answer_choice(self, node: Node) -> None:
        cid = self.read_choice(node)
        if cid is None:
            return
        if node.role == "language":
            self.s.language, self.s.language_source = cid, "explicit"
            self.effect(SetLanguage(language=cid, source="explicit"))
        elif node.store:
            self.s.answers[node.store] = cid
        if node.consent:
            self.record_consent(node.consent, cid)
        if node.role == "summary" and cid == "confirm" and not self.s.consented_use:
            # A case never exists without consent to use (it may have been withdrawn).
            self.enter(self.flow.name_for("consent_use"))
            return
        self.move_on(node, cid if cid in node.branches else "answered")

    def record_consent(self, kind: str, cid: str) -> None:
        decision = {"agree": "granted", "yes": "granted", "decline": "declined", "no": "declined", "discuss": "discuss"}.get(cid)
        if decision is None:
            return
        wording = self.cat.consent(kind)
        if kind == "use":
            self.s.consented_use = decision == "granted"
        self.effect(RecordConsent(consent_kind=kind, decision=decision, wording_version=wording.version,
                                  wording_hash=wording.hash, language=wording.language))

    def answer_multi(self, node: Node) -> None:
        cid = self.read_choice(node)
        if cid is None:
            return
        if cid == node.none:
            self.s.answers[node.store or node.name] = []
            self.move_on(node, "answered")
            return
        if cid == "done":
            if len(self.s.selection) < node.min:
                self.ask(node, prefix=self.cat.text("categories.need_one"))
                return
            chosen = list(self.s.selection)
            self.s.answers[node.store or node.name] = chosen
            if node.role == "safety":
                self.safety_outcome(chosen)
            self.move_on(node, "answered")
            return
        if cid in self.s.selection:
            self.s.selection.remove(cid)
        else:
            self.s.selection.append(cid)
        items = separator(self.s.language).join(self.label(node, c) for c in self.s.selection) or self.cat.text("summary.none")
        self.out.append(OutboundMessage(
            text=self.cat.text("multi.selected", items=items), choices=self.choices_for(node), multi=True
        ))

    def safety_outcome(self, chosen: list[str]) -> None:
        new = [c for c in chosen if c not in self.s.urgent_reasons]
        if not new:
            return
        self.s.urgent_reasons.extend(new)
        self.effect(MarkUrgent(reasons=new, level="emergency"))
        if "danger" in new:
            self.say("safety.emergency", kind="emergency")
        kinds = [c for c in new if c in risk.KINDS]  # medical, no_shelter, no_food: their own lines
        if kinds:
            self.say_risk(kinds)
        if not self.s.human_requested:
            self.s.human_requested = True
            self.effect(RequestHuman(reason="safety"))

    def answer_text(self, node: Node) -> None:
        if self.inp.choice == "skip" or (self.inp.text and self.match_choice(node, self.inp.text) == "skip"):
            if node.optional:
                self.move_on(node, "skip")
            else:
                self.ask(node, prefix=self.cat.text("text_expected"))
            return
        text = (self.inp.text or "").strip()
        if not text:
            self.ask(node, prefix=self.cat.text("text_expected"))
            return
        limit = min(node.max_chars or self.ctx.max_chars, self.ctx.max_chars)
        if len(text) > limit:
            text = text[:limit]
            self.say("message.cut", limit=limit)
        if node.validate_as == "phone":
            digits = re.sub(r"[\s\-()‐－ー]", "", unicodedata.normalize("NFKC", text))
            if not _PHONE.match(digits):
                self.ask(node, prefix=self.cat.text("contact_phone.invalid"))
                return
            text = digits
        elif node.validate_as == "email":
            text = unicodedata.normalize("NFKC", text)
            if not _EMAIL.match(text):
                self.ask(node, prefix=self.cat.text("contact_email.invalid"))
                return
        self.s.answers[node.store or node.name] = text
        self.move_on(node, "answered")



# The same emergency again within this many seconds gets a short answer (risk.again).
REPEAT_WINDOW_SECONDS = 30 * 60
_SENTENCE = re.compile(r"[^。．.!?！？\n]+[。．.!?！？]*\s*|[。．.!?！？]+\s*")


def without_repeated_sentences(lines: list[str]) -> list[str]:
    """Each sentence once: two kinds found together (domestic violence and violence) share a
    closing sentence such as "If you are in danger now, please call 110."."""
    seen: set[str] = set()
    out: list[str] = []
    for line in lines:
        kept = [p for p in _SENTENCE.findall(line) if p.strip() not in seen]
        seen.update(p.strip() for p in kept)
        text = "".join(kept).rstrip()
        if text:
            out.append(text)
    return out


def step(state: DialogState | dict[str, Any] | None, inp: DialogInput, ctx: DialogContext) -> StepResult:
    """Advance the conversation by one inbound event. Never raises on resident input."""
    st = state if isinstance(state, DialogState) else DialogState.from_dict(state)
    if st.flow is None:
        st.flow = ctx.profile.flow
    result = _Step(st, inp, ctx).run()
    _track_secured(st, result.state, inp)
    return result


def _track_secured(before: DialogState, after: DialogState, inp: DialogInput) -> None:
    """Remember which answers were written on the operator's page (issue 16); one rewritten in
    the chat itself is the chat's again."""
    changed = {k for k, v in after.answers.items() if before.answers.get(k) != v}
    if inp.secure:
        after.secured = sorted({*after.secured, *changed})
    elif changed & set(after.secured):
        after.secured = sorted(set(after.secured) - changed)


def handed_over_message(profile: Profile, language: str, case_number: str, urgent: bool, now: datetime) -> OutboundMessage:
    """What happens next, once the case core has numbered the case (office-hours aware)."""
    cat = catalog(language)
    hours = profile.office_hours
    if hours.is_open(now):
        text = cat.text("handed.in_hours", case_number=case_number)
    else:
        open_at = format_when(hours.next_opening(now).astimezone(hours.tz), language)
        urgent_line = cat.text("handed.urgent_line", emergency_contacts=profile.emergency_text(language)) if urgent else ""
        text = cat.text("handed.out_of_hours", case_number=case_number, next_open=open_at, urgent_line=urgent_line)
    return OutboundMessage(text=text)
