"""Who listens where, as the sandbox's readiness checks ask the kernel (Linux /proc)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from k8s_aws_sandbox import procfs

# Listens on argv[1], says its port, then holds the socket until its stdin closes.
LISTENER = """
import socket, sys
server = socket.socket(socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET)
server.bind((sys.argv[1], 0))
server.listen()
print(server.getsockname()[1], flush=True)
sys.stdin.read()
"""
# A session leader whose child does the listening.
LEADER = f"""
import subprocess, sys
subprocess.run([sys.executable, "-c", {LISTENER!r}, sys.argv[1]], check=True)
"""


@contextmanager
def running(script: str, host: str = "127.0.0.1", new_session: bool = False
            ) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    process = subprocess.Popen([sys.executable, "-c", script, host], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, start_new_session=new_session)
    try:
        assert process.stdout is not None
        yield process, int(process.stdout.readline())
    finally:
        process.communicate(timeout=30)  # closes stdin: the listener ends


def test_the_listening_process_is_told_apart_from_others() -> None:
    with running(LISTENER) as (process, port):
        assert ("127.0.0.1", port) in procfs.listening_addresses([process.pid])
        assert procfs.listens([process.pid], port)
        assert not procfs.listens([os.getpid()], port)  # answers, but not ours
        assert not procfs.listens([process.pid], port - 1)
        assert not procfs.listens([process.pid], port, host="127.0.0.2")


def test_a_session_includes_what_its_leader_started() -> None:
    with running(LEADER, new_session=True) as (leader, port):
        members = procfs.session_pids(leader.pid)
        assert leader.pid in members and len(members) == 2
        assert all(procfs.session_of(pid) == leader.pid for pid in members)
        assert not procfs.listens([leader.pid], port)  # the child holds the socket
        assert procfs.listens(members, port)
    assert procfs.session_pids(leader.pid) == []
    assert procfs.session_of(leader.pid) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_a_wildcard_listener_takes_loopback_connections(host: str) -> None:
    if host == "::" and not os.path.exists("/proc/net/tcp6"):
        pytest.skip("no IPv6")
    with running(LISTENER, host) as (process, port):
        assert procfs.listens([process.pid], port)
