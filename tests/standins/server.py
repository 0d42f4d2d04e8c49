"""Run an ASGI app with uvicorn on a free loopback port in a background thread."""

from __future__ import annotations

import threading
import time
from typing import Self

import uvicorn


class ThreadedServer:
    def __init__(self, app: object) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="off", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("stand-in server did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LoopbackStandIn:
    """Lifecycle shared by the stand-in API servers: `self.app` served on a loopback port."""

    app: object
    _server: ThreadedServer | None = None

    def start(self) -> Self:
        self._server = ThreadedServer(self.app).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return self._server.base_url
