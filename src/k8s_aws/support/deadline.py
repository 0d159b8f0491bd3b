"""Wait for a condition with a deadline instead of sleeping a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
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
