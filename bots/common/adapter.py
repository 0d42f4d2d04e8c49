"""The channel adapter interface and registry (as courier's ChannelHandler).

Each channel package registers one factory under its name when it is imported:

    @register_channel("line")
    def build(ctx: HandoffContext) -> LineAdapter | None: ...   # None: not configured here

The app imports the installed channels (`INSTALLED_CHANNELS`), builds every adapter from the
context and, for each one alike, registers its sender with the router, mounts its routes,
starts its background work and, at shutdown, stops and closes it. Adding a channel is a
package with a registered factory and a line in `INSTALLED_CHANNELS`; nothing else changes.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from fastapi import APIRouter

    from handoff.context import HandoffContext
    from handoff.delivery import ChannelSender

# Channel packages the app loads, in mounting order. Each registers itself on import.
INSTALLED_CHANNELS: tuple[str, ...] = ("bots.webchat", "bots.line", "bots.telegram", "bots.email")


@dataclass(frozen=True)
class Capabilities:
    """What a channel can show, for renderers and the console to consult instead of a channel
    name (the actions layer is the first user to come)."""

    typing_indicator: bool = False  # "the counsellor is writing" reaches the resident
    buttons: bool = False  # choices as tappable buttons (quick replies, inline keyboards)
    max_buttons: int | None = None  # more choices than this are written as a numbered list
    max_button_label: int | None = None  # characters (UTF-16 units) per button label
    media_kinds: frozenset[str] = field(default_factory=frozenset)  # inbound InboundEvent.media_type values
    max_text: int | None = None  # per outbound message; longer texts are split
    call_action: bool = False  # a phone number can be offered as a tap-to-call action


@runtime_checkable
class ChannelAdapter(Protocol):
    name: str
    capabilities: Capabilities
    # What the router delivers through; None when the channel reads from the store (the web
    # chat) or registers its senders when it starts (email: one per mailbox).
    sender: ChannelSender | None

    def routes(self) -> APIRouter | None:
        """The channel's HTTP routes (webhooks, pages, APIs), or None."""

    async def start(self) -> list[asyncio.Task[None]]:
        """Begin inbound work that is not a request (pollers, listeners); the tasks run
        until `stop`."""

    async def stop(self) -> None:
        """Stop taking inbound work (first at shutdown)."""

    async def aclose(self) -> None:
        """Release clients and sessions (last at shutdown, after the queue drained)."""


class BaseAdapter:
    """Defaults for the optional parts: no routes, no sender, no background work."""

    name: str = ""
    capabilities: Capabilities = Capabilities()
    sender: ChannelSender | None = None

    def routes(self) -> APIRouter | None:
        return None

    async def start(self) -> list[asyncio.Task[None]]:
        return []

    async def stop(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


AdapterFactory = Callable[["HandoffContext"], "ChannelAdapter | None"]


class AdapterRegistry:
    def __init__(self) -> None:
        self._factories: dict[str, AdapterFactory] = {}

    def register(self, name: str, factory: AdapterFactory) -> None:
        if name in self._factories and self._factories[name] is not factory:
            raise ValueError(f"channel {name!r} is registered twice")
        self._factories[name] = factory

    def names(self) -> list[str]:
        return list(self._factories)

    def build(self, ctx: HandoffContext, names: Iterable[str] | None = None) -> list[ChannelAdapter]:
        """Every registered (or named) channel's adapter that is configured in `ctx`, with its
        sender registered on `ctx.senders`."""
        adapters: list[ChannelAdapter] = []
        for name in names if names is not None else self._factories:
            adapter = self._factories[name](ctx)
            if adapter is None:
                continue
            if adapter.sender is not None:
                ctx.senders.register(adapter.sender)
            adapters.append(adapter)
        return adapters


REGISTRY = AdapterRegistry()


def register_channel(name: str) -> Callable[[AdapterFactory], AdapterFactory]:
    def decorate(factory: AdapterFactory) -> AdapterFactory:
        REGISTRY.register(name, factory)
        return factory

    return decorate


def load_channels(packages: Iterable[str] = INSTALLED_CHANNELS) -> AdapterRegistry:
    """Import the channel packages (each registers itself) and return the registry."""
    for package in packages:
        importlib.import_module(package)
    return REGISTRY
