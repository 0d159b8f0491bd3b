"""Many waits on many keys, one fetch per tick.

Each wait names a key, a `done` test, when to look first and how late that look may come
(`slack`). A single task sleeps until the first wait's latest acceptable time (due + slack,
so waits due close together share the tick), then fetches
*every* key still awaited in one call: a wait that turns out done resolves early, even before
its own due time; a due one that is not done is looked at again with back-off. So a fleet
of volumes being created and attached costs about one call per tick, not one per volume.

`Ewma` learns how long a kind of wait usually takes, so the first look can be scheduled for
the expected completion instead of a fixed guess.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from k8s_aws.support.deadline import DeadlineExceeded

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Fetch = Callable[[list[K]], Awaitable[Mapping[K, V]]]


class Ewma:
    """An exponentially weighted mean of observed durations, clamped to [floor, cap]."""

    def __init__(self, initial: float, floor: float, cap: float, weight: float = 0.3) -> None:
        self._value = initial
        self._floor = floor
        self._cap = cap
        self._weight = weight

    @property
    def value(self) -> float:
        return min(self._cap, max(self._floor, self._value))

    def observe(self, seconds: float) -> None:
        self._value += self._weight * (seconds - self._value)
        self._value = min(self._cap, max(self._floor, self._value))


# Seen done at its first look, a wait is taken to have ended this share of its due time
# before: the learned time creeps down by ~1.5% a wait until a look comes too early.
PROBE = 0.95


def completion_estimate(seen: float, first_wait: float, last_miss: float | None) -> float:
    """When a wait's condition most likely came true (seconds from its start): between the
    last look that saw it not done and the look (`seen`) that saw it done. Seen done without
    a miss, a little before the look was *due* (never its actual, later time: that would
    only ever grow the estimate), so the estimate drifts down until a look comes too early."""
    if last_miss is None:
        return PROBE * min(seen, first_wait)
    return (last_miss + seen) / 2


@dataclass(eq=False)
class _Waiter(Generic[K, V]):
    key: K
    done: Callable[[V | None], bool]
    future: asyncio.Future[V | None]
    started: float
    due: float
    interval: float
    deadline: float
    what: str
    timeout: float
    slack: float
    first_wait: float
    last_miss: float | None = field(default=None)
    seen: float = field(default=0.0)


class SharedPoller(Generic[K, V]):
    def __init__(self, fetch: Fetch[K, V], *, lag: float = 0.1, interval: float = 0.25,
                 max_interval: float = 2.0, max_keys: int = 500) -> None:
        self._fetch = fetch
        self._lag = lag
        self._interval = interval
        self._max_interval = max_interval
        self._max_keys = max_keys
        self._waiters: list[_Waiter[K, V]] = []
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.ticks = 0  # fetches made (for tests and metrics)

    async def wait(self, key: K, done: Callable[[V | None], bool], *, first_wait: float,
                   timeout: float, what: str, slack: float | None = None,
                   learned: Callable[[float], None] | None = None) -> V | None:
        """The value once `done(value)` (None: the fetch did not return the key); first looked
        at `first_wait` seconds from now; DeadlineExceeded names `what` after `timeout`.
        `slack`: how long after its due time the look may come (default: the poller's lag).
        `learned` receives the estimated time the condition took to come true."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        waiter: _Waiter[K, V] = _Waiter(
            key, done, loop.create_future(), now, now + min(max(first_wait, 0.0), timeout),
            self._interval, now + timeout, what, timeout,
            self._lag if slack is None else slack, min(max(first_wait, 0.0), timeout))
        self._waiters.append(waiter)
        self._wake()
        try:
            value = await waiter.future
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        if learned is not None:
            learned(completion_estimate(waiter.seen, waiter.first_wait, waiter.last_miss))
        return value

    def _wake(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        else:
            self._changed.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._waiters:
            tick_at = min(w.due + w.slack for w in self._waiters)
            wait = tick_at - loop.time()
            if wait > 0:
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), wait)
                continue  # look again: a new wait may be due sooner
            await self._tick(loop.time())

    async def _tick(self, now: float) -> None:
        waiters = sorted(self._waiters, key=lambda w: w.due)
        keys = list(dict.fromkeys(w.key for w in waiters))[:self._max_keys]
        polled = [w for w in waiters if w.key in set(keys)]
        self.ticks += 1
        try:
            found = await self._fetch(keys)
        except Exception as exc:
            # Those due get the error (as a poll of their own would); the others wait on.
            for w in polled:
                if w.due <= now and not w.future.done():
                    w.future.set_exception(exc)
                    self._waiters.remove(w)
            return
        seen = asyncio.get_running_loop().time()
        for w in polled:
            if w.future.done():
                continue
            value = found.get(w.key)
            if w.done(value):
                w.seen = now - w.started  # the state was read at about the tick's start
                w.future.set_result(value)
                self._waiters.remove(w)
                continue
            w.last_miss = now - w.started
            if w.due > now:
                continue  # looked at early for free; its own time stays
            if seen >= w.deadline:
                w.future.set_exception(DeadlineExceeded(
                    f"timed out after {w.timeout:.0f}s waiting for {w.what}"))
                self._waiters.remove(w)
                continue
            w.due = min(seen + w.interval, w.deadline)
            w.interval = min(w.interval * 1.5, self._max_interval)
