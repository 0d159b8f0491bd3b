"""Refuse every connection to an address outside 127.0.0.0/8 (169.254.169.254 included).

Installed in the test session and, when K8S_AWS_LOOPBACK_ONLY=1, in every Python process the
sandbox starts: a misconfigured endpoint fails loudly instead of reaching the network.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from typing import Any

ENV_FLAG = "K8S_AWS_LOOPBACK_ONLY"

violations: list[str] = []
_state = {"installed": False}


class NonLoopbackConnection(ConnectionRefusedError):
    """Raised in place of a connection to a non-loopback address."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "socket.connect":
        return
    sock, address = args
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = str(address[0])
    if not is_loopback(host):
        target = f"{host}:{address[1]}"
        violations.append(target)
        raise NonLoopbackConnection(f"connection to non-loopback address {target} refused")


def install() -> None:
    """Install the audit hook once per process (audit hooks cannot be removed)."""
    if not _state["installed"]:
        sys.addaudithook(_audit)
        _state["installed"] = True


def install_if_requested() -> None:
    if os.environ.get(ENV_FLAG) == "1":
        install()
