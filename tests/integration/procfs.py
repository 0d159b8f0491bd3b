"""What the kernel says about the sandbox's processes: liveness and listening sockets."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from k8s_aws.sandbox.processes import ProcessGroup


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _decode(address: str) -> tuple[str, int]:
    host_hex, port_hex = address.split(":")
    raw = bytes.fromhex(host_hex)
    if len(raw) == 4:
        host = str(ipaddress.IPv4Address(raw[::-1]))
    else:
        words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
        host = str(ipaddress.IPv6Address(words))
    return host, int(port_hex, 16)


def listening_sockets() -> dict[str, tuple[str, int]]:
    """inode -> (address, port) for every TCP socket in LISTEN state."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":
                found[fields[9]] = _decode(fields[1])
    return found


def sandbox_listeners(directory: Path) -> dict[str, list[tuple[str, int]]]:
    """process name -> the addresses it listens on."""
    listening = listening_sockets()
    result = {}
    for pidfile in ProcessGroup(directory).pidfiles():
        inodes = _socket_inodes(pidfile.pid)
        result[pidfile.name] = sorted(listening[i] for i in inodes if i in listening)
    return result


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_text().split("\0")
