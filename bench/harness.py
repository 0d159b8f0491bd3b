"""What the sandbox benchmarks share: one sandbox up and down, its kubectl, its call log,
our controller's RSS, a deadline wait and the scale flags (--services, --nodes, --join)."""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nodes

from k8s_aws_sandbox.state import SandboxState

SANDBOX = [sys.executable, "-m", "k8s_aws.cli.main", "sandbox"]


@contextlib.contextmanager
def sandbox(prefix: str, node_count: int, *flags: str,
            ready_timeout: int = 900) -> Iterator[SandboxState]:
    """A sandbox of `node_count` nodes in a fresh directory, always taken down after; a failed
    `up` stops the benchmark with the tail of its error output."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        up = subprocess.run([*SANDBOX, "up", "--dir", str(directory), "--nodes", str(node_count),
                             "--ready-timeout", str(ready_timeout), *flags],
                            capture_output=True, text=True, check=False)
        if up.returncode != 0:
            raise SystemExit(f"sandbox up failed: {up.stderr[-3000:]}")
        yield SandboxState.load(directory)
    finally:
        subprocess.run([*SANDBOX, "down", "--dir", str(directory)], capture_output=True,
                       check=False)


def scale_arguments(ports: bool = False) -> argparse.Namespace:
    """S Services over N nodes, then M more nodes joining (and P ports per Service)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--join", type=int, default=10)
    if ports:
        parser.add_argument("--ports", type=int, choices=(1, 2), default=2)
    return parser.parse_args()


def kubectl(state: SandboxState, *args: str, stdin: str | None = None) -> str:
    return subprocess.run([str(state.root / "bin" / "kubectl"), *args], input=stdin,
                          capture_output=True, text=True, check=True, timeout=300).stdout


def calls(state: SandboxState) -> list[dict[str, Any]]:
    log = state.root / "calls" / "controller-manager.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()]


def rss_mb(state: SandboxState) -> float:
    """Ours, not kube-controller-manager's (whose pid file also ends in -controller-manager)."""
    return nodes.rss_mb(state.root, "controller-manager")


def wait(condition: Any, timeout: float, what: str, interval: float = 0.5) -> float:
    """Seconds until `condition()` holds; TimeoutError past `timeout` (a bounded phase of
    bench/reference.py records it and goes on)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
    return time.monotonic() - started


def hostnames(state: SandboxState) -> int:
    """How many Services have a load balancer ingress in their status."""
    data = json.loads(kubectl(state, "get", "services", "-o", "json"))
    return sum(1 for s in data["items"]
               if (s.get("status", {}).get("loadBalancer", {}).get("ingress") or []))
