"""Counsellor login: argon2 passwords, optional TOTP, server-side sessions in a cookie."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Cookie, HTTPException, Request, Response
from pydantic import BaseModel, Field

from casecore import audit, staff
from casecore.db import transaction
from handoff.api.deps import COOKIE, Ctx, Me, current_counsellor, websocket_counsellor
from handoff.api.views import CounsellorView, LoggedOut
from handoff.ratelimit import limiter, rule

__all__ = ["COOKIE", "current_counsellor_dep", "router", "websocket_counsellor"]


def current_counsellor_dep(_ctx: object = None) -> Any:
    """For routers still built from the context (reports): the one dependency of deps.py."""
    return current_counsellor


def _loopback(ip: str | None) -> bool:
    try:
        return ip is not None and ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


class LoginBody(BaseModel):
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    otp: str | None = Field(default=None, max_length=10)


router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/login", response_model=CounsellorView,
             responses={429: {"description": "too many attempts; see Retry-After"}})
async def login(body: LoginBody, request: Request, response: Response, ctx: Ctx) -> dict[str, Any]:
    # Flood limits (issue 17): every attempt per IP, failed attempts per account.
    ip = request.client.host if request.client else None
    account = "login:" + body.login.casefold()
    for verdict in (await limiter(ctx).hit(rule(ctx, "logins_per_ip"), "" if _loopback(ip) else ip or ""),
                    await limiter(ctx).check(rule(ctx, "logins_per_account"), account)):
        if not verdict.allowed:
            raise HTTPException(429, detail={"code": "rate_limited", "message": "too many login attempts; try again later"},
                                headers={"Retry-After": str(verdict.retry_after)})
    async with transaction(ctx.sessions) as s:
        try:
            c = await staff.authenticate(s, body.login, body.password, body.otp)
        except staff.LoginError as exc:
            await audit.record(s, action="login_failed", target_type="login", target_id="-",
                               detail={"otp_required": exc.otp_required})
            await limiter(ctx).hit(rule(ctx, "logins_per_account"), account)
            raise HTTPException(401, detail={"error": str(exc), "otp_required": exc.otp_required}) from None
        token = await staff.open_session(s, c, timedelta(hours=ctx.settings.session_hours))
        await audit.record(s, action="login", target_type="counsellor", target_id=c.id,
                           actor_type="counsellor", actor_id=c.id)
        me = {"id": c.id, "login": c.login, "display_name": c.display_name, "role": c.role}
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", secure=ctx.settings.cookie_secure,
        max_age=ctx.settings.session_hours * 3600, path="/",
    )
    return me


@router.post("/logout", response_model=LoggedOut)
async def logout(response: Response, ctx: Ctx, madoguchi_session: str | None = Cookie(default=None)) -> dict[str, str]:
    if madoguchi_session:
        async with transaction(ctx.sessions) as s:
            await staff.close_session(s, madoguchi_session)
    response.delete_cookie(COOKIE, path="/")
    return {"status": "logged out"}


@router.get("/me", response_model=CounsellorView)
async def me(c: Me) -> dict[str, Any]:
    return {"id": c.id, "login": c.login, "display_name": c.display_name, "role": c.role}
