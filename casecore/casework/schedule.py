"""When reviews fall due (000 別紙1-2 §4(7)ウ: おおむね3か月、6か月、1年; after a job
placement, follow-ups at 1, 3, 6 and 12 months), and which are today's or overdue, in the
centre's time zone."""

from __future__ import annotations

import calendar
from datetime import date, datetime
from zoneinfo import ZoneInfo

PLAN_REVIEW_MONTHS = (3, 6, 12)
JOB_FOLLOWUP_MONTHS = (1, 3, 6, 12)
MONTHS = {"plan_review": PLAN_REVIEW_MONTHS, "job_followup": JOB_FOLLOWUP_MONTHS}
JST = ZoneInfo("Asia/Tokyo")


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day (31 Jan + 1 → 28/29 Feb)."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def due_dates(kind: str, start: date) -> list[tuple[int, date]]:
    return [(n, add_months(start, n)) for n in MONTHS[kind]]


def local_today(now: datetime, tz: ZoneInfo = JST) -> date:
    return now.astimezone(tz).date()
