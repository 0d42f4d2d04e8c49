"""`madoguchi audit export` (issue 11): the audit trail as CSV for the municipality's inspection."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import typer

audit_app = typer.Typer(help="The audit trail (every read, refusal, break-glass, login and account change).",
                        no_args_is_help=True)
JST = ZoneInfo("Asia/Tokyo")


@audit_app.callback()
def _group() -> None:
    """The audit trail (every read, refusal, break-glass, login and account change)."""


def _when(value: str | None, *, end: bool = False) -> datetime | None:
    """YYYY-MM-DD (a Japanese day; --to includes that day) or an ISO time."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value).replace(tzinfo=JST)
            return day + timedelta(days=1) if end else day
        t = datetime.fromisoformat(value)
        return t if t.tzinfo else t.replace(tzinfo=JST)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: use YYYY-MM-DD or an ISO date and time") from None


@audit_app.command("export")
def export(start: str = typer.Option(None, "--from", help="YYYY-MM-DD (Japanese time) or ISO time"),
           end: str = typer.Option(None, "--to", help="YYYY-MM-DD, inclusive, or ISO time (exclusive)"),
           profile: str = typer.Option(None, "--profile", help="one municipality profile"),
           staff: str = typer.Option(None, "--staff", help="one staff login"),
           case: str = typer.Option(None, "--case", help="one case: its number (2026-000123) or id"),
           out: Path = typer.Option(None, "--out", help="CSV file; default: standard output")) -> None:
    """The audit rows in the period as CSV (UTF-8): who read or changed what, when, and why
    (break-glass reasons included)."""
    from sqlalchemy import select

    from casecore import audit
    from casecore.db import transaction
    from casecore.models import Case, Counsellor
    from madoguchi.cli_accounts import run

    begin, finish = _when(start), _when(end, end=True)

    async def go(ctx: Any) -> str:
        async with transaction(ctx.sessions) as s:
            staff_id = None
            if staff:
                staff_id = await s.scalar(select(Counsellor.id).where(Counsellor.login == staff))
                if staff_id is None:
                    raise typer.BadParameter(f"no account {staff!r}", param_hint="--staff")
            case_id = None
            if case:
                case_id = await s.scalar(select(Case.id).where(Case.number == case))
                if case_id is None and case.isdigit():
                    case_id = int(case)
                if case_id is None:
                    raise typer.BadParameter(f"no case {case!r}", param_hint="--case")
            rows = await audit.events(s, start=begin, end=finish, profiles=[profile] if profile else None,
                                      staff_id=staff_id, case_id=case_id)
            await audit.record(s, action="export_audit", target_type="audit", target_id="*", actor_type="system",
                               detail={"rows": len(rows), "profile": profile, "staff": staff_id, "case": case_id})
            return audit.to_csv(rows)

    text = run(go)
    if out:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)
    else:
        typer.echo(text, nl=False)
