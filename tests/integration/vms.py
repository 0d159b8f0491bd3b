"""Helpers for tests that launch, stop and terminate worker VMs and watch their Nodes."""

from __future__ import annotations

import itertools
from typing import Any

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.state import SandboxState
from k8s_aws_sandbox.world import launch_vms

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


def expected_node_name(sandbox: SandboxState, vm: dict[str, Any]) -> str:
    """The Node name the sandbox's kubelet gives a VM (a DescribeInstances record)."""
    if sandbox.world.node_naming == "bosh":
        tags = {t["Key"]: t["Value"] for t in vm.get("Tags", [])}
        return f"{tags['id']}.k8s"
    return str(vm["PrivateDnsName"])


def node_name_of(sandbox: SandboxState, ec2: Any, instance_id: str) -> str:
    reservation = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]
    return expected_node_name(sandbox, reservation["Instances"][0])


def launch_worker(sandbox: SandboxState, ec2: Any) -> tuple[str, str]:
    """A new worker VM: its kubelet registers a Node, which becomes Ready."""
    instance = launch_vms(ec2, sandbox.world, "worker", 1, next(_next_index))[0]
    name = node_name_of(sandbox, ec2, instance)
    wait_ready(sandbox, name, "True")
    return instance, name


def next_index() -> int:
    return next(_next_index)


def wait_ready(sandbox: SandboxState, name: str, status: str) -> None:
    wait_until(
        lambda: (n := node_named(sandbox, name)) is not None and ready_status(n) == status,
        timeout=60,
        what=f"node {name} Ready={status}",
    )


def recreate_vm(sandbox: SandboxState, ec2: Any, old_instance_id: str) -> tuple[str, str]:
    """What `bosh recreate` does to a VM with a static IP: the old instance is terminated
    and a new one comes up in the same subnet, with the same IP and tags (hence the same
    Node name, private DNS or BOSH id). Returns the new instance id and the Node name, once
    its Node is Ready."""
    old = ec2.describe_instances(InstanceIds=[old_instance_id])["Reservations"][0][
        "Instances"][0]
    name = expected_node_name(sandbox, old)
    ec2.terminate_instances(InstanceIds=[old_instance_id])
    wait_until(lambda: node_named(sandbox, name) is None, timeout=60,
               what=f"node {name} of the terminated VM deleted")
    new = ec2.run_instances(
        ImageId=old["ImageId"], InstanceType=old["InstanceType"], MinCount=1, MaxCount=1,
        SubnetId=old["SubnetId"], PrivateIpAddress=old["PrivateIpAddress"],
        SecurityGroupIds=[g["GroupId"] for g in old["SecurityGroups"]],
        IamInstanceProfile={"Arn": old["IamInstanceProfile"]["Arn"]},
        MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
        TagSpecifications=[{"ResourceType": "instance", "Tags": old["Tags"]}],
    )["Instances"][0]
    assert new["PrivateDnsName"] == old["PrivateDnsName"], "the emulator gave another address"
    new_name = node_name_of(sandbox, ec2, new["InstanceId"])
    wait_ready(sandbox, new_name, "True")
    return new["InstanceId"], new_name
