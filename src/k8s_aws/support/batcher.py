"""Merge concurrent single-key lookups into one batched call.

Lookups arriving within `idle` seconds of each other share a call, up to `max_size` keys and
`max_wait` seconds after the first; so 1000 nodes initializing at once cost a few
DescribeInstances calls instead of 1000.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

Fetch = Callable[[list[K]], Awaitable[Mapping[K, V]]]


class Batcher(Generic[K, V]):
    def __init__(
        self, fetch: Fetch[K, V], max_size: int = 500, idle: float = 0.1, max_wait: float = 1.0
    ) -> None:
        self._fetch = fetch
        self._max_size = max_size
        self._idle = idle
        self._max_wait = max_wait
        self._pending: dict[K, list[asyncio.Future[V | None]]] = {}
        self._timer: asyncio.Task[None] | None = None
        self._arrived = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def get(self, key: K) -> V | None:
        """The value for `key`, or None when the batch call did not return it."""
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(key, []).append(future)
        if len(self._pending) >= self._max_size:
            self._flush_now()
        elif self._timer is None:
            self._timer = asyncio.create_task(self._wait_and_flush())
        else:
            self._arrived.set()
        return await future

    async def _wait_and_flush(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_wait
        while True:
            self._arrived.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._arrived.wait(), min(self._idle, remaining))
            except TimeoutError:
                break
        self._timer = None
        self._flush_now()

    def _flush_now(self) -> None:
        if self._timer is not None and self._timer is not asyncio.current_task():
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, {}
        if batch:
            task = asyncio.create_task(self._resolve(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _resolve(self, batch: dict[K, list[asyncio.Future[V | None]]]) -> None:
        try:
            found = await self._fetch(list(batch))
        except Exception as exc:
            for futures in batch.values():
                for f in futures:
                    if not f.done():
                        f.set_exception(exc)
            return
        for key, futures in batch.items():
            for f in futures:
                if not f.done():
                    f.set_result(found.get(key))
