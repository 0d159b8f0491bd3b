"""One Node per worker VM, registered as an external-cloud-provider kubelet registers, whose
readiness follows the VM's state."""

from __future__ import annotations

from typing import Any

from k8s_aws.sandbox.state import SandboxState

from .conftest import NODES, kubectl_json
from .vms import launch_worker, node_named, private_dns, ready_status, wait_ready


def test_nodes_are_ready_and_named_after_private_dns(
    sandbox: SandboxState, ec2: Any
) -> None:
    expected = {private_dns(ec2, i) for i in sandbox.world.worker_instances}
    assert len(expected) == NODES
    assert all(name.endswith(f".{sandbox.region}.compute.internal") for name in expected)
    nodes = {n["metadata"]["name"]: n for n in kubectl_json(sandbox, "get", "nodes")["items"]}
    assert expected <= nodes.keys()
    for name in expected:
        assert ready_status(nodes[name]) == "True"


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
