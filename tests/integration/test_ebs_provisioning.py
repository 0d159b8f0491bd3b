"""A claim through the real sidecars, end to end: StorageClass + PVC + Pod -> the scheduler
picks a node -> csi-provisioner calls our CreateVolume in that node's zone -> the PV binds ->
KCM's attach-detach controller makes a VolumeAttachment -> csi-attacher calls our
ControllerPublish -> EBS attached to that node's instance. Then everything deleted, and a bad
StorageClass refused by name. Runs under IAM enforcement too: the sidecars reach AWS only
through our driver, which holds only the generated policy."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.kubelets import KUBELET_ANNOTATION
from k8s_aws_sandbox.state import SandboxState

from .conftest import ec2_of, kubectl, kubectl_json
from .ebs import (
    TIMEOUT,
    apply,
    attached,
    attachment_of,
    bound_pv,
    claim,
    csinode_instance,
    delete,
    events_for,
    get,
    pod,
    scheduled_node,
    storage_class,
    tags_of,
    volume_id,
)

GP3 = {"type": "gp3", "iops": "4000", "throughput": "200", "encrypted": "true"}


# The attach limit kubelet would read from NodeGetInfo: 27 shared, minus the root disk (and
# d3.8xlarge, 3 shared, for the VM test_ebs_nodes launches).
EXPECTED_LIMIT = {"m5.large": 26, "d3.8xlarge": 2}


@pytest.mark.once  # no AWS call of the product's
def test_sandbox_registers_the_driver_and_a_csinode_per_node(sandbox: SandboxState) -> None:
    driver = kubectl_json(sandbox, "get", "csidriver", "ebs.csi.aws.com")
    assert driver["spec"]["attachRequired"] is True
    running = {
        i["InstanceId"]: i for r in _instances(sandbox) for i in r["Instances"]
        if i["State"]["Name"] == "running"
    }
    # Nodes of running VMs (another test's terminated VM may still have its Node a moment).
    nodes = [n for n in kubectl_json(sandbox, "get", "nodes")["items"]
             if n["spec"].get("providerID", "").rsplit("/", 1)[-1] in running]
    assert len(nodes) >= 4  # the session's 3 workers and the control VM

    def registered() -> bool:
        names = {c["metadata"]["name"] for c in kubectl_json(sandbox, "get", "csinodes")["items"]}
        return all(n["metadata"]["name"] in names for n in nodes)

    wait_until(registered, timeout=60, what="a CSINode for every Node")
    for node in nodes:
        name = node["metadata"]["name"]
        csinode = kubectl_json(sandbox, "get", "csinode", name)
        (entry,) = csinode["spec"]["drivers"]
        assert entry["topologyKeys"] == ["topology.kubernetes.io/zone",
                                         "topology.ebs.csi.aws.com/zone"]
        instance = running[entry["nodeID"]]
        assert node["spec"]["providerID"].endswith("/" + entry["nodeID"])
        assert entry["allocatable"]["count"] == EXPECTED_LIMIT[instance["InstanceType"]]
        zone = instance["Placement"]["AvailabilityZone"]
        labels = kubectl_json(sandbox, "get", "node", name)["metadata"]["labels"]
        assert labels["topology.ebs.csi.aws.com/zone"] == zone
        assert labels["topology.kubernetes.io/zone"] == zone
        assert csinode["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]
        assert csinode["metadata"]["annotations"][
            "storage.alpha.kubernetes.io/migrated-plugins"] == "kubernetes.io/aws-ebs"


def _list_requests(sandbox: SandboxState, resource: str) -> float:
    """The API server's count of LIST requests for `resource`, from its own metrics."""
    total = 0.0
    for line in kubectl(sandbox, "get", "--raw", "/metrics").splitlines():
        if (line.startswith("apiserver_request_total{") and f'resource="{resource}"' in line
                and 'verb="LIST"' in line):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.mark.once  # no AWS call of the product's
def test_registered_nodes_cost_the_kubelets_no_csinode_list_per_sync(
    sandbox: SandboxState,
) -> None:
    """node-driver-registrar's work is done once per Node: once every Node has its CSINode,
    the stand-in kubelets' syncs (each lists the Nodes) list no CSINodes."""
    def every_running_node_registered() -> bool:
        return all(get(sandbox, "csinode", n["metadata"]["name"])
                   for n in kubectl_json(sandbox, "get", "nodes")["items"]
                   if n["metadata"].get("annotations", {}).get(KUBELET_ANNOTATION) != "stopped")

    wait_until(every_running_node_registered, timeout=60, what="a CSINode for every Node")
    nodes, csinodes = _list_requests(sandbox, "nodes"), _list_requests(sandbox, "csinodes")
    wait_until(lambda: _list_requests(sandbox, "nodes") >= nodes + 5, timeout=60,
               what="five more kubelet syncs")
    assert _list_requests(sandbox, "csinodes") == csinodes


