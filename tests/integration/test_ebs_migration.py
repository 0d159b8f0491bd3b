"""The BOSH release's own StorageClass (`extra/aws-sc.yml`: the in-tree
`kubernetes.io/aws-ebs` provisioner, gp2, Immediate, the default class), exactly as it ships,
provisions through CSI migration with our driver; so does the same class with `fsType: ext4`.
A PV the in-tree plugin created long ago (`awsElasticBlockStore`) attaches through CSI too.

Migrated claims get in-tree PVs (csi-provisioner translates its CSI answer back), and
snapshot-controller refuses to snapshot them: the VolumeSnapshot says why."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.state import SandboxState

from .conftest import kubectl_json
from .ebs import (
    TIMEOUT,
    apply,
    attached,
    bound_pv,
    claim,
    csinode_instance,
    delete,
    get,
    pod,
    scheduled_node,
    tags_of,
)

RELEASE_CLASS = (Path(__file__).parents[1] / "unit" / "bosh" / "k8s-boshrelease" / "extra"
                 / "aws-sc.yml")


# Not repeated under IAM enforcement: the provisioning path's calls (CreateVolume,
# AttachVolume), which test_ebs_provisioning runs there.
pytestmark = pytest.mark.once

def release_class() -> dict[str, Any]:
    body: dict[str, Any] = yaml.safe_load(RELEASE_CLASS.read_text())
    return body


def _in_tree_volume(pv: dict[str, Any]) -> str:
    volume_id = pv["spec"]["awsElasticBlockStore"]["volumeID"]
    return str(volume_id).rsplit("/", 1)[-1]


def test_the_release_storage_class_provisions_and_attaches_through_migration(
    sandbox: SandboxState, ec2: Any
) -> None:
    shipped = release_class()
    assert shipped["provisioner"] == "kubernetes.io/aws-ebs"
    with_fs = copy.deepcopy(shipped)
    with_fs["metadata"] = {"name": "aws-ext4"}  # not a second default class
    with_fs["parameters"]["fsType"] = "ext4"
    apply(sandbox, shipped, with_fs,
          claim("bosh-data", "aws", "2Gi"), claim("bosh-ext4", "aws-ext4", "1Gi"))
    try:
        for claim_name, size in (("bosh-data", 2), ("bosh-ext4", 1)):
            pv = bound_pv(sandbox, claim_name)
            annotations = pv["metadata"]["annotations"]
            assert annotations["pv.kubernetes.io/provisioned-by"] == "kubernetes.io/aws-ebs"
            assert annotations["pv.kubernetes.io/migrated-to"] == "ebs.csi.aws.com"
            # `fsType` translated to csi.storage.k8s.io/fstype; without it, the default ext4.
            assert pv["spec"]["awsElasticBlockStore"]["fsType"] == "ext4"
            (volume,) = ec2.describe_volumes(VolumeIds=[_in_tree_volume(pv)])["Volumes"]
            assert (volume["Size"], volume["VolumeType"]) == (size, "gp2")
            assert tags_of(volume)["CSIVolumeName"] == pv["metadata"]["name"]
        apply(sandbox, pod("bosh-app", "bosh-data"))
        node = scheduled_node(sandbox, "bosh-app")
        pv = bound_pv(sandbox, "bosh-data")
        attached(sandbox, pv["metadata"]["name"], node)
        (volume,) = ec2.describe_volumes(VolumeIds=[_in_tree_volume(pv)])["Volumes"]
        assert [a["InstanceId"] for a in volume["Attachments"]] == [
            csinode_instance(sandbox, node)]
        _snapshot_is_refused_with_the_reason(sandbox)
    finally:
        delete(sandbox, "volumesnapshot", "bosh-snap")
        delete(sandbox, "pod", "bosh-app")
        delete(sandbox, "pvc", "bosh-data", "bosh-ext4")
        delete(sandbox, "storageclass", "aws", "aws-ext4")


def _snapshot_is_refused_with_the_reason(sandbox: SandboxState) -> None:
    apply(sandbox, snapshot_class("bosh-snapclass"), volume_snapshot("bosh-snap", "bosh-data",
                                                                      "bosh-snapclass"))

    def refused() -> str | None:
        snap = get(sandbox, "volumesnapshot", "bosh-snap", "default")
        error = (snap or {}).get("status", {}).get("error", {}).get("message")
        return str(error) if error else None

    message = wait_until(refused, timeout=TIMEOUT, what="the snapshot's error")
    assert "cannot find CSI PersistentVolumeSource" in message, message
    assert not (get(sandbox, "volumesnapshot", "bosh-snap", "default") or {}).get(
        "status", {}).get("readyToUse")


def snapshot_class(name: str) -> dict[str, Any]:
    return {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
            "metadata": {"name": name}, "driver": "ebs.csi.aws.com",
            "deletionPolicy": "Delete"}


def volume_snapshot(name: str, claim_name: str, class_name: str) -> dict[str, Any]:
    return {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"volumeSnapshotClassName": class_name,
                     "source": {"persistentVolumeClaimName": claim_name}}}


def test_an_in_tree_pv_from_long_ago_attaches_through_csi(
    sandbox: SandboxState, ec2: Any
) -> None:
    nodes = kubectl_json(sandbox, "get", "nodes", "-l", "!node-role.kubernetes.io/master")
    node = nodes["items"][0]
    zone = node["metadata"]["labels"]["topology.kubernetes.io/zone"]
    volume = ec2.create_volume(AvailabilityZone=zone, Size=1, VolumeType="gp2")
    pv_name = "legacy-in-tree"
    apply(sandbox, {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": pv_name},
        "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
            "awsElasticBlockStore": {"volumeID": f"aws://{zone}/{volume['VolumeId']}",
                                     "fsType": "ext4"},
        },
    })
    legacy_claim = claim("legacy-data", "", "1Gi")
    legacy_claim["spec"]["volumeName"] = pv_name
    apply(sandbox, legacy_claim, pod("legacy-app", "legacy-data", node_selector={
        "kubernetes.io/hostname": node["metadata"]["name"]}))
    try:
        bound_pv(sandbox, "legacy-data")
        attachment = attached(sandbox, pv_name, node["metadata"]["name"])
        assert attachment["spec"]["attacher"] == "ebs.csi.aws.com"
        (described,) = ec2.describe_volumes(VolumeIds=[volume["VolumeId"]])["Volumes"]
        assert [a["InstanceId"] for a in described["Attachments"]] == [
            csinode_instance(sandbox, node["metadata"]["name"])]
    finally:
        delete(sandbox, "pod", "legacy-app")
        delete(sandbox, "pvc", "legacy-data")
        delete(sandbox, "pv", pv_name)

        def detached() -> bool:
            found = ec2.describe_volumes(VolumeIds=[volume["VolumeId"]])["Volumes"]
            return not found[0]["Attachments"]

        wait_until(detached, timeout=TIMEOUT, what="the legacy volume detached")
        ec2.delete_volume(VolumeId=volume["VolumeId"])
