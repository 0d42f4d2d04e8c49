"""The admin's accounts page API (issue 11): list, create, change role, team and profiles,
disable and re-enable, reset password and MFA; the roster export. Admins only; each change
is an action (handoff.actions.accounts) with its audit row."""

from __future__ import annotations

import csv
import io
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from casecore import audit
from casecore.db import transaction
from casecore.models import AuditEvent, Counsellor
from handoff.actions import accounts as actions
from handoff.api.deps import Admin, Ctx
from handoff.api.views import View

router = APIRouter(prefix="/api/accounts", tags=["accounts"])


class CreateBody(BaseModel):
    login: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
    display_name: str = Field(default="", max_length=128)
    role: str = Field(default="counsellor", pattern=r"^(counsellor|lead|admin)$")
    password: str | None = Field(default=None, min_length=10, max_length=256)
    team: str | None = Field(default=None, max_length=32)
    profiles: list[str] = Field(default_factory=list, max_length=50)


class ChangeBody(BaseModel):
    role: str | None = Field(default=None, pattern=r"^(counsellor|lead|admin)$")
    team: str | None = Field(default=None, max_length=32, description="a team code; an empty string clears it")
    profiles: list[str] | None = Field(default=None, max_length=50)
    display_name: str | None = Field(default=None, max_length=128)


class PasswordBody(BaseModel):
    password: str | None = Field(default=None, min_length=10, max_length=256)


@router.get("", response_model=View)
async def list_accounts(ctx: Ctx, admin: Admin) -> dict[str, Any]:
    async with transaction(ctx.sessions) as s:
        rows = (await s.scalars(select(Counsellor).order_by(Counsellor.login))).all()
        alerts = (await s.scalars(select(AuditEvent).where(AuditEvent.action == "login_lockout")
                                  .order_by(AuditEvent.id.desc()).limit(20))).all()
        await audit.record(s, action="read_accounts", target_type="counsellor", target_id="*",
                           actor_type="counsellor", actor_id=admin.id, detail={"count": len(rows)})
    return {"accounts": [actions.state(c) for c in rows],
            "profiles": [p.id for p in ctx.profiles.all()],
            "lockouts": [{"at": a.at.isoformat(), "target_id": a.target_id, "scope": a.detail.get("scope")} for a in alerts]}


@router.post("", status_code=201, response_model=View)
async def create_account(body: CreateBody, ctx: Ctx, admin: Admin) -> dict[str, Any]:
    """A new account; without a password one is generated and shown once. The account enrols
    its second factor at the first login."""
    password = body.password or actions.secrets.token_urlsafe(12)
    c = await actions.create(ctx, admin, body.login, password, body.role, body.display_name, body.profiles, body.team)
    return {"account": actions.state(c), **({} if body.password else {"password": password})}


@router.patch("/{account_id}", response_model=View)
async def change_account(account_id: int, body: ChangeBody, ctx: Ctx, admin: Admin) -> dict[str, Any]:
    c = await actions.update(ctx, admin, account_id, role=body.role, team=body.team or None, profiles=body.profiles,
                             display_name=body.display_name, clear_team=body.team == "")
    return {"account": actions.state(c)}


@router.post("/{account_id}/disable", response_model=View)
async def disable(account_id: int, ctx: Ctx, admin: Admin) -> dict[str, Any]:
    return {"account": actions.state(await actions.set_active(ctx, admin, account_id, False))}


@router.post("/{account_id}/enable", response_model=View)
async def enable(account_id: int, ctx: Ctx, admin: Admin) -> dict[str, Any]:
    return {"account": actions.state(await actions.set_active(ctx, admin, account_id, True))}


@router.post("/{account_id}/reset-password", response_model=View)
async def reset_password(account_id: int, ctx: Ctx, admin: Admin, body: PasswordBody | None = None) -> dict[str, Any]:
    """A new password (generated, shown once, unless given); the account's sessions end."""
    given = body.password if body else None
    new = await actions.reset_password(ctx, admin, account_id, given)
    return {"account_id": account_id, **({} if given else {"password": new})}


@router.post("/{account_id}/reset-mfa", response_model=View)
async def reset_mfa(account_id: int, ctx: Ctx, admin: Admin) -> dict[str, Any]:
    return {"account": actions.state(await actions.reset_mfa(ctx, admin, account_id))}


ROSTER_COLUMNS = ("at", "login", "change", "role", "team", "profiles", "active", "by")


def roster_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(ROSTER_COLUMNS)
    for r in rows:
        w.writerow([" ".join(r["profiles"]) if k == "profiles" else audit.cell(r[k]) for k in ROSTER_COLUMNS])
    return buf.getvalue()


@router.get("/roster.csv", response_class=Response)
async def roster(ctx: Ctx, admin: Admin) -> Response:
    """The staff roster's history: who had which role, team and municipalities, from when."""
    async with transaction(ctx.sessions) as s:
        rows = await actions.roster(s)
        await audit.record(s, action="export_roster", target_type="counsellor", target_id="*",
                           actor_type="counsellor", actor_id=admin.id, detail={"rows": len(rows)})
    return Response(roster_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="roster.csv"'})
