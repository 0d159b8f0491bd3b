"""Which process listens on which TCP port, from Linux's /proc.

Ports are chosen free (the OS picks one, we release it) and bound later by the server we
start, so another run on the machine can take one in between. "Something answers on the
port" then proves nothing; readiness asks the kernel whether a process we started (or one of
its session) holds the listening socket.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from pathlib import Path

from k8s_aws_sandbox.ports import LOOPBACK

Address = tuple[str, int]


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from field 3 (state) on; None if the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses; it ends at the last ")".
    return stat[stat.rindex(")") + 2 :].split()


def alive(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def start_time(pid: int) -> str | None:
    """Field 22 of its stat: tells this incarnation of a pid from a later one reusing it."""
    fields = _stat_fields(pid)
    return fields[19] if fields else None


def session_of(pid: int) -> int | None:
    """The session id of `pid` (field 6 of its stat), None if it is gone."""
    fields = _stat_fields(pid)
    return int(fields[3]) if fields else None


def session_pids(session: int) -> list[int]:
    """Every live process of `session` (a process started in a new session: its own pid)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = _stat_fields(int(entry))
            if fields and fields[0] != "Z" and int(fields[3]) == session:
                found.append(int(entry))
    return found


def socket_inodes(pid: int) -> set[str]:
    """Inodes of the sockets `pid` holds open (empty if it is gone or not ours to read)."""
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


def _decode(address: str) -> Address:
    host_hex, port_hex = address.split(":")
    raw = bytes.fromhex(host_hex)
    if len(raw) == 4:
        host = str(ipaddress.IPv4Address(raw[::-1]))
    else:
        words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
        host = str(ipaddress.IPv6Address(words))
    return host, int(port_hex, 16)


def listening_sockets() -> dict[str, Address]:
    """inode -> (address, port) for every TCP socket in LISTEN state."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":
                found[fields[9]] = _decode(fields[1])
    return found


def listening_addresses(pids: Iterable[int]) -> set[Address]:
    """Where the processes `pids` listen."""
    listening = listening_sockets()
    return {listening[i] for pid in pids for i in socket_inodes(pid) if i in listening}


def _reaches(bound: str, host: str) -> bool:
    """Whether a socket bound to `bound` takes connections made to `host`."""
    address = ipaddress.ip_address(bound)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_unspecified or address == ipaddress.ip_address(host)


def listens(pids: Iterable[int], port: int, host: str = LOOPBACK) -> bool:
    """Whether one of `pids` holds the listening socket that connections to host:port reach.

    While it does, the kernel lets no other process listen there (we set no SO_REUSEPORT),
    so whatever answers on host:port is ours.
    """
    return any(p == port and _reaches(a, host) for a, p in listening_addresses(pids))


def session_listens(session: int, port: int) -> bool:
    """Whether a process of `session` (a server started as a session leader, or one of its
    children) holds the listening socket on `port`: readiness of a server we started."""
    return listens(session_pids(session), port)
