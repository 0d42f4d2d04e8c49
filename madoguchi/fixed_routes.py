"""The channels' webhook acknowledgements served without the router (issue 19).

A webhook ack is a bare ASGI app on a fixed path (`bots.line.webhook._AckApp`). Reached through
FastAPI it still went through the exception middleware, the exit-stack middleware and the
route table's matching, a seventh of the ack's CPU for nothing it uses. This middleware sits
innermost, inside every other middleware (hardening, body limits, security headers, the
same-origin check, ack-first), and answers an exact (method, path) from its table; everything
else goes on to the router unchanged. The documented route stays in the router for the
OpenAPI schema (and answers any method the table does not hold, as before).
"""

from __future__ import annotations

from starlette.routing import Route

from madoguchi.security.asgi import ASGIApp, Receive, Scope, Send

FixedTable = dict[tuple[str, str], ASGIApp]


class FixedRoutesMiddleware:
    def __init__(self, app: ASGIApp, table: FixedTable) -> None:
        self.app = app
        self.table = table  # filled when the channels are mounted (at start-up, after the context)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.table:
            path: str = scope["path"]
            root: str = scope.get("root_path", "")
            if root and path.startswith(root):  # as Starlette's routing sees it
                path = path[len(root):]
            endpoint = self.table.get((scope["method"], path))
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.app(scope, receive, send)


def fixed_endpoints(routes: list[object]) -> FixedTable:
    """The plain ASGI routes among `routes` with a fixed path (no parameters): a Starlette
    `Route` whose endpoint is itself an ASGI app. A function endpoint is left to the router
    (Starlette wraps it in request handling that needs the exception middleware's scope)."""
    table: FixedTable = {}
    for route in routes:
        if type(route) is not Route or route.app is not route.endpoint or "{" in route.path or not route.methods:
            continue
        for method in route.methods:
            table[(method, route.path)] = route.app
    return table
