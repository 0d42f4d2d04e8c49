"""`madoguchi report`: argument checks with plain messages, then build, render, write."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from casecore.db import make_engine, make_sessionmaker
from casecore.migrate import upgrade_async
from casecore.reporting.periods import JST, BadMonth, Month
from casecore.types import utcnow
from dialogs.profile import ProfileRegistry
from madoguchi.reports.build import Report
from madoguchi.reports.pdf import FontMissing
from madoguchi.reports.run import FORMATS, UnknownProfile, find_profile, make_report, renderer
from madoguchi.settings import Settings


def render_text(report: Report) -> str:
    lines = [f"{report.municipality} 月次報告 {report.month_label}（累計: {report.ytd_label}、"
             f"{report.threshold}件未満は <{report.threshold}）"]
    for s in report.sections:
        lines.append(f"\n■ {s.title}")
        for r in s.rows:
            lines.append(f"  {r.label}: {report.cell(r.month, r.unit)} / {report.cell(r.ytd, r.unit)}")
        if s.note:
            lines.append(f"  ※ {s.note}")
    return "\n".join(lines)


async def run_report(settings: Settings, month_text: str | None, profile_id: str | None, fmt: str,
                     out: Path | None, comments: bool) -> tuple[int, str]:
    """(exit code, message). Every user mistake is a message, never a traceback."""
    try:
        month = Month.parse(month_text) if month_text else Month.of(utcnow()).previous()
    except BadMonth as exc:
        return 2, f"error: {exc}"
    if fmt not in (*FORMATS, "text"):
        return 2, f"error: unknown format {fmt!r}; formats: text, {', '.join(FORMATS)}"
    if fmt in ("xlsx", "pdf") and out is None and sys.stdout.isatty():
        return 2, f"error: --format {fmt} writes a binary file: give --out FILE"
    registry = ProfileRegistry.load(settings.profile, settings.profiles_dir)
    try:
        profile = find_profile(registry, profile_id or settings.profile)
    except UnknownProfile as exc:
        return 2, f"error: {exc}"
    if month.start > utcnow():
        return 2, f"error: {month} has not started yet (Japanese time: {utcnow().astimezone(JST):%Y-%m-%d})"
    settings.configure_crypto()  # the global key and the per-resident key ring
    await upgrade_async(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    try:
        report = await make_report(make_sessionmaker(engine), profile, month, threshold=settings.report_threshold,
                                   include_comments=comments)
    finally:
        await engine.dispose()
    try:
        data = render_text(report).encode("utf-8") + b"\n" if fmt == "text" else renderer(fmt)(report)
    except FontMissing as exc:
        return 1, f"error: {exc}"
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return 0, ""
    await asyncio.to_thread(out.write_bytes, data)
    return 0, f"{out}: {fmt} report for {profile.id} {month} ({len(data)} bytes)"
