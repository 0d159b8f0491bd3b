"""Classic ELBs at scale: S Services over N kwok nodes, then M more nodes. Time to all
hostnames, to every joining node registered everywhere, AWS calls by operation (from the
controller-manager's call log) and controller RSS. One JSON line.

    .venv/bin/python bench/services.py [--services 100] [--nodes 50] [--join 10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import nodes

from k8s_aws.sandbox.state import SandboxState
from k8s_aws.sandbox.world import launch_vms


def kubectl(state: SandboxState, *args: str, stdin: str | None = None) -> str:
    return subprocess.run([str(state.root / "bin" / "kubectl"), *args], input=stdin,
                          capture_output=True, text=True, check=True).stdout


def calls(state: SandboxState) -> list[dict[str, Any]]:
    log = state.root / "calls" / "controller-manager.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()]


def rss_mb(state: SandboxState) -> float:
    """Ours, not kube-controller-manager's (whose pid file also ends in -controller-manager)."""
    return nodes.rss_mb(state.root, "controller-manager")


def wait(condition: Any, timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.5)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=50)
    parser.add_argument("--join", type=int, default=10)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="k8s-aws-bench-lb-"))
    cli = [sys.executable, "-m", "k8s_aws.cli.main", "sandbox"]
    subprocess.run([*cli, "up", "--dir", str(directory), "--nodes", str(args.nodes),
                    "--ready-timeout", "900"], check=True, capture_output=True)
    state = SandboxState.load(directory)
    try:
        items = [{"apiVersion": "v1", "kind": "Service",
                  "metadata": {"name": f"svc-{i}", "namespace": "default"},
                  "spec": {"type": "LoadBalancer", "selector": {"app": f"svc-{i}"},
                           "ports": [{"port": 80, "targetPort": 8080}]}}
                 for i in range(args.services)]
        before = len(calls(state))
        kubectl(state, "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List",
                                                            "items": items}))

        def hostnames() -> int:
            data = json.loads(kubectl(state, "get", "services", "-o", "json"))
            return sum(1 for s in data["items"]
                       if (s.get("status", {}).get("loadBalancer", {}).get("ingress") or []))

        to_hostnames = wait(lambda: hostnames() >= args.services, 1800, "hostnames")
        create_calls = calls(state)[before:]
        session = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench",
                                        region_name=state.region)
        ec2 = session.client("ec2", endpoint_url=state.emulator_url)
        elb = session.client("elb", endpoint_url=state.emulator_url)
        before = len(calls(state))
        launch_vms(ec2, state.world, "worker", args.join, 10_000)
        total = args.nodes + args.join

        def all_registered() -> bool:
            pages = elb.get_paginator("describe_load_balancers").paginate()
            lbs = [d for p in pages for d in p["LoadBalancerDescriptions"]]
            return len(lbs) >= args.services and all(len(d["Instances"]) >= total for d in lbs)

        to_registered = wait(all_registered, 1800, "joining nodes registered")
        join_calls = calls(state)[before:]
        print(json.dumps({
            "services": args.services, "nodes": args.nodes, "joined": args.join,
            "to_all_hostnames_s": round(to_hostnames, 1),
            "create_calls": len(create_calls),
            "create_calls_per_service": round(len(create_calls) / args.services, 2),
            "create_calls_by_operation": dict(Counter(c["operation"] for c in create_calls)),
            "join_to_registered_everywhere_s": round(to_registered, 1),
            "join_calls_by_operation": dict(Counter(c["operation"] for c in join_calls)),
            "controller_rss_mb": rss_mb(state),
        }))
    finally:
        subprocess.run([*cli, "down", "--dir", str(directory)], capture_output=True, check=False)


if __name__ == "__main__":
    main()
