"""`status` and `down` of a sandbox, both working from its directory alone."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from k8s_aws_sandbox.loopdevices import DEVICES_DIR, LoopDevices
from k8s_aws_sandbox.processes import ProcessGroup
from k8s_aws_sandbox.state import STATE_FILE, SandboxState, ready_nodes


@dataclass(frozen=True)
class Status:
    """Healthy when every process runs and the API server answers; a NotReady node whose VM
    was stopped on purpose is the sandbox working, not failing."""

    processes: dict[str, bool]  # name -> alive
    ready_nodes: int | None  # None: the API server did not answer
    total_nodes: int

    @property
    def healthy(self) -> bool:
        return (
            bool(self.processes)
            and all(self.processes.values())
            and self.ready_nodes is not None
        )


def status(directory: Path) -> Status:
    group = ProcessGroup(directory)
    processes = {p.name: p.alive() for p in group.pidfiles()}
    state_path = directory / STATE_FILE
    if not state_path.exists():
        return Status(processes, None, 0)
    state = SandboxState.load(directory)
    try:
        ready, total = ready_nodes(state)
    except OSError:
        return Status(processes, None, 0)
    return Status(processes, len(ready), total)


def down(directory: Path) -> list[str]:
    """Stop every process the sandbox started (by pidfile), release its loop devices (found
    by backing file under its own directory) and drop its runtime state."""
    stopped = ProcessGroup(directory).stop_all()
    stopped += LoopDevices(directory / DEVICES_DIR).release_all()
    (directory / STATE_FILE).unlink(missing_ok=True)
    shutil.rmtree(directory / "etcd", ignore_errors=True)
    return stopped
