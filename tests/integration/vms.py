"""Helpers for tests that launch, stop and terminate worker VMs and watch their Nodes."""

from __future__ import annotations

import itertools
from typing import Any

from k8s_aws.sandbox.state import SandboxState
from k8s_aws.sandbox.world import launch_vms
from k8s_aws.support.deadline import wait_until

from .conftest import kubectl_json

# BOSH indexes for VMs the tests launch, clear of the sandbox's own.
_next_index = itertools.count(100)


def ready_status(node: dict[str, Any]) -> str | None:
    for condition in node.get("status", {}).get("conditions", []):
        if condition["type"] == "Ready":
            return str(condition["status"])
    return None


def node_named(sandbox: SandboxState, name: str) -> dict[str, Any] | None:
    nodes = kubectl_json(sandbox, "get", "nodes")["items"]
    return next((n for n in nodes if n["metadata"]["name"] == name), None)


def taint_keys(node: dict[str, Any]) -> set[str]:
    return {t["key"] for t in node["spec"].get("taints") or []}


def private_dns(ec2: Any, instance_id: str) -> str:
    reservation = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]
    return str(reservation["Instances"][0]["PrivateDnsName"])


def launch_worker(sandbox: SandboxState, ec2: Any) -> tuple[str, str]:
    """A new worker VM: its kubelet registers a Node, which becomes Ready."""
    instance = launch_vms(ec2, sandbox.world, "worker", 1, next(_next_index))[0]
    name = private_dns(ec2, instance)
    wait_ready(sandbox, name, "True")
    return instance, name


def wait_ready(sandbox: SandboxState, name: str, status: str) -> None:
    wait_until(
        lambda: (n := node_named(sandbox, name)) is not None and ready_status(n) == status,
        timeout=60,
        what=f"node {name} Ready={status}",
    )
