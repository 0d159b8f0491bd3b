"""The relay into a loopback-only network namespace: relayed ports answer, nothing else is
reachable, and only loopback addresses are accepted."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.ports import LOOPBACK
from k8s_aws_sandbox.relay import Endpoint, RelayError, parse_pairs

RELAY = [sys.executable, "-m", "k8s_aws_sandbox.relay"]


def test_addresses_are_parsed_and_non_loopback_refused() -> None:
    [(listen, connect)] = parse_pairs(["unix:/tmp/x.sock=tcp:127.0.0.1:8080"])
    assert listen == Endpoint("unix", path="/tmp/x.sock")
    assert connect == Endpoint("tcp", host="127.0.0.1", port=8080)
    for bad in ("tcp:10.0.0.1:80=unix:/x", "unix:/x=tcp:127.0.0.1:http", "udp:1=unix:/x",
                "unix:/x"):
        with pytest.raises(RelayError):
            parse_pairs([bad])
    with pytest.raises(RelayError, match="only loopback"):
        parse_pairs(["tcp:169.254.169.254:80=unix:/x"])


@pytest.fixture
def web() -> Iterator[int]:
    class Hello(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"hello from the host")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield int(server.server_address[1])
    server.shutdown()


CHILD = """
import socket, sys, urllib.request
port = int(sys.argv[1])
print(urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5).read().decode())
try:
    socket.create_connection(("10.1.2.3", 80), timeout=2)
    print("reached the network")
except OSError as exc:
    print("unreachable", exc.errno)
"""


def test_a_namespace_reaches_relayed_ports_and_nothing_else(web: int, tmp_path: Path) -> None:
    socket_path = tmp_path / "web.sock"
    host_side = subprocess.Popen([*RELAY, f"unix:{socket_path}=tcp:127.0.0.1:{web}"])
    try:
        wait_until(socket_path.exists, timeout=10, what="the host-side relay")
        result = subprocess.run(
            ["unshare", "--net", "--", *RELAY, "--loopback-up",
             f"tcp:127.0.0.1:{web}=unix:{socket_path}", "--",
             sys.executable, "-c", CHILD, str(web)],
            capture_output=True, text=True, timeout=30, check=False,
        )
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert lines[0] == "hello from the host"
        assert lines[1].startswith("unreachable")
    finally:
        host_side.terminate()
        host_side.wait(timeout=10)
