"""Counsellor accounts, passwords (argon2), TOTP second factor and login sessions."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore.models import Counsellor, StaffSession
from casecore.types import utcnow

ROLES = ("counsellor", "lead", "admin")
_hasher = PasswordHasher()


# A dummy hash so an unknown login costs as much as a wrong password (no user enumeration).
@functools.cache
def _dummy_hash() -> str:
    """Verified against when the login is unknown (same time as a wrong password); made on
    first use: an argon2 hash at import cost every process half a second and 64 MB touched."""
    return _hasher.hash("not-a-real-password")


class LoginError(Exception):
    """Login refused. `otp_required` tells the client to ask for the second factor."""

    def __init__(self, message: str, otp_required: bool = False) -> None:
        super().__init__(message)
        self.otp_required = otp_required


async def create_counsellor(
    session: AsyncSession, login: str, password: str, role: str, display_name: str = "",
    profiles: list[str] | None = None,
) -> Counsellor:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 10:
        raise ValueError("password must have at least 10 characters")
    existing = await session.scalar(select(Counsellor).where(Counsellor.login == login))
    if existing is not None:
        raise ValueError(f"login {login!r} already exists")
    c = Counsellor(
        login=login, password_hash=_hasher.hash(password), role=role, display_name=display_name or login,
        profiles=list(profiles or []),
    )
    session.add(c)
    await session.flush()
    return c


def new_totp_secret() -> str:
    return pyotp.random_base32()


async def authenticate(session: AsyncSession, login: str, password: str, otp: str | None) -> Counsellor:
    c = await session.scalar(select(Counsellor).where(Counsellor.login == login))
    try:
        _hasher.verify(c.password_hash if c else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        raise LoginError("wrong login or password") from None
    if c is None or not c.active:
        raise LoginError("wrong login or password")
    if c.totp_secret:
        if not otp:
            raise LoginError("one-time code required", otp_required=True)
        if not pyotp.TOTP(c.totp_secret).verify(otp, valid_window=1):
            raise LoginError("wrong one-time code", otp_required=True)
    if _hasher.check_needs_rehash(c.password_hash):
        c.password_hash = _hasher.hash(password)
    return c


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def open_session(session: AsyncSession, counsellor: Counsellor, ttl: timedelta) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(token_hash=_hash_token(token), counsellor_id=counsellor.id, expires_at=utcnow() + ttl)
    )
    return token


async def session_counsellor(session: AsyncSession, token: str) -> Counsellor | None:
    row = await session.get(StaffSession, _hash_token(token))
    if row is None or row.expires_at < utcnow() or not row.counsellor.active:
        return None
    return row.counsellor


async def close_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(StaffSession).where(StaffSession.token_hash == _hash_token(token)))
