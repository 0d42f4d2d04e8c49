"""Telegram channel: webhook (`telegram_router`), polling, update parsing and the sender."""

from bots.telegram.webhook import TelegramAdapter, telegram_router

__all__ = ["TelegramAdapter", "telegram_router"]
