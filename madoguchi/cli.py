"""The `madoguchi` command: serve, db upgrade, user create, report, export/destroy/retention/keys
(the data lifecycle) and channel tools."""

from __future__ import annotations

import asyncio
import getpass
import os
import secrets
import sys

import typer

from madoguchi.settings import Settings

app = typer.Typer(help="madoguchi: intake for municipal welfare consultation centres.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Counsellor accounts.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")


@app.command()
def serve(host: str = typer.Option("127.0.0.1", "--host"), port: int = typer.Option(8000, "--port"),
          workers: int = typer.Option(1, "--workers", help="processes; needs PostgreSQL and Redis when > 1"),
          forwarded_allow_ips: str = typer.Option(
              "127.0.0.1", "--forwarded-allow-ips", envvar="FORWARDED_ALLOW_IPS",
              help="addresses whose X-Forwarded-For/-Proto are trusted (the reverse proxy), comma-separated")) -> None:
    """Run the web service (migrations run at start)."""
    import uvicorn

    settings = Settings()
    if workers > 1 and not (settings.database_url and settings.redis_url):
        raise typer.BadParameter("several workers share state only through PostgreSQL and Redis")
    from madoguchi import logging as mlogging

    mlogging.configure(settings.log_level, settings.log_json)
    _log_config_problems(settings)
    _migrate_once(settings)
    base = f"http://{host}:{port}"
    # The URLs are worth following only once the app answers: say where, not "ready".
    typer.echo(f"starting madoguchi on {base} (ready when {base}/healthz answers)")
    uvicorn.run("madoguchi.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level=settings.log_level.lower(), proxy_headers=True,
                # X-Forwarded-* are believed only from these addresses (the reverse proxy)
                forwarded_allow_ips=forwarded_allow_ips)


def _migrate_once(settings: Settings) -> None:
    """Migrations in this process, once, before any worker starts: with `--workers 2` each
    worker migrating on its own raced on `alembic_version` on a fresh PostgreSQL database."""
    if not settings.migrate_on_start:
        return
    from casecore import crypto
    from casecore.migrate import upgrade

    crypto.configure(crypto.FieldCipher.from_secrets(
        settings.resolved_secret_key(), [k.get_secret_value() for k in settings.old_secret_keys]))
    upgrade(settings.resolved_database_url)
    os.environ["MADOGUCHI_MIGRATE_ON_START"] = "false"  # read by the workers' Settings()


@app.command()
def worker() -> None:
    """Process the inbox (Redis Streams) without serving HTTP: run as many as needed, on any
    machine sharing PostgreSQL and Redis, with `MADOGUCHI_INBOX_IN_WEB=false` on `serve`.
    Run `madoguchi db upgrade` (or `serve`) first: workers do not migrate."""
    settings = Settings()
    if not settings.redis_url:
        raise typer.BadParameter("a worker takes its events from Redis Streams: set MADOGUCHI_REDIS_URL")
    from madoguchi import logging as mlogging
    from madoguchi.worker import run_worker

    mlogging.configure(settings.log_level, settings.log_json)
    asyncio.run(run_worker(settings.model_copy(update={"migrate_on_start": False})))


def _log_config_problems(settings: Settings) -> None:
    """One structured log line per configuration problem (`madoguchi doctor` explains more)."""
    import structlog

    from madoguchi.doctor import startup_findings

    log = structlog.get_logger("madoguchi.doctor")
    for f in startup_findings(settings):
        (log.error if f.status == "fail" else log.warning)(
            "config_problem", check=f.check, status=f.status, problem=f.message, fix=f.fix)


