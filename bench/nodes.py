"""Node initialization at scale: `sandbox up --nodes N` until every node is initialized, and
the controller-manager's AWS calls per node (from its call log). One JSON line per N.

The sandbox's default shape is the BOSH release's: N workers plus the control VM, every Node
named `<BOSH instance id>.k8s` and found by the director's `id` tag. `--node-naming
private-dns` measures other installers' shape (N worker Nodes named by private DNS).

    .venv/bin/python bench/nodes.py [--node-naming bosh|private-dns] 10 100 [1000]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path


def log_times(log: Path) -> tuple[float | None, float | None, int]:
    """(caches synced, last node initialized, nodes initialized) from the JSON log."""
    synced = last = None
    count = 0
    for line in log.read_text().splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        stamp = datetime.strptime(entry["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()
        if entry["msg"].startswith("caches synced"):
            synced = stamp
        elif entry["msg"].startswith("initialized node"):
            last = stamp
            count += 1
    return synced, last, count


def rss_mb(directory: Path, name: str) -> float:
    # "NN-<name>.pid": a bare "*-controller-manager" glob also matches kube-controller-manager.
    pidfile = next(p for p in (directory / "pids").glob("*.pid") if p.stem.split("-", 1)[1] == name)
    pid = pidfile.read_text().split()[0]
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def run(nodes: int, naming: str) -> dict[str, object]:
    directory = Path(tempfile.mkdtemp(prefix=f"k8s-aws-bench-{nodes}-"))
    cli = [sys.executable, "-m", "k8s_aws.cli.main", "sandbox"]
    started = time.monotonic()
    up = subprocess.run(
        [*cli, "up", "--dir", str(directory), "--nodes", str(nodes), "--ready-timeout", "1800",
         "--node-naming", naming],
        capture_output=True, text=True, check=False,
    )
    up_seconds = time.monotonic() - started
    try:
        if up.returncode != 0:
            raise SystemExit(f"sandbox up failed: {up.stderr[-2000:]}")
        synced, last, initialized = log_times(directory / "logs" / "controller-manager.log")
        calls = [
            json.loads(line)
            for line in (directory / "calls" / "controller-manager.jsonl").read_text().splitlines()
        ]
        by_operation = Counter(c["operation"] for c in calls)
        return {
            "node_naming": naming,
            "workers": nodes,  # the BOSH shape's control VM is a Node too
            "up_to_all_initialized_s": round(up_seconds, 1),
            "controller_sync_to_last_init_s": round(last - synced, 2) if synced and last else None,
            "nodes_initialized": initialized,
            "aws_calls": len(calls),
            "aws_calls_per_node": round(len(calls) / max(initialized, 1), 4),
            "calls_by_operation": dict(by_operation),
            "controller_rss_mb": rss_mb(directory, "controller-manager"),
        }
    finally:
        subprocess.run([*cli, "down", "--dir", str(directory)], capture_output=True, check=False)


def main() -> None:
    args = sys.argv[1:]
    naming = "bosh"
    if args[:1] == ["--node-naming"]:
        naming, args = args[1], args[2:]
    for arg in args or ["10", "100"]:
        print(json.dumps(run(int(arg), naming)), flush=True)


if __name__ == "__main__":
    main()
