"""Counsellor login: argon2 passwords (hashed off the event loop), mandatory TOTP (enrolled at
the first login, replay-proof, with one-time recovery codes), server-side sessions in a cookie
with an idle timeout, and the login defences of issue 11: per-IP and per-account throttling
with a temporary lockout, an alert to admins, every failure audited in its own transaction.

The answer to a refused login is always the same 401, whatever was wrong (login, password or
code), so it never tells whether the password alone was right."""

from __future__ import annotations

import ipaddress
from datetime import timedelta
from typing import Any

import segno
import structlog
from fastapi import APIRouter, Cookie, HTTPException, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from casecore import audit, staff
from casecore.db import transaction
from casecore.models import Counsellor, StaffSession
from handoff.api.deps import (
    COOKIE,
    AnySession,
    Ctx,
    Me,
    current_counsellor,
    idle,
    websocket_counsellor,
)
from handoff.api.views import CounsellorView, LoggedOut, View
from handoff.context import HandoffContext
from handoff.hub import ALERT_TOPIC, staff_topic
from handoff.ratelimit import Rule, limiter, rule

__all__ = ["COOKIE", "current_counsellor_dep", "router", "websocket_counsellor"]
log = structlog.get_logger(__name__)


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
    # a 6-digit code from the authenticator, or a recovery code (xxxxx-xxxxx)
    otp: str | None = Field(default=None, max_length=32)


class OtpBody(BaseModel):
    otp: str = Field(min_length=6, max_length=32)


class Enrolment(View):
    secret: str
    otpauth_uri: str
    qr_svg: str


class RecoveryCodes(View):
    recovery_codes: list[str]


router = APIRouter(prefix="/api/auth", tags=["auth"])
REFUSED = {"error": "wrong login, password or one-time code"}


def me_view(c: Counsellor, stage: str = "full") -> dict[str, Any]:
    return {"id": c.id, "login": c.login, "display_name": c.display_name, "role": c.role, "team": c.team,
            "profiles": list(c.profiles or []), "stage": stage, "mfa_enrolment_required": stage != "full"}


async def _alert(ctx: HandoffContext, kind: str, counsellor_id: int | None, key: str) -> None:
    """A lockout: audited, logged, and pushed to every admin's console (once per lockout
    window and account or address, not at every refused attempt)."""
    window = rule(ctx, "logins_per_account" if kind == "account" else "logins_per_ip").window
    if not (await limiter(ctx).hit(Rule("login_alert", 1, window), f"{kind}:{key}")).allowed:
        return
    await audit.record_now(ctx.sessions, action="login_lockout", target_type="counsellor" if counsellor_id else "login",
                           target_id=counsellor_id or "-", detail={"scope": kind})
    log.warning("login_lockout", scope=kind)
    await ctx.hub.publish(ALERT_TOPIC, {"type": "alert", "kind": "login_lockout", "scope": kind})


async def _account_id(ctx: HandoffContext, login: str) -> int | None:
    async with transaction(ctx.sessions) as s:
        return await s.scalar(select(Counsellor.id).where(Counsellor.login == login))


async def _throttle(ctx: HandoffContext, ip: str, account: str, login: str) -> None:
    """Refuse (429, audited) while the IP or the account is locked out.

    Only refused attempts count against the address (failures in `_failed`, attempts on a
    locked account here): a centre's staff behind one NAT address logging in at the start of
    a shift must not lock each other out."""
    rl = limiter(ctx)
    ip_verdict = await rl.check(rule(ctx, "logins_per_ip"), ip)
    account_verdict = await rl.check(rule(ctx, "logins_per_account"), account)
    if ip_verdict.allowed and not account_verdict.allowed:
        ip_verdict = await rl.hit(rule(ctx, "logins_per_ip"), ip)
    for scope, verdict in (("ip", ip_verdict), ("account", account_verdict)):
        if not verdict.allowed:
            cid = await _account_id(ctx, login)
            await audit.record_now(ctx.sessions, action="login_locked", target_type="counsellor" if cid else "login",
                                   target_id=cid or "-", detail={"scope": scope})
            await _alert(ctx, scope, cid if scope == "account" else None, account if scope == "account" else ip)
            raise HTTPException(429, detail={"code": "rate_limited", "message": "too many login attempts; try again later"},
                                headers={"Retry-After": str(verdict.retry_after)})


async def _failed(ctx: HandoffContext, ip: str, account: str, login: str, cause: str) -> None:
    rl = limiter(ctx)
    await rl.hit(rule(ctx, "logins_per_account"), account)
    await rl.hit(rule(ctx, "logins_per_ip"), ip)
    cid = await _account_id(ctx, login)
    await audit.record_now(ctx.sessions, action="login_failed", target_type="counsellor" if cid else "login",
                           target_id=cid or "-", detail={"cause": cause})
    if not (await rl.check(rule(ctx, "logins_per_account"), account)).allowed:
        await _alert(ctx, "account", cid, account)
    if ip and not (await rl.check(rule(ctx, "logins_per_ip"), ip)).allowed:
        await _alert(ctx, "ip", None, ip)


@router.post("/login", response_model=CounsellorView,
             responses={401: {"description": "refused (one answer for every cause)"},
                        429: {"description": "locked out for a while; see Retry-After"}})
