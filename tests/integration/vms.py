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


def recreate_vm(sandbox: SandboxState, ec2: Any, old_instance_id: str) -> tuple[str, str]:
    """What `bosh recreate` does to a VM with a static IP: the old instance is terminated
    and a new one comes up in the same subnet, with the same IP (hence the same Node name)
    and tags. Returns the new instance id and the name, once its Node is Ready."""
    old = ec2.describe_instances(InstanceIds=[old_instance_id])["Reservations"][0][
        "Instances"][0]
    ec2.terminate_instances(InstanceIds=[old_instance_id])
    wait_until(lambda: node_named(sandbox, old["PrivateDnsName"]) is None, timeout=60,
               what=f"node {old['PrivateDnsName']} of the terminated VM deleted")
    new = ec2.run_instances(
        ImageId=old["ImageId"], InstanceType=old["InstanceType"], MinCount=1, MaxCount=1,
        SubnetId=old["SubnetId"], PrivateIpAddress=old["PrivateIpAddress"],
        SecurityGroupIds=[g["GroupId"] for g in old["SecurityGroups"]],
        IamInstanceProfile={"Arn": old["IamInstanceProfile"]["Arn"]},
        MetadataOptions={"HttpTokens": "required", "HttpPutResponseHopLimit": 1},
        TagSpecifications=[{"ResourceType": "instance", "Tags": old["Tags"]}],
    )["Instances"][0]
    assert new["PrivateDnsName"] == old["PrivateDnsName"], "the emulator gave another address"
    wait_ready(sandbox, new["PrivateDnsName"], "True")
    return new["InstanceId"], new["PrivateDnsName"]
