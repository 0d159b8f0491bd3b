"""Wait for a condition with a deadline instead of sleeping a fixed time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class DeadlineExceeded(TimeoutError):
    """The condition did not hold before the deadline; the message says what was awaited."""


def wait_until(
    condition: Callable[[], T | None],
    *,
    timeout: float,
    what: str,
    interval: float = 0.1,
    max_interval: float = 1.0,
) -> T:
    """Poll `condition` until it returns a truthy value, backing off up to `max_interval`.

    Exceptions from `condition` count as "not yet" (a server still starting refuses
    connections); the last one is named in the timeout error.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise DeadlineExceeded(f"timed out after {timeout:.0f}s waiting for {what}{detail}")
        time.sleep(interval)
        interval = min(interval * 1.5, max_interval)


async def poll_until(
    fetch: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    *,
    timeout: float,
    what: str,
    interval: float = 0.25,
    max_interval: float = 2.0,
    first_wait: float = 0.0,
) -> T:
    """Await `fetch()` until `done(value)`, backing off; DeadlineExceeded names `what`.
    `first_wait`: the caller has just read (or changed) the state, so asking again at once
    would only cost a call."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    if first_wait:
        await asyncio.sleep(min(first_wait, timeout))
    while True:
        value = await fetch()
        if done(value):
            return value
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise DeadlineExceeded(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(min(interval, remaining))
        interval = min(interval * 1.5, max_interval)
