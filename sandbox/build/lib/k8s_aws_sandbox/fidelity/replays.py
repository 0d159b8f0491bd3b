"""Idempotent creates: the same request again gets the first answer, different settings an error.

AWS remembers an EC2 ClientToken with the request it came with (even once the volume is
deleted), and treats an ELBv2 create with an existing name (or listener port) and the same
settings as a repeat of the first.
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

from k8s_aws_sandbox.fidelity.responses import Reply

_ALWAYS_IGNORED = ("Action", "Version", "ClientToken")


def fingerprint(params: Mapping[str, str], ignore_prefixes: tuple[str, ...] = ()) -> str:
    """The request's settings, order-independent, without the fields that do not count."""
    kept = {
        k: v for k, v in params.items()
        if k not in _ALWAYS_IGNORED and not k.startswith(ignore_prefixes)
    }
    return json.dumps(sorted(kept.items()))


@dataclass(frozen=True)
class Record:
    fingerprint: str
    reply: Reply
    resource: str  # id or ARN of what the first request created


class Replays:
    def __init__(self) -> None:
        self._records: dict[Hashable, Record] = {}

    def get(self, key: Hashable) -> Record | None:
        return self._records.get(key)

    def forget(self, key: Hashable) -> None:
        self._records.pop(key, None)

    def remember(self, key: Hashable, record: Record) -> None:
        self._records[key] = record

    def clear(self) -> None:
        self._records.clear()