async def login(body: LoginBody, request: Request, response: Response, ctx: Ctx) -> dict[str, Any]:
    ip = request.client.host if request.client else None
    ip_key = "" if _loopback(ip) else ip or ""
    account = "login:" + body.login.casefold()
    await _throttle(ctx, ip_key, account, body.login)
    try:
        counsellor_id = await staff.check_password(ctx.sessions, body.login, body.password)
        async with transaction(ctx.sessions) as s:
            result = await staff.second_factor(s, counsellor_id, body.otp)
            c = result.counsellor
            hours = ctx.settings.session_hours if result.stage == "full" else 1
            token = await staff.open_session(s, c, timedelta(hours=hours), result.stage)
            await audit.record(s, action="login" if result.stage == "full" else "login_mfa_enrolment",
                               target_type="counsellor", target_id=c.id, actor_type="counsellor", actor_id=c.id,
                               detail={"recovery_code": True} if result.recovery_used else None)
            me = me_view(c, result.stage)
    except staff.LoginError as exc:
        await _failed(ctx, ip_key, account, body.login, exc.cause)
        raise HTTPException(401, detail=REFUSED) from None
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="strict", secure=ctx.settings.cookie_secure,
        max_age=hours * 3600, path="/",
    )
    return me


@router.post("/logout", response_model=LoggedOut)
async def logout(response: Response, ctx: Ctx, madoguchi_session: str | None = Cookie(default=None)) -> dict[str, str]:
    if madoguchi_session:
        async with transaction(ctx.sessions) as s:
            row = await s.get(StaffSession, staff.hash_token(madoguchi_session))
            who = row.counsellor_id if row else None
            await staff.close_session(s, madoguchi_session)
            if who is not None:
                await audit.record(s, action="logout", target_type="counsellor", target_id=who,
                                   actor_type="counsellor", actor_id=who)
        if who is not None:  # the console socket of this session closes now
            await ctx.hub.publish(staff_topic(who), {"type": "session_closed",
                                                     "token_hash": staff.hash_token(madoguchi_session)})
    response.delete_cookie(COOKIE, path="/")
    return {"status": "logged out"}


@router.get("/me", response_model=CounsellorView)
async def me(c: Me) -> dict[str, Any]:
    return me_view(c)


def _qr_svg(uri: str) -> str:
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#1a1a1a")


@router.get("/mfa/setup", response_model=Enrolment)
async def mfa_setup(row: AnySession, ctx: Ctx) -> dict[str, Any]:
    """The secret to enrol (a QR code for the authenticator app, and the text for typing in).
    Only before enrolment: an enrolled account resets through an admin."""
    if row.stage == "full":
        raise HTTPException(409, "a second factor is enrolled already; an admin can reset it")
    async with transaction(ctx.sessions) as s:
        c = await s.get(Counsellor, row.counsellor_id)
        assert c is not None
        if not c.totp_pending:
            c.totp_pending = staff.new_totp_secret()
        secret = c.totp_pending
        uri = staff.provisioning_uri(c, secret)
    return {"secret": secret, "otpauth_uri": uri, "qr_svg": _qr_svg(uri)}


@router.post("/mfa/enrol", response_model=RecoveryCodes)
async def mfa_enrol(body: OtpBody, row: AnySession, ctx: Ctx) -> dict[str, Any]:
    """Confirm the authenticator with a first code: the session becomes a full login and the
    recovery codes are shown, once."""
    if row.stage == "full":
        raise HTTPException(409, "a second factor is enrolled already")
    async with transaction(ctx.sessions) as s:
        c = await s.get(Counsellor, row.counsellor_id)
        assert c is not None
        codes = await staff.enrol_totp(s, c, body.otp)
        if codes is not None:
            live = await s.get(StaffSession, row.token_hash)
            assert live is not None
            live.stage = "full"
            live.expires_at = live.created_at + timedelta(hours=ctx.settings.session_hours)
            await audit.record(s, action="mfa_enrolled", target_type="counsellor", target_id=c.id,
                               actor_type="counsellor", actor_id=c.id)
    if codes is None:
        await audit.record_now(ctx.sessions, action="mfa_enrol_failed", target_type="counsellor",
                               target_id=row.counsellor_id, actor_type="counsellor", actor_id=row.counsellor_id)
        raise HTTPException(422, detail={"error": "that code does not match; check the clock of the phone and try the next code"})
    return {"recovery_codes": codes}


@router.post("/mfa/recovery-codes", response_model=RecoveryCodes)
async def new_recovery_codes(body: OtpBody, me: Me, ctx: Ctx) -> dict[str, Any]:
    """New recovery codes (the old ones stop working), confirmed by a current code."""
    async with transaction(ctx.sessions) as s:
        c = await s.get(Counsellor, me.id)
        assert c is not None
        if not staff.verify_totp(c, body.otp):
            raise HTTPException(422, detail={"error": "wrong one-time code"})
        codes = await staff.new_recovery_codes(s, c)
        await audit.record(s, action="mfa_recovery_codes_renewed", target_type="counsellor", target_id=c.id,
                           actor_type="counsellor", actor_id=c.id)
    return {"recovery_codes": codes}


__all__ += ["idle"]