@app.command()
def doctor() -> None:
    """Check the configuration and say what to fix (exit code 1 when something fails)."""
    from madoguchi.doctor import run_checks

    findings = asyncio.run(run_checks(Settings()))
    for f in findings:
        typer.echo(f.line())
    fails, warns = (sum(f.status == s for f in findings) for s in ("fail", "warn"))
    typer.echo(f"\n{fails} failed, {warns} warnings, {len(findings) - fails - warns} ok")
    if fails:
        raise typer.Exit(1)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the schema migrations to MADOGUCHI_DATABASE_URL (or the embedded SQLite)."""
    from casecore.migrate import upgrade

    settings = Settings()
    # Data migrations (e.g. 0005, encrypting coded case fields) need the field cipher.
    settings.configure_crypto()  # the global key and the per-resident key ring
    upgrade(settings.resolved_database_url, revision)
    typer.echo("database is up to date")


@db_app.command("reindex-cases")
def db_reindex_cases() -> None:
    """Rewrite the blind-index keys cases are searched by (name, phone), e.g. after rotating
    MADOGUCHI_SECRET_KEY: the index follows the active key."""

    async def run() -> int:
        from casecore import crypto
        from casecore.casework.search import reindex_all
        from casecore.db import make_engine, make_sessionmaker, transaction

        settings = Settings()
        crypto.configure(crypto.FieldCipher.from_secrets(
            settings.resolved_secret_key(), [k.get_secret_value() for k in settings.old_secret_keys]))
        engine = make_engine(settings.resolved_database_url)
        try:
            async with transaction(make_sessionmaker(engine)) as s:
                return await reindex_all(s)
        finally:
            await engine.dispose()

    typer.echo(f"{asyncio.run(run())} cases indexed")


@user_app.command("create")
def user_create(
    login: str,
    role: str = typer.Option("counsellor", "--role", help="counsellor, lead or admin"),
    display_name: str = typer.Option("", "--name"),
    totp: bool = typer.Option(False, "--totp", help="enrol TOTP now and print the secret (else: at the first login)"),
    if_missing: bool = typer.Option(False, "--if-missing", help="do nothing if the login exists"),
    profiles: list[str] = typer.Option([], "--profile", help="municipality profile(s) this counsellor may see; none: nothing (issue 11)"),
) -> None:
    """Create a counsellor. Password from MADOGUCHI_NEW_PASSWORD, else prompted."""
    if profiles:
        from madoguchi.doctor import known_profile_ids

        known = known_profile_ids(Settings())
        unknown = [p for p in profiles if p not in known]
        if unknown:
            raise typer.BadParameter(
                f"unknown profile {', '.join(map(repr, unknown))}; known profiles: {', '.join(known)}",
                param_hint="--profile",
            )
    password = os.environ.get("MADOGUCHI_NEW_PASSWORD") or getpass.getpass("Password: ")

    async def run() -> str | None:
        from sqlalchemy import select

        from casecore import staff
        from casecore.db import make_engine, make_sessionmaker, transaction
        from casecore.migrate import upgrade_async
        from casecore.models import Counsellor

        settings = Settings()
        settings.configure_crypto()  # the global key and the per-resident key ring
        await upgrade_async(settings.resolved_database_url)
        engine = make_engine(settings.resolved_database_url)
        try:
            async with transaction(make_sessionmaker(engine)) as s:
                if if_missing and await s.scalar(select(Counsellor).where(Counsellor.login == login)):
                    return None
                c = await staff.create_counsellor(s, login, password, role, display_name, profiles)
                if totp:
                    c.totp_secret = staff.new_totp_secret()
                    c.mfa_enrolled_at = c.created_at
                return c.totp_secret or ""
        finally:
            await engine.dispose()

    try:
        secret = asyncio.run(run())
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    if secret is None:
        typer.echo(f"{login} already exists")
        return
    typer.echo(f"created {role} {login}")
    if secret:
        typer.echo(f"TOTP secret (add to an authenticator app): {secret}")


@app.command()
def report(month: str = typer.Option(None, "--month", help="YYYY-MM, a Japanese month; default: last month"),
           profile: str = typer.Option(None, "--profile", help="municipality profile id; default: MADOGUCHI_PROFILE"),
           fmt: str = typer.Option("text", "--format", help="text, json, csv, xlsx or pdf"),
           out: str = typer.Option(None, "--out", help="file to write; default: standard output (text, json, csv)"),
           comments: bool = typer.Option(False, "--comments", help="include the survey's free comments (for leads only)")) -> None:
    """The monthly report for the municipality (counts only, no personal data; counts under
    MADOGUCHI_REPORT_THRESHOLD shown as "<N")."""
    from pathlib import Path

    from madoguchi.reports.cli import run_report

    code, message = asyncio.run(run_report(Settings(), month, profile, fmt, Path(out) if out else None, comments))
    if message:
        typer.echo(message, err=code != 0)
    raise typer.Exit(code)


@app.command("settings-table")
def settings_table(write: bool = typer.Option(False, "--write", help="replace the table in docs/operations.md")) -> None:
    """Print every setting as a Markdown table (the one in docs/operations.md)."""
    from madoguchi import settings_table as table

    if write:
        typer.echo(f"{table.GUIDE}: {'updated' if table.write() else 'already current'}")
        return
    typer.echo(table.render(), nl=False)


@app.command("secret")
def new_secret() -> None:
    """Print a fresh random value for MADOGUCHI_SECRET_KEY."""
    typer.echo(secrets.token_urlsafe(48))


# Channel and translation tools are entry points of their own (cli_*.py). Importing aiogram or the
# translation runtime costs seconds, so a tool's package is imported only when it is called.
# ── consent and data lifecycle (issue 12) ─────────────────────────────────────────────────
retention_app = typer.Typer(help="Retention: erase what the profiles' rules say is due.", no_args_is_help=True)
keys_app = typer.Typer(help="Per-resident data keys (crypto-shredding).", no_args_is_help=True)
app.add_typer(retention_app, name="retention")
app.add_typer(keys_app, name="keys")


def _known_profile(profile: str) -> None:
    from madoguchi.doctor import known_profile_ids

    known = known_profile_ids(Settings())
    if profile not in known:
        raise typer.BadParameter(f"unknown profile {profile!r}; known profiles: {', '.join(known)}", param_hint="--profile")


@app.command("export")
def export_profile(
    profile: str = typer.Option(..., "--profile", help="the municipality profile to hand back"),
    out: str = typer.Option(None, "--out", help="the archive to write; default madoguchi-export-<profile>-<date>.zip"),
) -> None:
    """End of contract: every resident's record (JSON + PDF face sheet), the consent ledger and
    case list (CSV) and incidents, in an AES-256 zip. Password from MADOGUCHI_EXPORT_PASSWORD,
    else prompted; hand it over separately from the archive."""
    from datetime import UTC, datetime
    from pathlib import Path

    from madoguchi.lifecycle.cli import export_files, host, write_zip

    _known_profile(profile)
    password = os.environ.get("MADOGUCHI_EXPORT_PASSWORD") or getpass.getpass("Archive password: ")
    if len(password) < 12:
        raise typer.BadParameter("the archive password needs at least 12 characters")
    path = Path(out or f"madoguchi-export-{profile}-{datetime.now(UTC):%Y%m%d}.zip")

    async def run() -> dict[str, bytes]:
        async with host(Settings()) as ctx:
            files = await export_files(ctx, ctx.profiles.get(profile))
            from casecore import audit
            from casecore.db import transaction

            async with transaction(ctx.sessions) as s:
                await audit.record(s, action="profile_exported", target_type="profile", target_id=profile,
                                   detail={"files": len(files)})
            return files

    files = asyncio.run(run())
    write_zip(path, files, password)
    residents = sum(1 for f in files if f.startswith("residents/"))
    typer.echo(f"wrote {path}: {len(files)} files, {residents} residents (AES-256 zip; open with 7-Zip or any AES zip tool)")


@app.command("destroy")
def destroy_profile(
    profile: str = typer.Option(..., "--profile", help="the municipality profile whose data is destroyed"),
    by: str = typer.Option(..., "--by", help="who performs it, for the certificate (name, role)"),
    confirm: str = typer.Option(..., "--confirm", help="the profile id again: there is no undo"),
    certificate_path: str = typer.Option(None, "--certificate", help="also write the certificate to this file"),
) -> None:
    """End of contract: destroy every row and every data key of the profile, then print a
    destruction certificate (what, how many, when, by whom, method) to hand over."""
    from datetime import UTC, datetime
    from pathlib import Path

    from handoff.actions.contract import count_profile_rows
    from handoff.actions.contract import destroy_profile as destroy
    from madoguchi.lifecycle.cli import certificate, host

    _known_profile(profile)
    if confirm != profile:
        raise typer.BadParameter("--confirm must repeat the profile id", param_hint="--confirm")

    async def run() -> str:
        async with host(Settings()) as ctx:
            at = datetime.now(UTC)
            result = await destroy(ctx, profile, performed_by=by)
            from casecore.db import transaction

            async with transaction(ctx.sessions) as s:
                left = await count_profile_rows(s, profile)
            return certificate(ctx.profiles.get(profile), result, by, at, left)

    text = asyncio.run(run())
    if certificate_path:
        Path(certificate_path).write_text(text, encoding="utf-8")
    typer.echo(text, nl=False)


@retention_app.command("run")
def retention_run() -> None:
    """Run the retention job once for every profile and print what it erased (counts only)."""
    import json

    from handoff.actions import retention
    from madoguchi.lifecycle.cli import host

    async def run() -> dict[str, object]:
        settings = Settings()
        async with host(settings) as ctx:
            return await retention.run(ctx, ctx.profiles.all(), default_unconsented_days=settings.purge_unconsented_after_days)

    typer.echo(json.dumps(asyncio.run(run()), ensure_ascii=False, indent=1))


@keys_app.command("rotate")
def keys_rotate() -> None:
    """After putting a new MADOGUCHI_SECRET_KEY first (the old one in MADOGUCHI_OLD_SECRET_KEYS):
    re-wrap every resident's data key under it. Rows are not touched."""
    from casecore import keys

    Settings().configure_crypto()
    ring = keys.ring()
    assert ring is not None
    typer.echo(f"re-wrapped {ring.rewrap()} data keys under the active master key")


_TOOLS = {
    "translate": ("madoguchi.cli_translate", "app", "Offline translation models (Argos packages)."),
    "telegram": ("madoguchi.cli_telegram", "telegram_app", "Telegram channel tools (poll, set-webhook)."),
    "email": ("madoguchi.cli_email", "email_cli", "The email channel (IMAP/LMTP in, SMTP out)."),
    "line": ("madoguchi.cli_line", "line_app", "LINE channel tools (rich-menu)."),
    # issue 11: the staff roster and the audit trail
    "accounts": ("madoguchi.cli_accounts", "accounts_app", "Staff accounts: list, create, disable, reset, roles, teams, profiles."),
    "audit": ("madoguchi.cli_audit", "audit_app", "The audit trail: `audit export --from --to` as CSV."),
}


def _mount_tools(argv: list[str]) -> None:
    import importlib

    called = argv[1] if len(argv) > 1 else None
    for name, (module, attr, help_text) in _TOOLS.items():
        if name == called:
            app.add_typer(getattr(importlib.import_module(module), attr), name=name)
        else:
            app.add_typer(typer.Typer(help=help_text, no_args_is_help=True), name=name)


_mount_tools(sys.argv)
