"""Which LINE channels this process serves: one per municipality profile that has
`channels.line` credentials, plus the MADOGUCHI_LINE_* settings for the default profile.

An inbound webhook is matched to its channel by signature: the body is checked against each
channel's secret with the SDK's SignatureValidator and the first that verifies wins. The
`destination` field is not used for routing because it is only trustworthy after the
signature has been checked, and a secret per channel is what LINE itself uses to sign.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from linebot.v3 import SignatureValidator


@dataclass(frozen=True)
class LineChannel:
    profile_id: str
    channel_secret: str = field(repr=False)
    access_token: str = field(repr=False)

    @property
    def key(self) -> str:  # names the channel in logs without revealing credentials
        return f"line:{self.profile_id}"


class LineChannels:
    def __init__(self, channels: Iterable[LineChannel], default_profile: str | None = None) -> None:
        self._by_profile: dict[str, LineChannel] = {}
        for ch in channels:
            self._by_profile.setdefault(ch.profile_id, ch)
        self._validators = [(SignatureValidator(c.channel_secret), c) for c in self._by_profile.values()]
        self.default_profile = default_profile

    def __len__(self) -> int:
        return len(self._by_profile)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_profile.values())

    def verify(self, body: str, signature: str) -> LineChannel | None:
        """The channel whose secret signed `body`, or None."""
        for validator, channel in self._validators:
            if validator.validate(body, signature):
                return channel
        return None

    def for_profile(self, profile_id: str) -> LineChannel | None:
        # No fallback to another profile's channel: LINE user ids are per provider, and a
        # conversation's profile always names the channel its events arrived on.
        return self._by_profile.get(profile_id)

    @classmethod
    def from_config(cls, settings: Any, profiles: Iterable[Any] = ()) -> LineChannels:
        """Profiles' own credentials first; the settings' channel serves the default profile."""
        channels: list[LineChannel] = []
        for profile in profiles:
            creds = (getattr(profile, "channels", None) or {}).get("line") or {}
            secret, token = creds.get("channel_secret"), creds.get("channel_access_token")
            if secret and token:
                channels.append(LineChannel(profile.id, secret, token))
        if settings.line_channel_secret and settings.line_channel_access_token:
            channels.append(
                LineChannel(
                    settings.profile,
                    settings.line_channel_secret.get_secret_value(),
                    settings.line_channel_access_token.get_secret_value(),
                )
            )
        return cls(channels, default_profile=settings.profile)
