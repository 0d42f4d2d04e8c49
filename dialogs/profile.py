"""Municipality profiles (YAML): who runs the centre, office hours and closed days, emergency
contacts, districts, programmes and routing rules, and which flow file to run."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import holidays
import yaml
from pydantic import BaseModel, Field

PROFILE_DIR = Path(__file__).parent / "profiles"


class Contact(BaseModel):
    label: dict[str, str]  # language -> label; "ja" required
    phone: str | None = None
    note: dict[str, str] = Field(default_factory=dict)

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
    welfare_recipients_only: bool = False


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
    routing: list[RoutingRule] = Field(default_factory=list)
    default_recommendation: list[str] = Field(default_factory=lambda: ["jiritsu_soudan"])
    waiting_target_minutes: int = 30
    channels: dict[str, dict[str, str]] = Field(default_factory=dict)

    def t(self, field: dict[str, str], language: str) -> str:
        return field.get(language) or (field.get("ja") if language.startswith("ja") else None) or field.get("en") or field["ja"]

    def emergency_text(self, language: str) -> str:
        return "\n".join(c.render(language) for c in self.emergency_contacts)

    def lodging_text(self, language: str) -> str:
        return self.lodging_contact.render(language) if self.lodging_contact else self.emergency_text(language)

    def recommend(self, answers: dict[str, Any]) -> list[str]:
        out: list[str] = []
        receives = answers.get("public_assistance") == "yes"
        known = {p.id: p for p in self.programmes}
        for rule in self.routing:
            if rule.matches(answers):
                for pid in rule.recommend:
                    prog = known.get(pid)
                    if prog and prog.welfare_recipients_only and not receives:
                        continue  # イ 被保護者就労支援 is for welfare recipients only
                    if pid not in out:
                        out.append(pid)
        return out or list(self.default_recommendation)

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
