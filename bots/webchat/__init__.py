"""Web chat channel: the widget page, its JSON API and WebSocket."""

from bots.webchat import adapter as adapter  # registers the channel
