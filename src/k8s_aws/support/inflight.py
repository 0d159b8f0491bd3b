"""An in-flight guard: a second call for a key already being worked on is refused at once
(CSI ABORTED), instead of racing the first one against the same volume."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from contextlib import contextmanager


class Busy(Exception):
    """An operation for this key is already in flight."""

    def __init__(self, key: Hashable) -> None:
        super().__init__(f"an operation for {key} is already in progress")
        self.key = key


class InFlight:
    def __init__(self) -> None:
        self._keys: set[Hashable] = set()

    @contextmanager
    def hold(self, *keys: Hashable) -> Iterator[None]:
        """Hold every key for the block; Busy if any is held (single event loop: no lock)."""
        for key in keys:
            if key in self._keys:
                raise Busy(key)
        self._keys.update(keys)
        try:
            yield
        finally:
            self._keys.difference_update(keys)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._keys
