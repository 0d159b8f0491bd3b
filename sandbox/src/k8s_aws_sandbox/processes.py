"""Start detached sandbox processes with pidfiles, and stop them again, even after a crash.

Every process gets its own session (so `down` can signal its whole group), a log file, and a
pidfile written the moment it is spawned, holding the pid and the kernel's start time of that
pid: a pidfile left by a crashed `up` never makes `down` signal an unrelated process that
reused the pid.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from k8s_aws_sandbox import procfs


class ProcessExited(RuntimeError):
    """A sandbox process died while we waited for it; the message has its log tail."""


@dataclass(frozen=True)
class ProcessSpec:
    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Pidfile:
    path: Path
    pid: int
    start_time: str

    @property
    def name(self) -> str:
        return self.path.stem.split("-", 1)[1]

    def alive(self) -> bool:
        return procfs.start_time(self.pid) == self.start_time and procfs.alive(self.pid)


class ProcessGroup:
    """The processes of one sandbox directory: `DIR/pids/NN-name.pid`, `DIR/logs/name.log`."""

    def __init__(self, root: Path) -> None:
        self.pid_dir = root / "pids"
        self.log_dir = root / "logs"
        self._children: dict[str, subprocess.Popen[bytes]] = {}

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def start(self, spec: ProcessSpec) -> int:
        self.pid_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(spec.env)
        with open(self.log_path(spec.name), "ab") as log:
            proc = subprocess.Popen(
                list(spec.argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        self._children[spec.name] = proc
        sequence = len(list(self.pid_dir.glob("*.pid")))
        start_time = procfs.start_time(proc.pid) or ""
        path = self.pid_dir / f"{sequence:02d}-{spec.name}.pid"
        path.write_text(f"{proc.pid} {start_time}\n")
        return proc.pid

    def pidfiles(self) -> list[Pidfile]:
        found = []
        for path in sorted(self.pid_dir.glob("*.pid")):
            try:
                pid_text, start_time = path.read_text().split()
            except (OSError, ValueError):
                continue
            found.append(Pidfile(path, int(pid_text), start_time))
        return found

    def find(self, name: str) -> Pidfile | None:
        return next((p for p in self.pidfiles() if p.name == name), None)

    def check_alive(self, name: str) -> None:
        """Raise with the log tail if `name` has exited (used while waiting for readiness)."""
        child = self._children.get(name)
        pidfile = self.find(name)
        dead = child.poll() is not None if child else not (pidfile and pidfile.alive())
        if dead:
            raise ProcessExited(f"{name} exited early; last log lines:\n{self.log_tail(name)}")

    def log_tail(self, name: str, lines: int = 20) -> str:
        try:
            text = self.log_path(name).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, pidfile: Pidfile, timeout: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL it after `timeout`, then drop the pidfile."""
        if pidfile.alive():
            _signal_group(pidfile.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while pidfile.alive() and time.monotonic() < deadline:
                self._reap(pidfile.pid)
                time.sleep(0.05)
            if pidfile.alive():
                _signal_group(pidfile.pid, signal.SIGKILL)
                while pidfile.alive():
                    self._reap(pidfile.pid)
                    time.sleep(0.05)
        self._reap(pidfile.pid)
        pidfile.path.unlink(missing_ok=True)

    def stop_all(self, timeout: float = 10.0) -> list[str]:
        """Stop every process, newest first (controllers before the API server they use)."""
        stopped = []
        for pidfile in reversed(self.pidfiles()):
            self.stop(pidfile, timeout)
            stopped.append(pidfile.name)
        return stopped

    def _reap(self, pid: int) -> None:
        for child in self._children.values():
            if child.pid == pid:
                child.poll()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, sig)
