"""Blocks that hold (002 §6(1)⑥): a web chat session remembers, as keyed hashes, the browser it
came from (a signed device cookie) and its network (IP); a lead's block covers both for a set
time, so a new session from the same browser or network is refused."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import crypto
from casecore.models import ResidentBlock, WebchatOrigin
from casecore.types import utcnow

DEVICE_COOKIE = "madoguchi_device"


def _device_key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"webchat-device-cookie", hashlib.sha256).digest()


def new_device_cookie(secret: str) -> tuple[str, str]:
    """(device id, signed cookie value)."""
    device = secrets.token_urlsafe(18)
    return device, f"{device}.{hmac.new(_device_key(secret), device.encode(), hashlib.sha256).hexdigest()[:32]}"


def read_device_cookie(secret: str, value: str | None) -> str | None:
    """The device id of a cookie we signed, else None (forged, truncated or absent)."""
    if not value or "." not in value or len(value) > 128:
        return None
    device, _, mac = value.rpartition(".")
    want = hmac.new(_device_key(secret), device.encode(), hashlib.sha256).hexdigest()[:32]
    return device if hmac.compare_digest(mac, want) else None


def device_hash(device: str) -> str:
    return crypto.cipher().blind_index("webchat-device:" + device)


def network_hash(ip: str | None) -> str:
    return crypto.cipher().blind_index("webchat-network:" + (ip or "-"))


async def remember_origin(s: AsyncSession, conversation_id: int, device: str, ip: str | None) -> None:
    s.add(WebchatOrigin(conversation_id=conversation_id, device_hash=device_hash(device), network_hash=network_hash(ip)))


async def is_blocked(s: AsyncSession, device: str | None, ip: str | None, now: datetime | None = None) -> bool:
    now = now or utcnow()
    values = [("network", network_hash(ip))] + ([("device", device_hash(device))] if device else [])
    for kind, value in values:
        hit = await s.scalar(select(ResidentBlock.id).where(
            ResidentBlock.kind == kind, ResidentBlock.value_hash == value, ResidentBlock.until > now,
        ).limit(1))
        if hit is not None:
            return True
    return False


async def block_origin(s: AsyncSession, conversation_id: int, counsellor_id: int | None, reason: str,
                       device_for: timedelta, network_for: timedelta) -> int:
    """Block the browser and network a web chat conversation came from; returns how many
    block rows were written (0 when the conversation has no recorded origin)."""
    origin = await s.get(WebchatOrigin, conversation_id)
    if origin is None:
        return 0
    now = utcnow()
    for kind, value, span in (("device", origin.device_hash, device_for), ("network", origin.network_hash, network_for)):
        s.add(ResidentBlock(kind=kind, value_hash=value, until=now + span, conversation_id=conversation_id,
                            counsellor_id=counsellor_id, reason=reason))
    return 2


async def lift_blocks(s: AsyncSession, conversation_id: int) -> None:
    now = utcnow()
    for b in (await s.scalars(select(ResidentBlock).where(ResidentBlock.conversation_id == conversation_id,
                                                          ResidentBlock.until > now))).all():
        b.until = now


async def apply(s: AsyncSession, settings: Any, conversation_id: int, counsellor_id: int | None, reason: str,
                blocked: bool) -> None:
    """The lead's block (or its lifting) as it concerns the web chat origin."""
    if blocked:
        await block_origin(s, conversation_id, counsellor_id, reason,
                           timedelta(hours=settings.block_hours), timedelta(hours=settings.block_network_hours))
    else:
        await lift_blocks(s, conversation_id)
