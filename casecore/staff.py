"""Counsellor accounts, passwords (argon2, off the event loop), the mandatory TOTP second
factor with replay protection and recovery codes, and login sessions (absolute lifetime plus
an idle timeout)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import os
import re
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casecore import crypto
from casecore.db import transaction
from casecore.models import Counsellor, MfaRecoveryCode, StaffSession
from casecore.types import utcnow

ROLES = ("counsellor", "lead", "admin")
TEAM = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
ISSUER = "madoguchi"
RECOVERY_CODES = 10
_hasher = PasswordHasher()


# A dummy hash so an unknown login costs as much as a wrong password (no user enumeration).
@functools.cache
def _dummy_hash() -> str:
    """Verified against when the login is unknown (same time as a wrong password); made on
    first use: an argon2 hash at import cost every process half a second and 64 MB touched."""
    return _hasher.hash("not-a-real-password")


def _lower_priority() -> None:
    """Hashing threads yield the CPU to the event loop (Linux: a thread's own nice value, which
    argon2's lane threads inherit), so a login flood slows logins, not every other request."""
    import threading

    with contextlib.suppress(AttributeError, OSError, PermissionError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


# argon2 takes ~50 ms of CPU and 64 MiB: on the event loop it stalls every request, and a
# pool as wide as the machine would starve the loop anyway. Half the cores hash, the rest serve.
_pool = ThreadPoolExecutor(max(1, (os.cpu_count() or 2) // 2), thread_name_prefix="argon2",
                           initializer=_lower_priority)


class LoginError(Exception):
    """Login refused. One message for every cause: the answer never tells whether the
    password alone was right."""

    def __init__(self, cause: str) -> None:
        super().__init__("wrong login, password or one-time code")
        self.cause = cause  # for the audit trail only: unknown, password, otp, disabled


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_pool, _hasher.hash, password)


async def _verify(hashed: str, password: str) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.get_running_loop().run_in_executor(_pool, check)


def check_password_rule(password: str) -> None:
    if len(password) < 10:
        raise ValueError("password must have at least 10 characters")


def check_team(team: str | None) -> str | None:
    if team in (None, ""):
        return None
    if not TEAM.match(team):
        raise ValueError("a team is a short code: a-z, 0-9, - and _ (up to 32)")
    return team


async def create_counsellor(
    session: AsyncSession, login: str, password: str, role: str, display_name: str = "",
    profiles: list[str] | None = None, team: str | None = None,
) -> Counsellor:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    check_password_rule(password)
    existing = await session.scalar(select(Counsellor).where(Counsellor.login == login))
    if existing is not None:
        raise ValueError(f"login {login!r} already exists")
    c = Counsellor(
        login=login, password_hash=await hash_password(password), role=role, display_name=display_name or login,
        profiles=list(profiles or []), team=check_team(team),
    )
    session.add(c)
    await session.flush()
    return c


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(c: Counsellor, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=c.login, issuer_name=ISSUER)


def _totp_step(secret: str, code: str, last_step: int | None, now: float | None = None) -> int | None:
    """The time step the code belongs to (now ±1 step of clock drift), if it is newer than the
    last one used: a code seen once never logs in again."""
    totp = pyotp.TOTP(secret)
    step = int((now if now is not None else time.time()) // totp.interval)
    for candidate in (step - 1, step, step + 1):
        if last_step is not None and candidate <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def verify_totp(c: Counsellor, code: str, secret: str | None = None) -> bool:
    """Check a code against the enrolled (or the given pending) secret; remember its step."""
    secret = secret or c.totp_secret
    code = code.strip().replace(" ", "")
    if not secret or not re.fullmatch(r"\d{6}", code):
        return False
    step = _totp_step(secret, code, c.totp_last_step)
    if step is None:
        return False
    c.totp_last_step = step
    return True


def _recovery_hash(code: str) -> str:
    # The codes are 50 random bits each: a keyed hash is enough (no argon2 per code).
    normalized = code.strip().lower().replace("-", "").replace(" ", "")
    return crypto.cipher().blind_index("mfa-recovery:" + normalized)


async def new_recovery_codes(s: AsyncSession, c: Counsellor) -> list[str]:
    """Replace the account's recovery codes; the clear codes are returned once, never stored."""
    await s.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.counsellor_id == c.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)
        codes.append(f"{raw[:5]}-{raw[5:]}")
        s.add(MfaRecoveryCode(counsellor_id=c.id, code_hash=_recovery_hash(raw)))
    await s.flush()
    return codes


async def use_recovery_code(s: AsyncSession, c: Counsellor, code: str) -> bool:
    res = await s.execute(
        update(MfaRecoveryCode)
        .where(MfaRecoveryCode.counsellor_id == c.id, MfaRecoveryCode.code_hash == _recovery_hash(code),
               MfaRecoveryCode.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False)
    )
    return res.rowcount == 1


async def recovery_codes_left(s: AsyncSession, counsellor_id: int) -> int:
    rows = await s.scalars(select(MfaRecoveryCode.id).where(
        MfaRecoveryCode.counsellor_id == counsellor_id, MfaRecoveryCode.used_at.is_(None)))
    return len(rows.all())


@dataclass(frozen=True)
class LoginResult:
    counsellor: Counsellor
    stage: str  # "full", or "mfa": the password was right, the second factor is still to enrol
    recovery_used: bool = False


async def check_password(sessions: async_sessionmaker[AsyncSession], login: str, password: str) -> int:
    """The account id if the password is right (LoginError otherwise). No database connection
    is held while argon2 runs: twenty logins at once must not empty the pool for everyone."""
    async with transaction(sessions) as s:
        row = (await s.execute(select(Counsellor.id, Counsellor.password_hash, Counsellor.active)
                               .where(Counsellor.login == login))).first()
    ok = await _verify(row.password_hash if row else _dummy_hash(), password)
    if row is None:
        raise LoginError("unknown")
    if not ok:
        raise LoginError("password")
    if not row.active:
        raise LoginError("disabled")
    if _hasher.check_needs_rehash(row.password_hash):
        new = await hash_password(password)
        async with transaction(sessions) as s:
            await s.execute(update(Counsellor).where(Counsellor.id == row.id).values(password_hash=new))
    return int(row.id)


async def second_factor(s: AsyncSession, counsellor_id: int, otp: str | None) -> LoginResult:
    """After the password: the TOTP code (or a recovery code). An account that has not
    enrolled TOTP yet gets an enrolment-only session ("mfa"): no case, no queue until a first
    code confirms it."""
    c = await s.get(Counsellor, counsellor_id, populate_existing=True)
    if c is None or not c.active:
        raise LoginError("disabled")
    recovery = False
    if c.totp_secret:
        code = (otp or "").strip()
        if not verify_totp(c, code):
            if not (len(code) > 6 and await use_recovery_code(s, c, code)):
                raise LoginError("otp")
            recovery = True
    return LoginResult(c, "full" if c.totp_secret else "mfa", recovery)


async def enrol_totp(s: AsyncSession, c: Counsellor, code: str) -> list[str] | None:
    """Confirm the pending secret with a first code; returns the recovery codes (shown once)."""
    if not c.totp_pending or not verify_totp(c, code, c.totp_pending):
        return None
    c.totp_secret, c.totp_pending, c.mfa_enrolled_at = c.totp_pending, None, utcnow()
    return await new_recovery_codes(s, c)


async def reset_mfa(s: AsyncSession, c: Counsellor) -> None:
    """Back to "not enrolled": the next login enrols a new authenticator."""
    c.totp_secret = c.totp_pending = None
    c.totp_last_step = c.mfa_enrolled_at = None
    await s.execute(delete(MfaRecoveryCode).where(MfaRecoveryCode.counsellor_id == c.id))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(session: AsyncSession, counsellor: Counsellor, ttl: timedelta, stage: str = "full") -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(StaffSession(token_hash=hash_token(token), counsellor_id=counsellor.id, expires_at=now + ttl,
                             stage=stage, last_seen_at=now))
    return token


async def find_session(session: AsyncSession, token: str, idle: timedelta | None = None, *,
                       touch: bool = True) -> StaffSession | None:
    """The live session behind a cookie: not past its lifetime, not idle too long, its account
    active. A use with `touch` moves the idle clock (written at most every 30 seconds)."""
    row = await session.get(StaffSession, hash_token(token))
    now = utcnow()
    if row is None or row.expires_at < now or not row.counsellor.active:
        return None
    seen = row.last_seen_at or row.created_at
    if idle is not None and now - seen > idle:
        await session.delete(row)
        return None
    if touch and now - seen > timedelta(seconds=30):
        row.last_seen_at = now
    return row


async def session_counsellor(session: AsyncSession, token: str, idle: timedelta | None = None) -> Counsellor | None:
    """The counsellor of a fully logged-in session (second factor done)."""
    row = await find_session(session, token, idle)
    return row.counsellor if row is not None and row.stage == "full" else None


async def close_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(StaffSession).where(StaffSession.token_hash == hash_token(token)))


async def close_sessions_of(session: AsyncSession, counsellor_id: int) -> None:
    await session.execute(delete(StaffSession).where(StaffSession.counsellor_id == counsellor_id))
