"""Municipality profiles (YAML): who runs the centre, office hours and closed days, emergency
contacts, districts, programmes and routing rules, and which flow file to run."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import holidays
import yaml
from pydantic import BaseModel, Field, model_validator

from dialogs.eligibility import Eligibility, Recommendation, Routing, check, rule_reasons

PROFILE_DIR = Path(__file__).parent / "profiles"
NATIONAL_CONTACTS_FILE = Path(__file__).parent / "contacts.yaml"
# Which lines answer which kind of danger (i18n.risk.KINDS), most fitting first. `lodging` is
# the profile's emergency lodging contact and `centre` the centre's own phone; every other id
# is a national line (contacts.yaml) or one of the profile's own `contacts`.
DEFAULT_RISK_CONTACTS: dict[str, list[str]] = {
    "suicide": ["inochi", "inochi_free", "kokoro", "yorisoi", "ambulance"],
    "self_harm": ["ambulance", "inochi", "yorisoi", "kokoro"],
    "medical": ["ambulance", "kyukyu_anshin"],
    "domestic_violence": ["police", "dv_plus", "dv_navi", "onestop"],
    "child_abuse": ["child_abuse", "police"],
    "violence": ["police", "onestop", "yorisoi"],
    "no_shelter": ["lodging", "centre", "yorisoi"],
    "no_food": ["centre", "yorisoi"],
}


@cache
def national_contacts() -> dict[str, Contact]:
    with NATIONAL_CONTACTS_FILE.open(encoding="utf-8") as fh:
        return {cid: Contact.model_validate(c) for cid, c in (yaml.safe_load(fh) or {}).items()}


class Contact(BaseModel):
    label: dict[str, str]  # language -> label; "ja" required
    phone: str | None = None
    note: dict[str, str] = Field(default_factory=dict)
    hours: str | None = None  # a catalog key (safety.hours.*) or a clock range such as 10:00–22:00
    always_open: bool = False  # answers around the clock

    def label_for(self, language: str) -> str:
        order = [language, "ja", "en"] if language.startswith("ja") else [language, "en", "ja"]
        return next((self.label[k] for k in order if k in self.label), "")

    @property
    def tel_uri(self) -> str | None:
        """RFC 3966 for a call button: digits only, `#` percent-encoded (#7119 → tel:%237119)."""
        if not self.phone:
            return None
        return "tel:" + re.sub(r"[^0-9#+]", "", self.phone).replace("#", "%23")

    def render(self, language: str) -> str:
        # Easy Japanese readers get the Japanese label, everyone else English before Japanese.
        order = [language, "ja", "en"] if language.startswith("ja") else [language, "en", "ja"]
        label = next((self.label[k] for k in order if k in self.label), "")
        note = next((self.note[k] for k in order if k in self.note), "")
        parts = [label]
        if self.phone:
            parts.append(self.phone)
        line = " ".join(parts)
        return f"{line}（{note}）" if note and language.startswith("ja") else f"{line} ({note})" if note else line


class Programme(BaseModel):
    id: str
    name: str  # Japanese name as the municipality uses it
    code: str | None = None  # ア〜ケ in 000 別紙1
    welfare_recipients_only: bool = False  # older profiles: the same as eligible.public_assistance
    # Who may use it (000 別紙1's table); None: anyone (an outside agency such as Hello Work).
    eligible: Eligibility | None = None

    @model_validator(mode="after")
    def _recipients_only(self) -> Programme:
        if self.welfare_recipients_only and self.eligible is None:
            self.eligible = Eligibility(public_assistance="recipients", residence=None)
        return self


class Agency(BaseModel):
    """Where a case may be referred (別紙1-2 §4(2)): the welfare office, Hello Work, …"""

    id: str
    name: str
    phone: str | None = None
    programme: str | None = None  # the programme row this agency runs, when there is one


class RoutingRule(BaseModel):
    """`when` keys: categories_any, safety_any, public_assistance, residence_in, for_whom,
    household. All given keys must hold. Programmes are recommended, never imposed."""

    when: dict[str, Any]
    recommend: list[str]

    def matches(self, answers: dict[str, Any]) -> bool:
        for key, want in self.when.items():
            if key == "categories_any" and not set(want) & set(answers.get("categories") or []):
                return False
            if key == "safety_any" and not set(want) & set(answers.get("safety") or []):
                return False
            if key in ("public_assistance", "for_whom", "household") and answers.get(key) != want:
                return False
            if key == "residence_in" and answers.get("residence") not in want:
                return False
        return True


@cache
def _japanese_holidays(year: int) -> holidays.HolidayBase:
    # Building the calendar costs milliseconds; a year's holidays never change at run time.
    return holidays.country_holidays("JP", years=year)


class OfficeHours(BaseModel):
    timezone: str = "Asia/Tokyo"
    weekdays: tuple[str, str] = ("08:30", "17:15")  # Monday to Friday
    closed_dates: list[str] = Field(default_factory=lambda: ["12-29", "12-30", "12-31", "01-01", "01-02", "01-03"])
    extra_closed: list[date] = Field(default_factory=list)

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _hours(self) -> tuple[time, time]:
        return time.fromisoformat(self.weekdays[0]), time.fromisoformat(self.weekdays[1])

    def is_working_day(self, day: date) -> bool:
        return (
            day.weekday() < 5
            and day not in _japanese_holidays(day.year)
            and day.strftime("%m-%d") not in self.closed_dates
            and day not in self.extra_closed
        )

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.tz)
        start, end = self._hours()
        return self.is_working_day(local.date()) and start <= local.time() < end

    def next_opening(self, now: datetime) -> datetime:
        """When a counsellor is next at the desk (now, if open)."""
        if self.is_open(now):
            return now
        local = now.astimezone(self.tz)
        start, _ = self._hours()
        day = local.date()
        if local.time() >= start:
            day += timedelta(days=1)
        for _ in range(30):
            if self.is_working_day(day):
                return datetime.combine(day, start, self.tz)
            day += timedelta(days=1)
        raise ValueError("no working day within 30 days; check the profile's closed days")


