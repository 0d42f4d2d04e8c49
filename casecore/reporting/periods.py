"""Japanese months and fiscal years (Asia/Tokyo; the fiscal year starts in April)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class BadMonth(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        m = _MONTH.match(text.strip())
        if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 2000:
            raise BadMonth(f"{text!r} is not a month: write YYYY-MM with a month from 01 to 12, e.g. 2026-10")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of(cls, at: datetime) -> Month:
        local = at.astimezone(JST)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year}-{self.month:02d}"

    def next(self) -> Month:
        return Month(self.year + (self.month == 12), self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def start(self) -> datetime:
        """Midnight JST on the 1st, in UTC."""
        return datetime(self.year, self.month, 1, tzinfo=JST).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return self.next().start

    @property
    def fiscal_year(self) -> int:
        """年度: April to March, named by the year it starts in."""
        return self.year if self.month >= 4 else self.year - 1

    @property
    def fiscal_start(self) -> Month:
        return Month(self.fiscal_year, 4)

    def fiscal_months(self) -> list[Month]:
        """April of this fiscal year up to and including this month."""
        out, m = [], self.fiscal_start
        while m <= self:
            out.append(m)
            m = m.next()
        return out
