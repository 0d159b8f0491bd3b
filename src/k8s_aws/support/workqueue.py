"""A rate-limited work queue with per-key dedupe, in the manner of client-go's.

A key is queued at most once; a key being processed that is added again is re-queued when
its worker calls `done`, so two workers never hold the same key. Failed keys come back with
per-key exponential back-off, bounded overall by a token bucket, so an AWS outage does not
turn into a call storm.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class ShutDown(Exception):
    """The queue was shut down; workers should exit."""


class TokenBucket:
    """`qps` tokens per second, at most `burst` saved up; `reserve` says how long to wait."""

    def __init__(
        self, qps: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._qps = qps
        self._burst = burst
        self._tokens = float(burst)
        self._clock = clock
        self._last = clock()

    def reserve(self) -> float:
        now = self._clock()
        self._tokens = min(float(self._burst), self._tokens + (now - self._last) * self._qps)
        self._last = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens / self._qps


class WorkQueue(Generic[K]):
    def __init__(
        self,
        base_delay: float = 0.05,
        max_delay: float = 300.0,
        qps: float = 10.0,
        burst: int = 100,
    ) -> None:
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._failures: dict[K, int] = {}
        self._delayed: dict[K, asyncio.TimerHandle] = {}
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._bucket = TokenBucket(qps, burst)
        self._wakeup = asyncio.Event()
        self._shut_down = False

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: K) -> None:
        if self._shut_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._wakeup.set()

    def add_after(self, key: K, delay: float) -> None:
        """Queue `key` after `delay` seconds; an earlier pending delay for it wins."""
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        existing = self._delayed.get(key)
        if existing is not None and existing.when() <= loop.time() + delay:
            return
        if existing is not None:
            existing.cancel()
        self._delayed[key] = loop.call_later(delay, self._fire_delayed, key)

    def _fire_delayed(self, key: K) -> None:
        self._delayed.pop(key, None)
        self.add(key)

    def backoff(self, key: K) -> float:
        """The delay `add_rate_limited` would use next for `key`."""
        failures = self._failures.get(key, 0)
        return min(self._max_delay, self._base_delay * float(2**failures))

    def add_rate_limited(self, key: K) -> float:
        delay = max(self.backoff(key), self._bucket.reserve())
        self._failures[key] = self._failures.get(key, 0) + 1
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def failures(self, key: K) -> int:
        return self._failures.get(key, 0)

    async def get(self) -> K:
        while not self._queue:
            if self._shut_down:
                raise ShutDown
            self._wakeup.clear()
            await self._wakeup.wait()
        key = self._queue.popleft()
        self._dirty.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wakeup.set()

    def shut_down(self) -> None:
        self._shut_down = True
        for handle in self._delayed.values():
            handle.cancel()
        self._delayed.clear()
        self._wakeup.set()
