"""What handoff and the channels need from the process they run in, as a protocol.

The composition package (`madoguchi.context.AppContext`) builds the one object that satisfies
it; handoff and bots depend on this shape only, never on `madoguchi` (an import-linter
contract), so the dependency points inwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from dialogs.profile import ProfileRegistry
    from handoff.delivery import SenderRegistry
    from handoff.hub import Hub
    from handoff.router import Router


class HandoffContext(Protocol):
    # The service settings (madoguchi.settings.Settings): pydantic fields such as
    # max_message_chars, session_hours, public_base_url, cookie_secure, the channels'
    # credentials, and resolved_secret_key().
    settings: Any
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    profiles: ProfileRegistry
    senders: SenderRegistry
    router: Router
    hub: Hub
    redis: Redis | None
    translator: Any | None
    extras: dict[str, Any]  # per-channel state, keyed by channel name (the adapters)
