"""Merge requests for one key that arrive within a short window into one execution.

EBS allows few modifications per volume per window (one per 6 hours classically), so an
expansion and a type/IOPS change arriving together must become one ModifyVolume. Every
caller of a merged batch gets the same result (or error); a request that cannot merge with
the pending one fails alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
R = TypeVar("R")
T = TypeVar("T")


@dataclass
class _Pending(Generic[R, T]):
    request: R
    future: asyncio.Future[T]


class Coalescer(Generic[K, R, T]):
    def __init__(self, merge: Callable[[R, R], R], execute: Callable[[K, R], Awaitable[T]],
                 window: float = 2.0) -> None:
        self._merge = merge
        self._execute = execute
        self._window = window
        self._pending: dict[K, _Pending[R, T]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, key: K, request: R) -> T:
        pending = self._pending.get(key)
        if pending is not None:
            pending.request = self._merge(pending.request, request)
        else:
            future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
            pending = self._pending[key] = _Pending(request, future)
            task = asyncio.create_task(self._run(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(pending.future)

    async def _run(self, key: K) -> None:
        await asyncio.sleep(self._window)
        pending = self._pending.pop(key)
        try:
            result = await self._execute(key, pending.request)
        except Exception as exc:
            pending.future.set_exception(exc)
        else:
            pending.future.set_result(result)
        # Nobody awaiting (all callers cancelled) must not log "exception never retrieved".
        if pending.future.done() and not pending.future.cancelled():
            pending.future.exception()
