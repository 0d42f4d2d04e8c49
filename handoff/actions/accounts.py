"""Staff accounts and the roster (issue 11; 000 別紙11 第10・12条): create, change role, team
and profiles, disable and re-enable, reset the password or the second factor. Each change is
one transaction and one audit row holding the account's state after it (ids and codes), so
the audit trail is also the roster's history: who had access to what, when.

Disabling (or any reset) ends the account's sessions, and its console sockets close at once."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from casecore import audit, staff
from casecore.models import Counsellor
from casecore.types import utcnow
from handoff.actions.base import ActionError, atomic
from handoff.context import HandoffContext
from handoff.hub import staff_topic


def state(c: Counsellor) -> dict[str, Any]:
    """An account as the roster shows it (no secrets)."""
    return {"id": c.id, "login": c.login, "display_name": c.display_name, "role": c.role, "team": c.team,
            "profiles": list(c.profiles or []), "active": c.active, "mfa": bool(c.totp_secret),
            "created_at": c.created_at.isoformat(),
            "disabled_at": c.disabled_at.isoformat() if c.disabled_at else None}


def _roster_detail(c: Counsellor, change: str) -> dict[str, Any]:
    return {"change": change, "role": c.role, "team": c.team, "profiles": list(c.profiles or []), "active": c.active}


def check_profiles(known: Iterable[str], profiles: list[str]) -> list[str]:
    known = set(known)
    unknown = [p for p in profiles if p not in known]
    if unknown:
        raise ActionError(422, f"unknown profile {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}")
    return sorted(set(profiles))


async def _account(s: Any, account_id: int) -> Counsellor:
    c = await s.get(Counsellor, account_id)
    if c is None:
        raise ActionError(404, "no such account", plain=True)
    return c


async def create(ctx: HandoffContext, actor: Counsellor | None, login: str, password: str, role: str,
                 display_name: str = "", profiles: list[str] | None = None, team: str | None = None) -> Counsellor:
    profiles = check_profiles((p.id for p in ctx.profiles.all()), profiles or [])
    async with atomic(ctx) as (s, _):
        try:
            c = await staff.create_counsellor(s, login, password, role, display_name, profiles, team)
        except ValueError as exc:
            raise ActionError(422, str(exc)) from None
        await audit.record(s, action="account_created", target_type="counsellor", target_id=c.id,
                           actor_type="counsellor" if actor else "system", actor_id=actor.id if actor else None,
                           detail=_roster_detail(c, "created"))
        return c


async def update(ctx: HandoffContext, actor: Counsellor | None, account_id: int, *, role: str | None = None,
                 team: str | None = None, profiles: list[str] | None = None, display_name: str | None = None,
                 clear_team: bool = False) -> Counsellor:
    if role is not None and role not in staff.ROLES:
        raise ActionError(422, f"role must be one of {', '.join(staff.ROLES)}")
    if profiles is not None:
        profiles = check_profiles((p.id for p in ctx.profiles.all()), profiles)
    async with atomic(ctx) as (s, after):
        c = await _account(s, account_id)
        if actor is not None and c.id == actor.id and role is not None and role != c.role:
            raise ActionError(422, "an admin cannot change their own role")
        try:
            c.team = None if clear_team else (staff.check_team(team) if team is not None else c.team)
        except ValueError as exc:
            raise ActionError(422, str(exc)) from None
        changed_access = (role is not None and role != c.role) or (profiles is not None and profiles != c.profiles)
        c.role = role or c.role
        c.profiles = profiles if profiles is not None else c.profiles
        c.display_name = display_name or c.display_name
        if changed_access:  # a new role or scope starts with a new login
            await staff.close_sessions_of(s, c.id)
            after.publish(staff_topic(c.id), {"type": "session_closed"})
        await audit.record(s, action="account_changed", target_type="counsellor", target_id=c.id,
                           actor_type="counsellor" if actor else "system", actor_id=actor.id if actor else None,
                           detail=_roster_detail(c, "changed"))
        return c


async def set_active(ctx: HandoffContext, actor: Counsellor | None, account_id: int, active: bool) -> Counsellor:
    """Disable a leaver (sessions end, sockets close) or re-enable."""
    async with atomic(ctx) as (s, after):
        c = await _account(s, account_id)
        if actor is not None and c.id == actor.id and not active:
            raise ActionError(422, "an admin cannot disable their own account")
        c.active = active
        c.disabled_at = None if active else utcnow()
        if not active:
            await staff.close_sessions_of(s, c.id)
            after.publish(staff_topic(c.id), {"type": "session_closed"})
        await audit.record(s, action="account_enabled" if active else "account_disabled", target_type="counsellor",
                           target_id=c.id, actor_type="counsellor" if actor else "system",
                           actor_id=actor.id if actor else None, detail=_roster_detail(c, "enabled" if active else "disabled"))
        return c


async def reset_password(ctx: HandoffContext, actor: Counsellor | None, account_id: int,
                         password: str | None = None) -> str:
    """A new password (the given one, or a generated one returned once); sessions end."""
    new = password or secrets.token_urlsafe(12)
    try:
        staff.check_password_rule(new)
    except ValueError as exc:
        raise ActionError(422, str(exc)) from None
    hashed = await staff.hash_password(new)
    async with atomic(ctx) as (s, after):
        c = await _account(s, account_id)
        c.password_hash = hashed
        await staff.close_sessions_of(s, c.id)
        after.publish(staff_topic(c.id), {"type": "session_closed"})
        await audit.record(s, action="account_password_reset", target_type="counsellor", target_id=c.id,
                           actor_type="counsellor" if actor else "system", actor_id=actor.id if actor else None)
    return new


async def reset_mfa(ctx: HandoffContext, actor: Counsellor | None, account_id: int) -> Counsellor:
    """A lost phone: the next login enrols a new authenticator (and gets new recovery codes)."""
    async with atomic(ctx) as (s, after):
        c = await _account(s, account_id)
        await staff.reset_mfa(s, c)
        await staff.close_sessions_of(s, c.id)
        after.publish(staff_topic(c.id), {"type": "session_closed"})
        await audit.record(s, action="account_mfa_reset", target_type="counsellor", target_id=c.id,
                           actor_type="counsellor" if actor else "system", actor_id=actor.id if actor else None)
        return c


async def roster(s: Any) -> list[dict[str, Any]]:
    """Every account's history of access: one row per creation or change, the state after."""
    from casecore.models import AuditEvent

    accounts = {c.id: c for c in (await s.scalars(select(Counsellor))).all()}
    rows = (await s.scalars(select(AuditEvent).where(
        AuditEvent.target_type == "counsellor", AuditEvent.action.in_(
            ("account_created", "account_changed", "account_disabled", "account_enabled"))).order_by(AuditEvent.id))).all()
    seen = {int(r.target_id) for r in rows}
    out = [{"at": c.created_at.isoformat(), "login": c.login, "change": "existing", "role": c.role, "team": c.team,
            "profiles": list(c.profiles or []), "active": c.active, "by": None}
           for c in accounts.values() if c.id not in seen]
    for r in rows:
        c = accounts.get(int(r.target_id))
        by = accounts.get(r.actor_id) if r.actor_id else None
        out.append({"at": r.at.isoformat(), "login": c.login if c else r.target_id, "change": r.detail.get("change"),
                    "role": r.detail.get("role"), "team": r.detail.get("team"), "profiles": r.detail.get("profiles") or [],
                    "active": r.detail.get("active"), "by": by.login if by else None})
    return sorted(out, key=lambda x: x["at"])
