"""LINE channel: webhook (`line_router`), event parsing, rendering and the sender."""

from bots.line.webhook import LineAdapter, line_router

__all__ = ["LineAdapter", "line_router"]