class ReportSettings(BaseModel):
    """Who receives the monthly report (the municipality's contact)."""

    recipients: list[str] = Field(default_factory=list)


class SurveySettings(BaseModel):
    """The post-session survey sent when a counsellor closes a conversation (002 §6(1)⑤)."""

    enabled: bool = True
    # A chat resident answers within this time or the survey lapses; a mailed link expires too.
    chat_hours: int = Field(72, ge=1, le=24 * 30)
    link_days: int = Field(7, ge=1, le=90)


class SecureDetailsSettings(BaseModel):
    """The sensitive steps off LINE and Telegram (issue 16): `offer` a one-time link to the
    operator's own page beside the question, make it the `default` (the link first, the
    question in the chat still answerable unless `in_chat` is false), or `off`."""

    mode: Literal["offer", "default", "off"] = "offer"
    link_minutes: int = Field(30, ge=5, le=24 * 60)
    in_chat: bool = True  # typing the answer in LINE/Telegram still works


class RetentionSettings(BaseModel):
    """How long this municipality's data is kept (issue 12); the retention job erases what is
    due, never an open case, an urgent one or one under a lead's legal hold."""

    closed_case_days: int = Field(1825, ge=1)  # a closed or withdrawn case and its resident
    transcript_days: int = Field(365, ge=1)  # the messages of a closed conversation
    audit_days: int = Field(1825, ge=1)  # audit rows (ids and codes only)
    unconsented_days: int | None = Field(None, ge=1)  # unset: MADOGUCHI_PURGE_UNCONSENTED_AFTER_DAYS
    withdrawal_erase_days: int = Field(0, ge=0)  # after "withdraw use": 0 = at the next run


