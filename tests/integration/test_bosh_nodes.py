"""The BOSH release's cluster as it runs with `cloud-provider.type: external`: Nodes named
`<BOSH instance id>.k8s` with no providerID and no addresses, found by the director's `id`
tag in batches, the control VM's Node labelled and tainted as the release does, the
release's delete-and-re-register on a kubelet restart survived, and a mistaken duplicate
`id` tag refused with a Warning."""

from __future__ import annotations

import uuid
from typing import Any

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.kubelets import RESTART_ANNOTATION
from k8s_aws_sandbox.state import SandboxState
from k8s_aws_sandbox.world import launch_vms

from .conftest import kubectl, kubectl_json
from .test_node_controllers import UNINITIALIZED, aws_calls, wait_initialized
from .vms import next_index, node_name_of, node_named, taint_keys

MASTER = "node-role.kubernetes.io/master"


def node_events(sandbox: SandboxState, name: str) -> list[dict[str, Any]]:
    return list(kubectl_json(sandbox, "get", "events", "-n", "default",
                             "--field-selector", f"involvedObject.name={name}")["items"])


def start_kubelets(ec2: Any, instance_ids: list[str]) -> None:
    """One tag change makes staged VMs workers: the kubelets see them all in one sync."""
    ec2.create_tags(Resources=instance_ids, Tags=[{"Key": "instance_group", "Value": "worker"}])


def test_a_batch_of_bosh_named_nodes_is_initialized_with_one_lookup_call(
    sandbox: SandboxState, ec2: Any
) -> None:
    count = 12
    staged = launch_vms(ec2, sandbox.world, "staging", count, next_index())
    names = {node_name_of(sandbox, ec2, i): i for i in staged}
    calls_before = len(aws_calls(sandbox))
    start_kubelets(ec2, staged)
    for name, instance_id in names.items():
        node = wait_initialized(sandbox, name)
        vm = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0][
            "Instances"][0]
        assert node["spec"]["providerID"] == (
            f"aws:///{vm['Placement']['AvailabilityZone']}/{instance_id}")
        assert node["metadata"]["labels"]["node.kubernetes.io/instance-type"] == "m5.large"
        assert [(a["type"], a["address"]) for a in node["status"]["addresses"]] == [
            ("InternalIP", vm["PrivateIpAddress"]),
            ("InternalDNS", vm["PrivateDnsName"]),
            ("Hostname", name),
        ]
        assert UNINITIALIZED not in taint_keys(node)
    describes = [c for c in aws_calls(sandbox)[calls_before:]
                 if c["operation"] == "DescribeInstances"]
    # Initialization finds them by their `id` tags in one call (the exact count per lookup
    # method is asserted in tests/unit/test_node_matching.py); the lifecycle controller also
    # reads the not-yet-Ready ones each monitor period, more often on a loaded machine. The
    # call log does not say which controller called, so this holds the whole to less than
    # one call per node.
    assert 1 <= len(describes) < count, describes
    ec2.terminate_instances(InstanceIds=staged)


def test_the_control_node_is_initialized_and_keeps_the_releases_master_role(
    sandbox: SandboxState, ec2: Any
) -> None:
    name = node_name_of(sandbox, ec2, sandbox.world.control_instance)
    node = wait_initialized(sandbox, name)
    assert node["spec"]["providerID"].endswith("/" + sandbox.world.control_instance)
    assert node["metadata"]["labels"][MASTER] == ""
    assert {"key": MASTER, "value": "true", "effect": "NoSchedule"} in node["spec"]["taints"]
    assert UNINITIALIZED not in taint_keys(node)


def test_a_node_deleted_and_registered_again_by_its_kubelet_is_initialized_again(
    sandbox: SandboxState, ec2: Any
) -> None:
    (instance_id,) = launch_vms(ec2, sandbox.world, "worker", 1, next_index())
    name = node_name_of(sandbox, ec2, instance_id)
    first = wait_initialized(sandbox, name)
    # The release's bin/kubelet on restart: the providerID is not the empty one it
    # computes, so it deletes the Node; the kubelet registers it again, uninitialized.
    kubectl(sandbox, "annotate", "node", name, f"{RESTART_ANNOTATION}=now")
    wait_until(lambda: (n := node_named(sandbox, name)) is None
               or n["metadata"]["uid"] != first["metadata"]["uid"],
               timeout=30, what=f"node {name} deleted by its kubelet")
    registered = wait_until(lambda: node_named(sandbox, name), timeout=30,
                            what=f"node {name} registered again")
    # Well inside the 30 s a refused lookup would wait before its retry (docs/bosh.md has
    # the time measured on a quiet machine: about 2 s from the delete).
    again = wait_until(lambda: (n := node_named(sandbox, name)) is not None
                       and n["spec"].get("providerID") and UNINITIALIZED not in taint_keys(n)
                       and n, timeout=25, what=f"node {name} initialized again")
    assert again["metadata"]["uid"] != first["metadata"]["uid"]
    assert again["metadata"]["uid"] == registered["metadata"]["uid"]
    assert again["spec"]["providerID"] == first["spec"]["providerID"]
    ec2.terminate_instances(InstanceIds=[instance_id])


def test_two_vms_sharing_an_id_tag_get_a_warning_and_no_change(
    sandbox: SandboxState, ec2: Any
) -> None:
    shared = str(uuid.uuid4())
    name = f"{shared}.k8s"
    # A VM with no kubelet carrying the same `id` tag, then the real worker.
    (impostor,) = launch_vms(ec2, sandbox.world, "staging", 1, next_index(), vm_id=shared)
    (worker,) = launch_vms(ec2, sandbox.world, "worker", 1, next_index(), vm_id=shared)

    def warned() -> dict[str, Any] | None:
        return next((e for e in node_events(sandbox, name)
                     if e["reason"] == "AmbiguousInstance"), None)

    event = wait_until(warned, timeout=60, what=f"an AmbiguousInstance Warning on {name}")
    assert event["type"] == "Warning"
    assert impostor in event["message"] and worker in event["message"]
    assert f"tag id={shared}" in event["message"]
    node = node_named(sandbox, name)
    assert node is not None and not node["spec"].get("providerID")
    assert UNINITIALIZED in taint_keys(node) and not node["status"].get("addresses")
    # Once the mistake is gone, the next retry initializes the Node from the one left.
    ec2.terminate_instances(InstanceIds=[impostor])
    node = wait_initialized(sandbox, name)
    assert node["spec"]["providerID"].endswith("/" + worker)
    ec2.terminate_instances(InstanceIds=[worker])
