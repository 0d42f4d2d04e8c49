"""Which Telegram bots this process serves: one per municipality profile with
`channels.telegram` credentials (`bot_token`, `webhook_secret`), plus the MADOGUCHI_TELEGRAM_*
settings for the default profile. A webhook names its bot by the secret token Telegram sends
in X-Telegram-Bot-Api-Secret-Token (set with setWebhook), compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer


@dataclass(frozen=True)
class TelegramBot:
    profile_id: str
    token: str = field(repr=False)
    webhook_secret: str | None = field(default=None, repr=False)

    @property
    def bot_id(self) -> str:  # the numeric part of the token: public, names the bot in logs
        return self.token.split(":", 1)[0]

    @property
    def key(self) -> str:
        return f"telegram:{self.profile_id}"


class TelegramBots:
    def __init__(self, bots: Iterable[TelegramBot], api_base_url: str) -> None:
        self._by_profile: dict[str, TelegramBot] = {}
        for b in bots:
            self._by_profile.setdefault(b.profile_id, b)
        self.api_base_url = api_base_url
        self._clients: dict[str, Bot] = {}

    def __iter__(self) -> Iterator[TelegramBot]:
        return iter(self._by_profile.values())

    def __len__(self) -> int:
        return len(self._by_profile)

    def by_secret(self, presented: str | None) -> TelegramBot | None:
        if not presented:
            return None
        found = None
        for b in self._by_profile.values():  # compare with every secret: no early exit timing
            if b.webhook_secret and hmac.compare_digest(b.webhook_secret.encode(), presented.encode()):
                found = b
        return found

    def for_profile(self, profile_id: str) -> TelegramBot | None:
        return self._by_profile.get(profile_id)

    def client(self, bot: TelegramBot) -> Bot:
        """aiogram Bot for this bot, talking to the configured API server."""
        client = self._clients.get(bot.key)
        if client is None:
            session = AiohttpSession(api=TelegramAPIServer.from_base(self.api_base_url))
            client = Bot(bot.token, session=session)  # no parse_mode: texts are shown literally
            self._clients[bot.key] = client
        return client

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.session.close()
        self._clients.clear()

    @classmethod
    def from_config(cls, settings: Any, profiles: Iterable[Any] = ()) -> TelegramBots:
        bots: list[TelegramBot] = []
        for profile in profiles:
            creds = (getattr(profile, "channels", None) or {}).get("telegram") or {}
            if creds.get("bot_token"):
                bots.append(TelegramBot(profile.id, creds["bot_token"], creds.get("webhook_secret")))
        if settings.telegram_bot_token:
            secret = settings.telegram_webhook_secret
            bots.append(
                TelegramBot(
                    settings.profile,
                    settings.telegram_bot_token.get_secret_value(),
                    secret.get_secret_value() if secret else None,
                )
            )
        return cls(bots, settings.telegram_api_base_url)
