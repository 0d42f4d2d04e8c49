"""Request-side hardening (issue 17), wired into the app with one call: `install(app, settings)`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from madoguchi.security.asgi import HardeningMiddleware
from madoguchi.security.logs import install_log_scrubbing

if TYPE_CHECKING:
    from fastapi import FastAPI

    from madoguchi.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    """Outermost user middleware (call it last in create_app) and log scrubbing."""
    app.add_middleware(
        HardeningMiddleware,
        ops_access=settings.ops_access,
        ops_token=settings.ops_token.get_secret_value() if settings.ops_token else None,
        max_json=settings.max_body_json, max_webhook=settings.max_body_webhook, max_login=settings.max_body_login,
        max_upload=settings.media_max_file_bytes + 64 * 1024,
    )
    install_log_scrubbing(settings.resolved_secret_key(), settings.log_identities)
