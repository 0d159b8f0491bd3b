"""A shared/exclusive lock for asyncio tasks: many holders of the shared side at once, or one
of the exclusive side. A waiting exclusive holder keeps new shared holders out, so it is not
starved by a steady stream of them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class SharedExclusiveLock:
    def __init__(self) -> None:
        self._condition = asyncio.Condition()
        self._shared = 0
        self._exclusive = False
        self._exclusive_waiting = 0
        self._shared_waiting = 0

    @property
    def exclusive_waiting(self) -> int:
        return self._exclusive_waiting

    @property
    def shared_holders(self) -> int:
        return self._shared

    @property
    def shared_waiting(self) -> int:
        return self._shared_waiting

    @asynccontextmanager
    async def shared(self) -> AsyncIterator[None]:
        async with self._condition:
            self._shared_waiting += 1
            try:
                await self._condition.wait_for(
                    lambda: not self._exclusive and not self._exclusive_waiting)
            finally:
                self._shared_waiting -= 1
            self._shared += 1
        try:
            yield
        finally:
            async with self._condition:
                self._shared -= 1
                self._condition.notify_all()

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        async with self._condition:
            self._exclusive_waiting += 1
            try:
                await self._condition.wait_for(lambda: not self._exclusive and not self._shared)
            finally:
                self._exclusive_waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            async with self._condition:
                self._exclusive = False
                self._condition.notify_all()
