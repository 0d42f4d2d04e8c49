"""What the composition root hands to every part: one object, built once per process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from dialogs.profile import ProfileRegistry
    from handoff.delivery import SenderRegistry
    from handoff.hub import Hub
    from handoff.router import Router
    from madoguchi.settings import Settings


@dataclass
class AppContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    profiles: ProfileRegistry
    senders: SenderRegistry
    router: Router
    hub: Hub  # pub/sub for live updates (web chat sockets, console)
    redis: Redis | None = None
    translator: Any | None = None  # i18n.translation.Translator once installed
    extras: dict[str, Any] = field(default_factory=dict)  # per-channel state (LINE clients, ...)
