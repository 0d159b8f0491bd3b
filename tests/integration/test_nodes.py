"""One Node per worker VM, registered as an external-cloud-provider kubelet registers, whose
readiness follows the VM's state."""

from __future__ import annotations

import itertools
from typing import Any

from k8s_aws.sandbox.state import SandboxState
from k8s_aws.sandbox.world import launch_vms
from k8s_aws.support.deadline import wait_until

from .conftest import NODES, kubectl_json

UNINITIALIZED = "node.cloudprovider.kubernetes.io/uninitialized"
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


def private_dns(ec2: Any, instance_id: str) -> str:
    reservation = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]
    return str(reservation["Instances"][0]["PrivateDnsName"])


def test_nodes_are_ready_uninitialized_and_named_after_private_dns(
    sandbox: SandboxState, ec2: Any
) -> None:
    expected = {private_dns(ec2, i) for i in sandbox.world.worker_instances}
    assert len(expected) == NODES
    assert all(name.endswith(f".{sandbox.region}.compute.internal") for name in expected)
    nodes = {n["metadata"]["name"]: n for n in kubectl_json(sandbox, "get", "nodes")["items"]}
    assert expected <= nodes.keys()
    for name in expected:
        node = nodes[name]
        assert ready_status(node) == "True"
        assert "providerID" not in node["spec"]
        assert {"key": UNINITIALIZED, "value": "true", "effect": "NoSchedule"} in node["spec"][
            "taints"
        ]


def launch_worker(sandbox: SandboxState, ec2: Any) -> tuple[str, str]:
    """A new worker VM: its kubelet registers a Node, which becomes Ready."""
    instance = launch_vms(ec2, sandbox.world, "worker", 1, next(_next_index))[0]
    name = private_dns(ec2, instance)
    wait_until(
        lambda: (n := node_named(sandbox, name)) is not None and ready_status(n) == "True",
        timeout=60,
        what=f"node {name} of new VM {instance} to register and be Ready",
    )
    return instance, name


def wait_ready(sandbox: SandboxState, name: str, status: str) -> None:
    wait_until(
        lambda: (n := node_named(sandbox, name)) is not None and ready_status(n) == status,
        timeout=60,
        what=f"node {name} Ready={status}",
    )


def test_a_new_vm_registers_its_node(sandbox: SandboxState, ec2: Any) -> None:
    instance, name = launch_worker(sandbox, ec2)
    node = node_named(sandbox, name)
    assert node is not None
    assert node["metadata"]["annotations"]["alpha.kubernetes.io/provided-node-ip"]
    ec2.terminate_instances(InstanceIds=[instance])


def test_stopping_a_vm_makes_its_node_not_ready_and_starting_it_ready_again(
    sandbox: SandboxState, ec2: Any
) -> None:
    instance, name = launch_worker(sandbox, ec2)
    ec2.stop_instances(InstanceIds=[instance])
    wait_ready(sandbox, name, "Unknown")
    ec2.start_instances(InstanceIds=[instance])
    wait_ready(sandbox, name, "True")
    ec2.terminate_instances(InstanceIds=[instance])


def test_terminating_a_vm_makes_its_node_not_ready(sandbox: SandboxState, ec2: Any) -> None:
    instance, name = launch_worker(sandbox, ec2)
    ec2.terminate_instances(InstanceIds=[instance])
    wait_ready(sandbox, name, "Unknown")
    node = node_named(sandbox, name)
    assert node is not None
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "NodeStatusUnknown"
