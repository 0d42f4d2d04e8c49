"""Outbound delivery seam: channel adapters (bots/) register a sender per channel."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from dialogs.types import OutboundMessage


@dataclass(frozen=True, slots=True)
class DeliveryTarget:
    """Where an outbound batch goes. `reply_context` is what the inbound event carried
    (a LINE reply token, a mail's Message-ID and subject, ...); empty for pushes."""

    profile_id: str
    channel: str
    external_user_id: str
    conversation_id: int
    language: str
    reply_context: dict[str, str] = field(default_factory=dict)


class ChannelSender(Protocol):
    channel: str

    async def send(self, target: DeliveryTarget, messages: Sequence[OutboundMessage]) -> None:
        """Deliver in order. Retries transient failures itself; raises DeliveryError when it
        gives up so the caller can record the failure (nothing is silently dropped)."""


class DeliveryError(Exception):
    pass


class SenderRegistry:
    def __init__(self) -> None:
        self._senders: dict[str, ChannelSender] = {}

    def register(self, sender: ChannelSender) -> None:
        self._senders[sender.channel] = sender

    def get(self, channel: str) -> ChannelSender | None:
        return self._senders.get(channel)
