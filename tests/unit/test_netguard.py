import socket

import pytest

from k8s_aws.support import netguard


@pytest.mark.parametrize("host", ["169.254.169.254", "10.0.0.1", "192.0.2.1"])
def test_connection_outside_loopback_is_refused_and_recorded(host: str) -> None:
    with socket.socket() as sock, pytest.raises(netguard.NonLoopbackConnection):
        sock.connect((host, 80))
    assert netguard.violations == [f"{host}:80"]
    netguard.violations.clear()  # this test caused it on purpose


def test_loopback_connections_pass_the_guard() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=2):
            pass
    assert netguard.violations == []


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.5.5.5", True), ("::1", True), ("localhost", True),
     ("169.254.169.254", False), ("example.com", False), ("0.0.0.0", False)],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert netguard.is_loopback(host) is loopback
