"""A bound claim grows (csi-resizer -> our ControllerExpandVolume -> ModifyVolume), and a
CSI-class claim is snapshotted (snapshot-controller + csi-snapshotter -> CreateSnapshot) and
restored (csi-provisioner -> CreateVolume from the snapshot).

There is no kubelet here to run NodeExpandVolume, so the claim's status capacity stays at the
old size (FileSystemResizePending): the test checks EBS and the PV, which is where the
controller side ends."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.state import SandboxState

from .conftest import kubectl
from .ebs import (
    TIMEOUT,
    apply,
    bound_pv,
    claim,
    delete,
    get,
    storage_class,
    tags_of,
    volume_id,
)
from .test_ebs_migration import snapshot_class, volume_snapshot

# Not repeated under IAM enforcement: ModifyVolume, CreateSnapshot, DeleteSnapshot and a
# create from a snapshot, which csi-sanity's mount run repeats there.
pytestmark = pytest.mark.once

def test_a_bound_claim_grows_from_3_to_5_gib_in_ebs_and_the_pv(
    sandbox: SandboxState, ec2: Any
) -> None:
    apply(sandbox, storage_class("e2e-grow", {"type": "gp3"}, binding="Immediate"),
          claim("e2e-grow", "e2e-grow", "3Gi"))
    try:
        pv = bound_pv(sandbox, "e2e-grow")
        volume = volume_id(pv)
        assert ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["Size"] == 3
        kubectl(sandbox, "patch", "pvc", "e2e-grow", "--type=merge",
                "-p", '{"spec":{"resources":{"requests":{"storage":"5Gi"}}}}')

        def grown() -> bool:
            size = ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["Size"]
            capacity = (get(sandbox, "pv", pv["metadata"]["name"]) or {})["spec"]["capacity"]
            return bool(size == 5 and capacity["storage"] == "5Gi")

        wait_until(grown, timeout=TIMEOUT, what="EBS and the PV at 5Gi")
        modifications = ec2.describe_volumes_modifications(VolumeIds=[volume])
        assert [m["TargetSize"] for m in modifications["VolumesModifications"]] == [5]
    finally:
        delete(sandbox, "pvc", "e2e-grow")


def test_a_snapshot_is_ready_tagged_and_restores_into_a_new_volume(
    sandbox: SandboxState, ec2: Any
) -> None:
    apply(sandbox, storage_class("e2e-snap", {"type": "gp3"}, binding="Immediate"),
          claim("e2e-origin", "e2e-snap", "2Gi"), snapshot_class("e2e-snapclass"))
    try:
        origin = volume_id(bound_pv(sandbox, "e2e-origin"))
        apply(sandbox, volume_snapshot("e2e-snap", "e2e-origin", "e2e-snapclass"))

        def ready() -> dict[str, Any] | None:
            snap = get(sandbox, "volumesnapshot", "e2e-snap", "default")
            return snap if snap and snap.get("status", {}).get("readyToUse") else None

        snap = wait_until(ready, timeout=TIMEOUT, what="the VolumeSnapshot readyToUse")
        content = get(sandbox, "volumesnapshotcontent",
                      snap["status"]["boundVolumeSnapshotContentName"])
        assert content is not None
        snapshot_id = content["status"]["snapshotHandle"]
        (ebs_snapshot,) = ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"]
        assert ebs_snapshot["VolumeId"] == origin
        tags = tags_of(ebs_snapshot)
        # csi-snapshotter names the CSI snapshot `snapshot-<VolumeSnapshot uid>`.
        assert tags["CSIVolumeSnapshotName"] == f"snapshot-{snap['metadata']['uid']}"
        assert tags["kubernetes.io/created-for/volumesnapshot/name"] == "e2e-snap"
        assert tags["kubernetes.io/created-for/volumesnapshot/namespace"] == "default"
        assert tags["kubernetes.io/created-for/volumesnapshotcontent/name"] == (
            content["metadata"]["name"])
        assert tags[f"kubernetes.io/cluster/{sandbox.cluster}"] == "owned"
        origin_snapshots = ec2.describe_snapshots(
            Filters=[{"Name": "volume-id", "Values": [origin]}])["Snapshots"]
        assert len(origin_snapshots) == 1

        apply(sandbox, claim("e2e-restored", "e2e-snap", "2Gi", data_source={
            "apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
            "name": "e2e-snap"}))
        restored = volume_id(bound_pv(sandbox, "e2e-restored"))
        (volume,) = ec2.describe_volumes(VolumeIds=[restored])["Volumes"]
        assert volume["SnapshotId"] == snapshot_id
        assert restored != origin
    finally:
        delete(sandbox, "pvc", "e2e-restored")
        delete(sandbox, "volumesnapshot", "e2e-snap")
        delete(sandbox, "pvc", "e2e-origin")

    def snapshot_gone() -> bool:
        return not ec2.describe_snapshots(
            Filters=[{"Name": "tag:CSIVolumeSnapshotName",
                      "Values": [f"snapshot-{snap['metadata']['uid']}"]}])["Snapshots"]

    wait_until(snapshot_gone, timeout=TIMEOUT, what="the EBS snapshot deleted with its class")
