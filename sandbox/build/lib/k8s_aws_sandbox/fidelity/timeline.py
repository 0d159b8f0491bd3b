"""Emulator time and the state changes scheduled on it.

A resource enters a transitional state when the call that starts it succeeds, and a
scheduled step moves it on once its delay has passed. Steps run, in due order, at the start
of the next request, so what a caller observes depends only on how much time has passed
since the calls it made: deterministic, with no background thread touching the emulator.
The clock can be moved forward (`advance`) so tests can use long delays and still not wait.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Step = Callable[[], None]
log = logging.getLogger(__name__)


class Clock:
    """Monotonic seconds, plus whatever the control API skipped ahead."""

    def __init__(self, source: Callable[[], float] = time.monotonic) -> None:
        self._source = source
        self._offset = 0.0

    def now(self) -> float:
        return self._source() + self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._offset += seconds
        return self.now()


@dataclass(order=True)
class _Entry:
    due: float
    seq: int
    step: Step = field(compare=False)
    what: str = field(compare=False)


class Timeline:
    """Steps to run at given times; `run_due` runs the ones whose time has come."""

    def __init__(self) -> None:
        self._heap: list[_Entry] = []
        self._seq = itertools.count()

    def at(self, due: float, step: Step, what: str = "") -> None:
        heapq.heappush(self._heap, _Entry(due, next(self._seq), step, what))

    def run_due(self, now: float) -> int:
        """Run every step due by `now`, earliest first (ties: scheduling order)."""
        ran = 0
        while self._heap and self._heap[0].due <= now:
            entry = heapq.heappop(self._heap)
            try:
                entry.step()
            except Exception:  # one broken step must not stall every later request
                log.exception("fidelity step %r failed", entry.what)
            ran += 1
        return ran

    def pending(self) -> list[tuple[float, str]]:
        return sorted((e.due, e.what) for e in self._heap)

    def clear(self) -> None:
        self._heap.clear()
