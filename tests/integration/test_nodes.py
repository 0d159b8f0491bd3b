"""One Node per VM that runs a kubelet, registered as an external-cloud-provider kubelet
registers, whose readiness follows the VM's state: in the BOSH release's shape (the default)
and in other installers' private-DNS shape."""

from __future__ import annotations

from typing import Any

from k8s_aws_sandbox.state import SandboxState

from .conftest import DNS_NODES, NODES, ec2_of, kubectl_json
from .vms import (
    launch_worker,
    node_name_of,
    node_named,
    private_dns,
    ready_status,
    wait_ready,
)

PROVIDED_NODE_IP = "alpha.kubernetes.io/provided-node-ip"
MASTER = "node-role.kubernetes.io/master"


def test_nodes_are_ready_and_named_after_private_dns(dns_sandbox: SandboxState) -> None:
    ec2 = ec2_of(dns_sandbox)
    expected = {private_dns(ec2, i) for i in dns_sandbox.world.worker_instances}
    assert len(expected) == DNS_NODES
    assert all(name.endswith(f".{dns_sandbox.region}.compute.internal") for name in expected)
    nodes = {n["metadata"]["name"]: n for n in kubectl_json(dns_sandbox, "get", "nodes")["items"]}
    assert expected <= nodes.keys()
    for name in expected:
        assert ready_status(nodes[name]) == "True"
        assert nodes[name]["metadata"]["annotations"][PROVIDED_NODE_IP]


def test_nodes_are_ready_and_named_like_the_bosh_release(sandbox: SandboxState, ec2: Any) -> None:
    """`<BOSH instance id>.k8s`, the control VM included, no node IP from the kubelet."""
    workers = {node_name_of(sandbox, ec2, i) for i in sandbox.world.worker_instances}
    control = node_name_of(sandbox, ec2, sandbox.world.control_instance)
    assert len(workers) == NODES
    nodes = {n["metadata"]["name"]: n for n in kubectl_json(sandbox, "get", "nodes")["items"]}
    assert workers | {control} <= nodes.keys()
    for name in workers | {control}:
        assert name.endswith(".k8s") and len(name) == 40
        assert ready_status(nodes[name]) == "True"
        assert PROVIDED_NODE_IP not in nodes[name]["metadata"]["annotations"]
        assert nodes[name]["metadata"]["labels"]["kubernetes.io/hostname"] == name
    assert nodes[control]["metadata"]["labels"][MASTER] == ""
    assert {"key": MASTER, "value": "true", "effect": "NoSchedule"} in nodes[control]["spec"][
        "taints"]
    assert all(MASTER not in nodes[name]["metadata"]["labels"] for name in workers)


def test_vms_carry_every_tag_the_bosh_director_writes(sandbox: SandboxState, ec2: Any) -> None:
    for instance_id in [sandbox.world.control_instance, *sandbox.world.worker_instances]:
        vm = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0][
            "Instances"][0]
        tags = {t["Key"]: t["Value"] for t in vm["Tags"]}
        assert {"director", "deployment", "instance_group", "job", "index", "id", "name",
                "created_at", "kubernetes.io/cluster/itest"} <= tags.keys()
        assert tags["name"] == f"{tags['instance_group']}/{tags['id']}"
        assert tags["deployment"] == "itest"


def test_a_new_vm_registers_its_node(any_sandbox: SandboxState) -> None:
    ec2 = ec2_of(any_sandbox)
    instance, name = launch_worker(any_sandbox, ec2)
    node = node_named(any_sandbox, name)
    assert node is not None
    annotations = node["metadata"]["annotations"]
    if any_sandbox.world.node_naming == "bosh":
        assert PROVIDED_NODE_IP not in annotations  # the release passes no --node-ip
    else:
        assert annotations[PROVIDED_NODE_IP]
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