class Profile(BaseModel):
    id: str
    municipality: dict[str, str]  # language -> name
    centre_name: dict[str, str]
    operator: dict[str, str]
    address: dict[str, str]
    phone: str
    flow: str = "intake"
    office_hours: OfficeHours = Field(default_factory=OfficeHours)
    emergency_contacts: list[Contact] = Field(default_factory=list)
    lodging_contact: Contact | None = None  # emergency lodging at night and on holidays (ク)
    districts: list[str] = Field(default_factory=list)
    programmes: list[Programme] = Field(default_factory=list)
    agencies: list[Agency] = Field(default_factory=list)  # referral targets (issue 13)
    routing: list[RoutingRule] = Field(default_factory=list)
    default_recommendation: list[str] = Field(default_factory=lambda: ["jiritsu_soudan"])
    waiting_target_minutes: int = 30
    # issue 14: an urgent resident's own, shorter target; past it the lead is told (handoff/waiting.py)
    urgent_target_minutes: int = 10
    channels: dict[str, dict[str, str]] = Field(default_factory=dict)
    contacts: dict[str, Contact] = Field(default_factory=dict)  # local lines, by id
    risk_contacts: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_RISK_CONTACTS))
    report: ReportSettings = Field(default_factory=ReportSettings)
    survey: SurveySettings = Field(default_factory=SurveySettings)
    secure_details: SecureDetailsSettings = Field(default_factory=SecureDetailsSettings)


    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    # The municipality's contact for incidents (a suspected breach is notified to them)
    incident_contacts: list[str] = Field(default_factory=list)

    def contact(self, contact_id: str) -> Contact | None:
        if contact_id == "lodging":
            return self.lodging_contact
        if contact_id == "centre":
            return Contact(label=self.centre_name, phone=self.phone)
        return self.contacts.get(contact_id) or national_contacts().get(contact_id)

    def all_contacts(self) -> list[Contact]:
        """Every line this profile names for any kind of danger, plus the emergency contacts."""
        found = [*self.emergency_contacts, *self.contacts_for(list(self.risk_contacts))]
        out: dict[str, Contact] = {}
        for c in found:
            if c.phone and c.phone not in out:
                out[c.phone] = c
        return list(out.values())

    def contacts_for(self, kinds: list[str] | tuple[str, ...]) -> list[Contact]:
        """The lines for these kinds of danger, in the kinds' order, each line once."""
        seen: set[str] = set()
        out: list[Contact] = []
        for kind in kinds:
            for cid in self.risk_contacts.get(kind) or DEFAULT_RISK_CONTACTS.get(kind, []):
                c = self.contact(cid)
                if c is not None and c.phone and c.phone not in seen:
                    seen.add(c.phone)
                    out.append(c)
        return out

    def t(self, field: dict[str, str], language: str) -> str:
        return field.get(language) or (field.get("ja") if language.startswith("ja") else None) or field.get("en") or field["ja"]

    def emergency_text(self, language: str) -> str:
        return "\n".join(c.render(language) for c in self.emergency_contacts)

    def lodging_text(self, language: str) -> str:
        return self.lodging_contact.render(language) if self.lodging_contact else self.emergency_text(language)

    def recommend(self, answers: dict[str, Any]) -> list[str]:
        return self.route(answers).ids

    def route(self, answers: dict[str, Any]) -> Routing:
        """The programmes the answers call for and the resident may use, each with its
        reasons; the ones a rule asked for but the table rules out, with why not."""
        known = {p.id: p for p in self.programmes}
        out = Routing()
        found: dict[str, Recommendation] = {}
        for rule in self.routing:
            if not rule.matches(answers):
                continue
            for pid in rule.recommend:
                prog = known.get(pid)
                why_not, confirm = check(prog.eligible, answers) if prog and prog.eligible else ([], [])
                if why_not:
                    out.excluded.setdefault(pid, why_not)
                    continue
                rec = found.setdefault(pid, Recommendation(pid, confirm=confirm))
                rec.because += [r for r in rule_reasons(rule.when, answers) if r not in rec.because]
        for pid in self.default_recommendation if not found else []:
            prog = known.get(pid)
            if not (prog and prog.eligible and check(prog.eligible, answers)[0]):
                found[pid] = Recommendation(pid, because=["because.default"])
        out.recommended = list(found.values())
        for pid in found:
            out.excluded.pop(pid, None)
        return out

    def agency(self, agency_id: str) -> Agency | None:
        return next((a for a in self.agencies if a.id == agency_id), None)

    def programme_name(self, pid: str) -> str:
        for p in self.programmes:
            if p.id == pid:
                return f"{p.code} {p.name}" if p.code else p.name
        return pid


class ProfileRegistry:
    def __init__(self, profiles: dict[str, Profile], default_id: str) -> None:
        if default_id not in profiles:
            raise ValueError(f"default profile {default_id!r} not found; have {sorted(profiles)}")
        self._profiles = profiles
        self.default_id = default_id

    @classmethod
    def load(cls, default_id: str, extra_dir: Path | None = None) -> ProfileRegistry:
        profiles: dict[str, Profile] = {}
        for directory in [PROFILE_DIR, *([extra_dir] if extra_dir else [])]:
            for path in sorted(directory.glob("*.yaml")):
                with path.open(encoding="utf-8") as fh:
                    p = Profile.model_validate(yaml.safe_load(fh))
                profiles[p.id] = p
        return cls(profiles, default_id)

    @property
    def default(self) -> Profile:
        return self._profiles[self.default_id]

    def get(self, profile_id: str | None) -> Profile:
        if profile_id is None:
            return self.default
        try:
            return self._profiles[profile_id]
        except KeyError:
            raise KeyError(f"unknown municipality profile {profile_id!r}") from None

    def __contains__(self, profile_id: object) -> bool:
        return profile_id in self._profiles

    def all(self) -> list[Profile]:
        return list(self._profiles.values())
