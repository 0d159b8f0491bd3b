"""Each StorageClass parameter reaches EC2 as the reference driver sends it, and each invalid
one is refused with INVALID_ARGUMENT (or OUT_OF_RANGE for a size) naming the key, before any
AWS mutation."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from k8s_aws.volumes.csi.proto import csi_pb2
from k8s_aws_sandbox.state import SandboxState

from .csi import Driver, start_driver, stop_driver, volumes_named

_names = itertools.count()


@pytest.fixture(scope="module")
def driver(sandbox: SandboxState, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    running = start_driver(sandbox, tmp_path_factory.mktemp("csi-params"))
    yield running
    stop_driver(running)


def _tags(volume: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in volume.get("Tags", [])}


CASES = [
    ({}, 1, {"VolumeType": "gp3", "Size": 1}),
    ({"type": "gp2"}, 2, {"VolumeType": "gp2", "Size": 2}),
    ({"type": "io1", "iops": "200"}, 4, {"VolumeType": "io1", "Iops": 200}),
    ({"type": "io2", "iopsPerGB": "50"}, 10, {"VolumeType": "io2", "Iops": 500}),
    ({"type": "io1", "iopsPerGB": "10", "allowAutoIOPSPerGBIncrease": "true"}, 4,
     {"Iops": 100}),
    ({"type": "gp3", "iops": "4000", "throughput": "250"}, 10,
     {"Iops": 4000, "Throughput": 250}),
    ({"encrypted": "true"}, 1, {"Encrypted": True}),
    ({"type": "st1"}, 125, {"VolumeType": "st1", "Size": 125}),
    ({"type": "sc1"}, 125, {"VolumeType": "sc1"}),
    ({"type": "standard"}, 1, {"VolumeType": "standard"}),
    ({"csi.storage.k8s.io/fstype": "xfs", "blockSize": "4096"}, 1, {"VolumeType": "gp3"}),
    ({"csi.storage.k8s.io/fstype": "ext4", "inodeSize": "256", "bytesPerInode": "16384",
      "numberOfInodes": "1000"}, 1, {"VolumeType": "gp3"}),
]


@pytest.mark.parametrize(("parameters", "size", "expected"), CASES,
                         ids=[",".join(c[0]) or "defaults" for c in CASES])
def test_parameter_reaches_ec2(driver: Driver, ec2: Any, parameters: dict[str, str],
                               size: int, expected: dict[str, Any]) -> None:
    name = f"pvc-param-{next(_names)}"
    answer = driver.create(name, parameters, size_gib=size)
    try:
        volume = ec2.describe_volumes(VolumeIds=[answer.volume.volume_id])["Volumes"][0]
        assert {k: volume.get(k) for k in expected} == expected
        assert volume["State"] == "available"
        # The mkfs options travel to NodeStage in the volume context, under their own keys.
        mkfs = {k: v for k, v in parameters.items()
                if k in ("blockSize", "inodeSize", "bytesPerInode", "numberOfInodes")}
        assert dict(answer.volume.volume_context) == mkfs
    finally:
        driver.delete(answer.volume.volume_id)


def test_kms_key_implies_encryption(driver: Driver, ec2: Any) -> None:
    answer = driver.create(f"pvc-kms-{next(_names)}", {"kmsKeyId": "arn:aws:kms:k/1"})
    try:
        volume = ec2.describe_volumes(VolumeIds=[answer.volume.volume_id])["Volumes"][0]
        assert volume["Encrypted"] is True
        assert volume["KmsKeyId"] == "arn:aws:kms:k/1"
    finally:
        driver.delete(answer.volume.volume_id)


def test_tags_identity_cluster_metadata_and_tag_specifications(
    driver: Driver, ec2: Any, sandbox: SandboxState
) -> None:
    name = f"pvc-tags-{next(_names)}"
    answer = driver.create(name, {
        "csi.storage.k8s.io/pvc/name": "data", "csi.storage.k8s.io/pvc/namespace": "shop",
        "csi.storage.k8s.io/pv/name": name,
        "tagSpecification_1": "team=storage",
        "tagSpecification_2": "owner={{ .PVCNamespace }}/{{ .PVCName }}",
    })
    try:
        tags = _tags(volumes_named(ec2, name)[0])
        assert tags["CSIVolumeName"] == name
        assert tags[f"kubernetes.io/cluster/{sandbox.cluster}"] == "owned"
        assert tags["ebs.csi.aws.com/cluster"] == "true"
        assert tags["kubernetes.io/created-for/pvc/name"] == "data"
        assert tags["kubernetes.io/created-for/pvc/namespace"] == "shop"
        assert tags["kubernetes.io/created-for/pv/name"] == name
        assert tags["team"] == "storage"
        assert tags["owner"] == "shop/data"
    finally:
        driver.delete(answer.volume.volume_id)


def test_preferred_zone_first_and_both_topology_keys(driver: Driver, ec2: Any,
                                                      sandbox: SandboxState) -> None:
    zone = f"{sandbox.region}c"
    requirement = csi_pb2.TopologyRequirement(
        requisite=[csi_pb2.Topology(segments={"topology.ebs.csi.aws.com/zone": z})
                   for z in (f"{sandbox.region}b", zone)],
        preferred=[csi_pb2.Topology(segments={"topology.kubernetes.io/zone": zone})])
    answer = driver.create(f"pvc-zone-{next(_names)}", accessibility_requirements=requirement)
    try:
        assert answer.volume.accessible_topology[0].segments == {
            "topology.kubernetes.io/zone": zone, "topology.ebs.csi.aws.com/zone": zone}
        volume = ec2.describe_volumes(VolumeIds=[answer.volume.volume_id])["Volumes"][0]
        assert volume["AvailabilityZone"] == zone
    finally:
        driver.delete(answer.volume.volume_id)


ERRORS = [
    ({"type": "gp9"}, 1, grpc.StatusCode.INVALID_ARGUMENT, "'type': 'gp9' is not one of gp2"),
    ({"type": "gp2", "iops": "3000"}, 1, grpc.StatusCode.INVALID_ARGUMENT,
     "'iops': not supported for type gp2"),
    ({"type": "io1"}, 1, grpc.StatusCode.OUT_OF_RANGE, "outside io1's 4-16384 GiB"),
    ({"type": "io1", "iops": "200", "iopsPerGB": "10"}, 4, grpc.StatusCode.INVALID_ARGUMENT,
     "either iops or iopsPerGB"),
    ({"diskType": "gp3"}, 1, grpc.StatusCode.INVALID_ARGUMENT,
     "'diskType': unknown parameter; allowed:"),
    ({"type": "io1", "iops": "50"}, 4, grpc.StatusCode.INVALID_ARGUMENT,
     "'iops': 50 IOPS is outside io1's 100-64000"),
    ({"type": "gp3", "iops": "3000", "throughput": "5000"}, 10,
     grpc.StatusCode.INVALID_ARGUMENT, "'throughput': 5000 MiB/s"),
    ({"encrypted": "yes"}, 1, grpc.StatusCode.INVALID_ARGUMENT,
     "'encrypted': 'yes' is not one of true, false"),
    ({"tagSpecification_1": "novalue"}, 1, grpc.StatusCode.INVALID_ARGUMENT,
     "'tagSpecification_1': 'novalue' is not of the form key=value"),
    ({"tagSpecification_1": "a={{ .Nope }}"}, 1, grpc.StatusCode.INVALID_ARGUMENT,
     "unknown template field .Nope"),
    ({"type": "st1"}, 10, grpc.StatusCode.OUT_OF_RANGE, "outside st1's 125-16384 GiB"),
]


@pytest.mark.parametrize(("parameters", "size", "code", "message"), ERRORS,
                         ids=[",".join(f"{k}={v}" for k, v in e[0].items()) for e in ERRORS])
def test_invalid_parameter_is_refused_naming_the_key(
    driver: Driver, ec2: Any, parameters: dict[str, str], size: int,
    code: grpc.StatusCode, message: str
) -> None:
    name = f"pvc-bad-{next(_names)}"
    creates_before = len(driver.calls("CreateVolume"))
    with pytest.raises(grpc.RpcError) as refused:
        driver.create(name, parameters, size_gib=size)
    error: Any = refused.value
    assert error.code() == code
    assert message in error.details()
    assert len(driver.calls("CreateVolume")) == creates_before
    assert volumes_named(ec2, name) == []


def test_same_name_other_size_is_already_exists(driver: Driver) -> None:
    name = f"pvc-twice-{next(_names)}"
    first = driver.create(name, size_gib=1)
    try:
        again = driver.create(name, size_gib=1)
        assert again.volume.volume_id == first.volume.volume_id
        with pytest.raises(grpc.RpcError) as refused:
            driver.create(name, size_gib=2)
        error: Any = refused.value
        assert error.code() == grpc.StatusCode.ALREADY_EXISTS
    finally:
        driver.delete(first.volume.volume_id)
