"""What the kernel says about the sandbox's processes: liveness and listening sockets.

The socket and session readings are the product's own (`k8s_aws_sandbox.procfs`, which the
sandbox's readiness checks use); what only the tests ask is here.
"""

from __future__ import annotations

from pathlib import Path

from k8s_aws_sandbox.processes import ProcessGroup
from k8s_aws_sandbox.procfs import alive, listening_addresses, session_pids

__all__ = ["alive", "cmdline", "sandbox_listeners", "session_listeners"]


def sandbox_listeners(directory: Path) -> dict[str, list[tuple[str, int]]]:
    """process name -> the addresses it listens on."""
    return {
        pidfile.name: sorted(listening_addresses([pidfile.pid]))
        for pidfile in ProcessGroup(directory).pidfiles()
    }


def session_listeners(sessions: set[int]) -> set[tuple[str, int]]:
    """Where any live process of these sessions listens (children and orphans included)."""
    return listening_addresses(pid for s in sessions for pid in session_pids(s))


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_text().split("\0")
