"""Kill a named client's process right after its k-th mutating call, deterministically.

A crash test registers `{client, after_mutations: k, pid}`, runs a flow, and learns exactly
which call was the last one the process saw applied: the emulator carries the k-th mutation
out, sends SIGKILL, and only then writes the answer, which the killed process never reads.
Counting starts when the hook is registered; only calls the emulator applied count.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class CrashHook:
    id: int
    client: str
    after_mutations: int
    pid: int
    seen: int = 0
    fired: bool = False
    fired_at: float | None = None  # Unix time
    fired_on: str | None = None  # "service:Action" of the k-th mutation
    error: str | None = None  # why the kill failed, if it did
    calls: list[str] = field(default_factory=list)  # the mutations counted, in order

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


Killer = Callable[[int], None]


def sigkill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


class CrashHooks:
    def __init__(self, kill: Killer = sigkill) -> None:
        self._hooks: list[CrashHook] = []
        self._ids = itertools.count(1)
        self._kill = kill

    def add(self, client: str, after_mutations: int, pid: int) -> CrashHook:
        if after_mutations < 1:
            raise ValueError("after_mutations must be at least 1")
        if pid <= 1:
            raise ValueError("pid must name a process other than init")
        hook = CrashHook(id=next(self._ids), client=client, after_mutations=after_mutations,
                         pid=pid)
        self._hooks.append(hook)
        return hook

    def hooks(self) -> list[CrashHook]:
        return list(self._hooks)

    def clear(self) -> None:
        self._hooks.clear()

    def applied(self, client: str, operation: str) -> list[CrashHook]:
        """Count an applied mutation of `client`; kill where a hook's count is reached."""
        fired = []
        for hook in self._hooks:
            if hook.fired or hook.client != client:
                continue
            hook.seen += 1
            hook.calls.append(operation)
            if hook.seen < hook.after_mutations:
                continue
            hook.fired, hook.fired_at, hook.fired_on = True, time.time(), operation
            try:
                self._kill(hook.pid)
            except OSError as exc:
                hook.error = str(exc)
            fired.append(hook)
        return fired
