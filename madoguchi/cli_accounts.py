"""`madoguchi accounts …` (issue 11): the staff roster from the command line, through the same
actions (and audit rows) as the admin page. Changes made here are audited as by "system"."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import typer

from madoguchi.settings import Settings

T = TypeVar("T")
accounts_app = typer.Typer(help="Staff accounts: list, create, disable, reset, roles, teams, profiles.",
                           no_args_is_help=True)


@dataclass
class _Ctx:
    """What the account actions need: sessions, the hub (Redis: the running app's sockets
    hear of a disable), the profiles and the settings."""

    sessions: Any
    hub: Any
    profiles: Any
    settings: Settings


@contextlib.asynccontextmanager
async def cli_context() -> AsyncIterator[_Ctx]:
    from redis.asyncio import Redis

    from casecore import crypto
    from casecore.db import make_engine, make_sessionmaker
    from casecore.migrate import upgrade_async
    from dialogs.profile import ProfileRegistry
    from handoff.hub import Hub

    settings = Settings()
    crypto.configure(crypto.FieldCipher.from_secrets(settings.resolved_secret_key(),
                                                     [s.get_secret_value() for s in settings.old_secret_keys]))
    await upgrade_async(settings.resolved_database_url)
    engine = make_engine(settings.resolved_database_url)
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    try:
        yield _Ctx(make_sessionmaker(engine), Hub(redis), ProfileRegistry.load(settings.profile, settings.profiles_dir), settings)
    finally:
        await engine.dispose()
        if redis is not None:
            await redis.aclose()


def run(fn: Callable[[_Ctx], Awaitable[T]]) -> T:
    from handoff.actions.base import ActionError

    async def go() -> T:
        async with cli_context() as ctx:
            return await fn(ctx)

    try:
        return asyncio.run(go())
    except ActionError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


async def _id_of(ctx: _Ctx, login: str) -> int:
    from sqlalchemy import select

    from casecore.db import transaction
    from casecore.models import Counsellor
    from handoff.actions.base import ActionError

    async with transaction(ctx.sessions) as s:
        cid = await s.scalar(select(Counsellor.id).where(Counsellor.login == login))
    if cid is None:
        raise ActionError(404, f"no account {login!r}")
    return cid


def _line(a: dict[str, Any]) -> str:
    return (f"{a['login']:<16} {a['role']:<10} team={a['team'] or '-':<10} profiles={','.join(a['profiles']) or '-':<28} "
            f"{'active' if a['active'] else 'DISABLED'} mfa={'yes' if a['mfa'] else 'no'}")


@accounts_app.command("list")
def list_accounts() -> None:
    """Every account: role, team, municipalities, active, MFA enrolled."""
    async def go(ctx: _Ctx) -> list[dict[str, Any]]:
        from sqlalchemy import select

        from casecore.db import transaction
        from casecore.models import Counsellor
        from handoff.actions.accounts import state

        async with transaction(ctx.sessions) as s:
            return [state(c) for c in (await s.scalars(select(Counsellor).order_by(Counsellor.login))).all()]

    for a in run(go):
        typer.echo(_line(a))


@accounts_app.command("create")
def create(login: str, role: str = typer.Option("counsellor", "--role", help="counsellor, lead or admin"),
           display_name: str = typer.Option("", "--name"), team: str = typer.Option(None, "--team"),
           profiles: list[str] = typer.Option([], "--profile", help="municipality profile(s); none: sees nothing")) -> None:
    """Create an account. Password from MADOGUCHI_NEW_PASSWORD, else generated and printed once.
    The account enrols its authenticator (TOTP) at the first login."""
    import os
    import secrets

    from handoff.actions import accounts

    password = os.environ.get("MADOGUCHI_NEW_PASSWORD") or secrets.token_urlsafe(12)
    a = run(lambda ctx: accounts.create(ctx, None, login, password, role, display_name, profiles, team))  # type: ignore[arg-type]
    typer.echo("created " + _line(accounts.state(a)))
    if not os.environ.get("MADOGUCHI_NEW_PASSWORD"):
        typer.echo(f"password (shown once): {password}")


@accounts_app.command("set")
def set_account(login: str, role: str = typer.Option(None, "--role"), team: str = typer.Option(None, "--team", help="'' clears"),
                profiles: list[str] = typer.Option(None, "--profile", help="replaces the account's profiles"),
                display_name: str = typer.Option(None, "--name")) -> None:
    """Change role, team, municipalities or name (unknown profiles are refused)."""
    from handoff.actions import accounts

    async def go(ctx: _Ctx) -> Any:
        return await accounts.update(ctx, None, await _id_of(ctx, login), role=role, team=team or None,  # type: ignore[arg-type]
                                     profiles=list(profiles) if profiles else None, display_name=display_name,
                                     clear_team=team == "")
    typer.echo("changed " + _line(accounts.state(run(go))))


@accounts_app.command("disable")
def disable(login: str) -> None:
    """A leaver: no login any more; open sessions and console sockets end now."""
    from handoff.actions import accounts

    async def go(ctx: _Ctx) -> Any:
        return await accounts.set_active(ctx, None, await _id_of(ctx, login), False)  # type: ignore[arg-type]
    typer.echo("disabled " + _line(accounts.state(run(go))))


@accounts_app.command("enable")
def enable(login: str) -> None:
    from handoff.actions import accounts

    async def go(ctx: _Ctx) -> Any:
        return await accounts.set_active(ctx, None, await _id_of(ctx, login), True)  # type: ignore[arg-type]
    typer.echo("enabled " + _line(accounts.state(run(go))))


@accounts_app.command("reset-password")
def reset_password(login: str) -> None:
    """A new password (MADOGUCHI_NEW_PASSWORD, else generated and printed once)."""
    import os

    from handoff.actions import accounts

    given = os.environ.get("MADOGUCHI_NEW_PASSWORD")

    async def go(ctx: _Ctx) -> str:
        return await accounts.reset_password(ctx, None, await _id_of(ctx, login), given)  # type: ignore[arg-type]
    new = run(go)
    typer.echo(f"password of {login} reset" + ("" if given else f"; new password (shown once): {new}"))


@accounts_app.command("reset-mfa")
def reset_mfa(login: str) -> None:
    """A lost phone: the next login enrols a new authenticator."""
    from handoff.actions import accounts

    async def go(ctx: _Ctx) -> Any:
        return await accounts.reset_mfa(ctx, None, await _id_of(ctx, login))  # type: ignore[arg-type]
    run(go)
    typer.echo(f"second factor of {login} reset: enrolled again at the next login")


@accounts_app.command("roster")
def roster(out: Path = typer.Option(None, "--out", help="CSV file; default: standard output")) -> None:
    """The roster's history as CSV: who had which role, team and municipalities, from when."""
    from casecore.db import transaction
    from handoff.actions import accounts
    from handoff.api.accounts import roster_csv

    async def go(ctx: _Ctx) -> str:
        async with transaction(ctx.sessions) as s:
            return roster_csv(await accounts.roster(s))
    text = run(go)
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        typer.echo(text, nl=False)
