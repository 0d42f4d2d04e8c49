"""The counsellor API and console: module-level routers, their dependencies (deps.py) and
response models (views.py). `mount(app)` includes them when the app is created; they read the
context from `request.app.state.ctx` once the lifespan has built it."""

from __future__ import annotations

from fastapi import FastAPI

from handoff.actions.base import ActionError


def mount(app: FastAPI) -> None:
    from handoff.api import (
        accounts,
        auth,
        cases,
        casework,
        casework_console,
        console,
        conversations,
        media,
        moderation,
    )
    from handoff.api import audit as audit_api
    from handoff.api.deps import Refused, action_error_handler, refused_handler
    from handoff.api.origin import SameOriginMiddleware

    app.add_exception_handler(ActionError, action_error_handler)
    app.add_exception_handler(Refused, refused_handler)
    app.add_middleware(SameOriginMiddleware)  # issue 11: staff routes refuse cross-origin changes
    for module in (auth, cases, casework, casework_console, conversations, media, moderation, console, accounts,
                   audit_api):
        app.include_router(module.router)
    app.include_router(media.public)  # a resident's one-use document link
