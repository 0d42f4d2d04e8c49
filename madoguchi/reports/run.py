"""Build and render a report from the settings (the CLI and the scheduler share this)."""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casecore.db import transaction
from casecore.reporting.periods import Month
from dialogs.profile import Profile, ProfileRegistry
from madoguchi.reports.build import Report, build

FORMATS = ("json", "csv", "xlsx", "pdf")
MEDIA = {"json": "application/json", "csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "pdf": "application/pdf"}


class UnknownProfile(KeyError):
    def __init__(self, profile_id: str, known: list[str]) -> None:
        super().__init__(profile_id)
        self.message = f"unknown profile {profile_id!r}; profiles: {', '.join(sorted(known))}"

    def __str__(self) -> str:
        return self.message


def find_profile(registry: ProfileRegistry, profile_id: str) -> Profile:
    if profile_id not in registry:
        raise UnknownProfile(profile_id, [p.id for p in registry.all()])
    return registry.get(profile_id)


def renderer(fmt: str) -> Callable[[Report], bytes]:
    if fmt == "json":
        return lambda r: json.dumps(r.to_json(), ensure_ascii=False, indent=2).encode("utf-8")
    if fmt == "csv":
        from madoguchi.reports.tabular import render_csv
        return render_csv
    if fmt == "xlsx":
        from madoguchi.reports.tabular import render_xlsx
        return render_xlsx
    if fmt == "pdf":
        from madoguchi.reports.pdf import render_pdf
        return render_pdf
    raise ValueError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")


async def make_report(sessions: async_sessionmaker[AsyncSession], profile: Profile, month: Month, *,
                      threshold: int, include_comments: bool = False) -> Report:
    async with transaction(sessions) as s:
        return await build(s, profile, month, threshold=threshold, include_comments=include_comments)


def filename(report: Report, fmt: str) -> str:
    return f"madoguchi-report-{report.profile_id}-{report.month}.{fmt}"
