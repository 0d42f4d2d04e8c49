"""Structured logs (structlog). Personal data never goes to logs: log ids, codes, counts."""

from __future__ import annotations

import logging

import structlog

# Keys that must never reach a log line even by mistake (defence in depth).
_REDACT = {"text", "body", "password", "token", "email", "phone", "name", "address", "problem_text", "otp"}


def _redact(_: object, __: str, event: dict[str, object]) -> dict[str, object]:
    for key in list(event):
        if key in _REDACT:
            event[key] = "[redacted]"
    return event


def configure(level: str = "INFO", json: bool = True) -> None:
    logging.basicConfig(level=level, format="%(message)s")
    # `transitions` logs every state entry at INFO: noise, and node names hint at answers.
    logging.getLogger("transitions").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False) if json else structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.stdlib.LoggerFactory(),
        # not cached: tests (structlog.testing.capture_logs) must be able to intercept loggers
        cache_logger_on_first_use=False,
    )
