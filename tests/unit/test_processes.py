"""Pidfile supervision: `down` finds and stops what `up` started, even from a fresh process."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.processes import ProcessExited, ProcessGroup, ProcessSpec

SLEEPER = ProcessSpec("sleeper", (sys.executable, "-c", "import time; time.sleep(300)"))
# A process that ignores SIGTERM and spawns a child in its group: both must still go.
STUBBORN = ProcessSpec(
    "stubborn",
    (
        "sh", "-c",
        "trap '' TERM; sleep 300 & echo $! > \"$CHILD_PIDFILE\"; wait",
    ),
)


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_a_fresh_group_stops_what_another_started(tmp_path: Path) -> None:
    starter = ProcessGroup(tmp_path)
    pid = starter.start(SLEEPER)
    assert alive(pid)
    # As after a crash of `up`: only the directory is left to go by.
    stopped = ProcessGroup(tmp_path).stop_all(timeout=5)
    assert stopped == ["sleeper"]
    starter._reap(pid)
    assert not alive(pid)
    assert list((tmp_path / "pids").iterdir()) == []


def test_sigterm_ignoring_group_is_killed_with_its_children(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    child_pidfile = tmp_path / "child.pid"
    spec = ProcessSpec(STUBBORN.name, STUBBORN.argv, {"CHILD_PIDFILE": str(child_pidfile)})
    group = ProcessGroup(tmp_path)
    pid = group.start(spec)
    wait_until(lambda: child_pidfile.read_text().strip(), timeout=10, what="child pid")
    child = int(child_pidfile.read_text())
    group.stop_all(timeout=0.5)
    assert not alive(pid)
    wait_until(lambda: not alive(child), timeout=10, what="the child to die")


def test_a_pidfile_whose_pid_was_reused_is_not_signalled(tmp_path: Path) -> None:
    group = ProcessGroup(tmp_path)
    (tmp_path / "pids").mkdir()
    # Our own pid with a start time that is not ours: a stale pidfile after pid reuse.
    (tmp_path / "pids" / "00-stale.pid").write_text(f"{os.getpid()} 1\n")
    assert group.stop_all(timeout=1) == ["stale"]
    assert alive(os.getpid())


def test_processes_stop_newest_first(tmp_path: Path) -> None:
    group = ProcessGroup(tmp_path)
    group.start(ProcessSpec("first", SLEEPER.argv))
    group.start(ProcessSpec("second", SLEEPER.argv))
    assert group.stop_all(timeout=5) == ["second", "first"]


def test_check_alive_reports_the_log_tail_of_a_dead_process(tmp_path: Path) -> None:
    group = ProcessGroup(tmp_path)
    group.start(ProcessSpec("crasher", ("sh", "-c", "echo boom-reason; exit 3")))
    def died() -> bool:
        try:
            group.check_alive("crasher")
        except ProcessExited as exc:
            assert "boom-reason" in str(exc)
            return True
        return False

    wait_until(died, timeout=10, what="crasher to be reported dead")
    group.stop_all()