def _instances(sandbox: SandboxState) -> list[Any]:
    return list(ec2_of(sandbox).describe_instances()["Reservations"])


def test_a_gp3_claim_gets_a_volume_attached_to_the_chosen_node_then_nothing_is_left(
    sandbox: SandboxState, ec2: Any
) -> None:
    apply(sandbox, storage_class("e2e-gp3", GP3),
          claim("e2e-data", "e2e-gp3", "10Gi"), pod("e2e-app", "e2e-data"))
    pv = bound_pv(sandbox, "e2e-data")
    node_name = scheduled_node(sandbox, "e2e-app")
    node = kubectl_json(sandbox, "get", "node", node_name)
    instance_id = csinode_instance(sandbox, node_name)
    assert node["spec"]["providerID"].endswith("/" + instance_id)
    attachment = attached(sandbox, pv["metadata"]["name"], node_name)
    assert attachment["spec"]["attacher"] == "ebs.csi.aws.com"

    (volume,) = ec2.describe_volumes(VolumeIds=[volume_id(pv)])["Volumes"]
    assert volume["AvailabilityZone"] == node["metadata"]["labels"]["topology.kubernetes.io/zone"]
    assert (volume["Size"], volume["VolumeType"]) == (10, "gp3")
    assert (volume["Iops"], volume["Throughput"], volume["Encrypted"]) == (4000, 200, True)
    assert [a["InstanceId"] for a in volume["Attachments"]] == [instance_id]
    assert volume["Attachments"][0]["State"] == "attached"
    tags = tags_of(volume)
    assert tags["CSIVolumeName"] == pv["metadata"]["name"]
    assert tags[f"kubernetes.io/cluster/{sandbox.cluster}"] == "owned"
    assert tags["kubernetes.io/created-for/pvc/name"] == "e2e-data"
    assert tags["kubernetes.io/created-for/pvc/namespace"] == "default"
    assert tags["kubernetes.io/created-for/pv/name"] == pv["metadata"]["name"]
    assert pv["spec"]["capacity"]["storage"] == "10Gi"
    assert pv["spec"]["csi"]["fsType"] == "ext4"

    delete(sandbox, "pod", "e2e-app")
    delete(sandbox, "pvc", "e2e-data")
    pv_name = pv["metadata"]["name"]

    def all_gone() -> bool:
        if get(sandbox, "pv", pv_name) or attachment_of(sandbox, pv_name):
            return False
        left = ec2.describe_volumes(
            Filters=[{"Name": "tag:CSIVolumeName", "Values": [pv_name]}])["Volumes"]
        return not left

    wait_until(all_gone, timeout=TIMEOUT, what="PV, VolumeAttachment and EBS volume deleted")


@pytest.mark.once  # refused before any AWS call
def test_a_bad_storage_class_is_refused_by_name_and_creates_nothing(
    sandbox: SandboxState, ec2: Any
) -> None:
    before = {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]}
    apply(sandbox,
          storage_class("e2e-gp9", {"type": "gp9"}, binding="Immediate"),
          storage_class("e2e-unknown", {"type": "gp3", "bogusKey": "1"}, binding="Immediate"),
          claim("e2e-gp9", "e2e-gp9", "1Gi"), claim("e2e-unknown", "e2e-unknown", "1Gi"))
    try:
        for name, key, allowed in (("e2e-gp9", "type", "gp3"),
                                   ("e2e-unknown", "bogusKey", "iops")):
            def refused(name: str = name) -> list[str] | None:
                messages = [e["message"] for e in events_for(sandbox, name)
                            if e["reason"] == "ProvisioningFailed" and e["type"] == "Warning"]
                return messages or None

            message = wait_until(refused, timeout=TIMEOUT, what=f"{name} ProvisioningFailed")[0]
            assert key in message and allowed in message, message
            assert get(sandbox, "pvc", name)["status"]["phase"] == "Pending"  # type: ignore[index]
        after = {v["VolumeId"] for v in ec2.describe_volumes()["Volumes"]}
        assert after == before
    finally:
        delete(sandbox, "pvc", "e2e-gp9", "e2e-unknown")
