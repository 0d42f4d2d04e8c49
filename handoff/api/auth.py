"""Counsellor login: argon2 passwords, optional TOTP, server-side sessions in a cookie."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Cookie, Depends, HTTPException, Request, Response, WebSocket
from pydantic import BaseModel, Field

from casecore import audit, staff
from casecore.db import transaction
from casecore.models import Counsellor
from handoff.context import HandoffContext as AppContext
from handoff.ratelimit import limiter, rule

COOKIE = "madoguchi_session"


def _loopback(ip: str | None) -> bool:
    try:
        return ip is not None and ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


class LoginBody(BaseModel):
    login: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    otp: str | None = Field(default=None, max_length=10)


def current_counsellor_dep(ctx: AppContext):
    async def current(madoguchi_session: str | None = Cookie(default=None)) -> Counsellor:
        if not madoguchi_session:
            raise HTTPException(401, "login required")
        async with transaction(ctx.sessions) as s:
            c = await staff.session_counsellor(s, madoguchi_session)
        if c is None:
            raise HTTPException(401, "session expired; please log in again")
        return c

    return current


async def websocket_counsellor(ctx: AppContext, ws: WebSocket) -> Counsellor | None:
    token = ws.cookies.get(COOKIE)
    if not token:
        return None
    async with transaction(ctx.sessions) as s:
        return await staff.session_counsellor(s, token)


def auth_router(ctx: AppContext) -> APIRouter:
    r = APIRouter(prefix="/api/auth", tags=["auth"])
    current = current_counsellor_dep(ctx)

    @r.post("/login", responses={429: {"description": "too many attempts; see Retry-After"}})
    async def login(body: LoginBody, request: Request, response: Response) -> dict[str, Any]:
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

    @r.post("/logout")
    async def logout(response: Response, madoguchi_session: str | None = Cookie(default=None)) -> dict[str, str]:
        if madoguchi_session:
            async with transaction(ctx.sessions) as s:
                await staff.close_session(s, madoguchi_session)
        response.delete_cookie(COOKIE, path="/")
        return {"status": "logged out"}

    @r.get("/me")
    async def me(c: Counsellor = Depends(current)) -> dict[str, Any]:
        return {"id": c.id, "login": c.login, "display_name": c.display_name, "role": c.role}

    return r
