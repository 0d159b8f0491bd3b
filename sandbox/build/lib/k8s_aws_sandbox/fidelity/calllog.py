"""Who called what, when, with which outcome: the evidence tests and benchmarks read.

Bounded (the oldest entries fall off), numbered (`seq`, so a reader can ask for what came
after the last entry it saw), and served as JSON lines.
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True, slots=True)
class CallRecord:
    seq: int
    time: float  # Unix time when the call arrived
    client: str
    service: str
    action: str
    mutating: bool
    status: int
    error: str | None  # AWS error code, None on success
    source: str  # who answered: "emulator", "fidelity" (a rule or a replay) or "fault"
    applied: bool  # the emulator carried out the call (what crash hooks count)
    duration_ms: float
    region: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


class CallLog:
    def __init__(self, size: int = 100_000) -> None:
        self._entries: deque[CallRecord] = deque(maxlen=size or None)
        self._seq = itertools.count(1)

    def next_seq(self) -> int:
        return next(self._seq)

    def resize(self, size: int) -> None:
        if self._entries.maxlen != (size or None):
            self._entries = deque(self._entries, maxlen=size or None)

    def add(self, record: CallRecord) -> None:
        self._entries.append(record)

    def select(self, client: str | None = None, since: int = 0) -> list[CallRecord]:
        return [
            r for r in self._entries
            if r.seq > since and (client is None or r.client == client)
        ]

    def clear(self) -> None:
        self._entries.clear()


def to_json_lines(records: Iterable[CallRecord]) -> str:
    return "".join(r.to_json() + "\n" for r in records)
