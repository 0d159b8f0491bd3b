"""Volumes, snapshots and modifications pass through AWS's states, with AWS's refusals."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.fidelity.control import FidelityControl

from .conftest import LONG, ZONES, error_of


def state(ec2: Any, volume_id: str) -> str:
    return str(ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["State"])


def test_a_volume_is_creating_then_available(control: FidelityControl, ec2: Any) -> None:
    created = ec2.create_volume(Size=1, AvailabilityZone=ZONES[0])
    volume = created["VolumeId"]
    assert created["State"] == "creating"
    assert state(ec2, volume) == "creating"
    filtered = ec2.describe_volumes(Filters=[{"Name": "status", "Values": ["creating"]}])
    assert [v["VolumeId"] for v in filtered["Volumes"]] == [volume]
    control.advance(LONG - 1)
    assert state(ec2, volume) == "creating"
    control.advance(1)
    assert state(ec2, volume) == "available"


def test_real_time_moves_states_on_too(control: FidelityControl, ec2: Any) -> None:
    # Long enough that a stalled machine still sees `creating` right after the create;
    # `available` then has a deadline with ample room on top of the delay.
    control.patch_config({"delays": {"volume_create": 3.0}})
    volume = ec2.create_volume(Size=1, AvailabilityZone=ZONES[0])["VolumeId"]
    assert state(ec2, volume) == "creating"
    wait_until(lambda: state(ec2, volume) == "available", timeout=15,
               what="the volume to become available")


def test_same_client_token_and_parameters_give_the_same_volume(
    control: FidelityControl, ec2: Any
) -> None:
    first = ec2.create_volume(Size=2, AvailabilityZone=ZONES[0], ClientToken="pvc-1")
    again = ec2.create_volume(Size=2, AvailabilityZone=ZONES[0], ClientToken="pvc-1")
    assert again["VolumeId"] == first["VolumeId"]
    assert len(ec2.describe_volumes()["Volumes"]) == 1
    control.advance(LONG)
    assert ec2.create_volume(Size=2, AvailabilityZone=ZONES[0],
                             ClientToken="pvc-1")["State"] == "available"


def test_concurrent_creates_with_one_token_make_one_volume(ec2: Any) -> None:
    def create(_: int) -> str:
        answer = ec2.create_volume(Size=2, AvailabilityZone=ZONES[0], ClientToken="pvc-2")
        return str(answer["VolumeId"])

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = set(pool.map(create, range(16)))
    assert len(ids) == 1
    assert len(ec2.describe_volumes()["Volumes"]) == 1


def test_same_client_token_with_other_parameters_is_a_mismatch(ec2: Any) -> None:
    ec2.create_volume(Size=2, AvailabilityZone=ZONES[0], ClientToken="pvc-1")
    with pytest.raises(ClientError) as excinfo:
        ec2.create_volume(Size=3, AvailabilityZone=ZONES[0], ClientToken="pvc-1")
    assert error_of(excinfo) == ("IdempotentParameterMismatch", 400)
    assert len(ec2.describe_volumes()["Volumes"]) == 1


def test_a_client_token_stays_bound_to_its_deleted_volume(
    control: FidelityControl, ec2: Any
) -> None:
    volume = ec2.create_volume(Size=2, AvailabilityZone=ZONES[0], ClientToken="pvc-1")
    control.advance(LONG)
    ec2.delete_volume(VolumeId=volume["VolumeId"])
    with pytest.raises(ClientError) as excinfo:
        ec2.create_volume(Size=2, AvailabilityZone=ZONES[0], ClientToken="pvc-1")
    assert error_of(excinfo) == ("IdempotentParameterMismatch", 400)
    assert "already deleted" in excinfo.value.response["Error"]["Message"]


def test_without_a_client_token_every_call_creates(ec2: Any) -> None:
    # botocore fills a fresh token into every CreateVolume call that has none
    ec2.create_volume(Size=2, AvailabilityZone=ZONES[0])
    ec2.create_volume(Size=2, AvailabilityZone=ZONES[0])
    assert len(ec2.describe_volumes()["Volumes"]) == 2


def test_a_snapshot_is_pending_then_completed(control: FidelityControl, ec2: Any) -> None:
    volume = ec2.create_volume(Size=1, AvailabilityZone=ZONES[0])["VolumeId"]
    control.advance(LONG)
    snapshot = ec2.create_snapshot(VolumeId=volume)
    assert (snapshot["State"], snapshot["Progress"]) == ("pending", "0%")
    described = ec2.describe_snapshots(SnapshotIds=[snapshot["SnapshotId"]])["Snapshots"][0]
    assert (described["State"], described["Progress"]) == ("pending", "0%")
    control.advance(LONG)
    described = ec2.describe_snapshots(SnapshotIds=[snapshot["SnapshotId"]])["Snapshots"][0]
    assert (described["State"], described["Progress"]) == ("completed", "100%")


def test_no_volume_from_a_pending_snapshot(control: FidelityControl, ec2: Any) -> None:
    volume = ec2.create_volume(Size=1, AvailabilityZone=ZONES[0])["VolumeId"]
    control.advance(LONG)
    snapshot = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    with pytest.raises(ClientError) as excinfo:
        ec2.create_volume(SnapshotId=snapshot, AvailabilityZone=ZONES[0])
    assert error_of(excinfo) == ("IncorrectState", 400)
    control.advance(LONG)
    assert ec2.create_volume(SnapshotId=snapshot, AvailabilityZone=ZONES[0])["SnapshotId"]


def modification(ec2: Any, volume: str) -> tuple[str, int]:
    found = ec2.describe_volumes_modifications(VolumeIds=[volume])["VolumesModifications"][-1]
    return found["ModificationState"], found["Progress"]


def test_a_modification_is_modifying_then_optimizing_then_completed(
    control: FidelityControl, ec2: Any
) -> None:
    volume = ec2.create_volume(Size=1, AvailabilityZone=ZONES[0], VolumeType="gp3")["VolumeId"]
    control.advance(LONG)
    started = ec2.modify_volume(VolumeId=volume, Size=5)["VolumeModification"]
    assert (started["ModificationState"], started["Progress"]) == ("modifying", 0)
    assert "EndTime" not in started
    assert modification(ec2, volume) == ("modifying", 0)
    control.advance(LONG)
    assert modification(ec2, volume) == ("optimizing", 50)
    control.advance(LONG)
    assert modification(ec2, volume) == ("completed", 100)
    assert "EndTime" in ec2.describe_volumes_modifications(
        VolumeIds=[volume])["VolumesModifications"][-1]


def test_no_second_modification_while_the_first_runs(control: FidelityControl, ec2: Any) -> None:
    volume = ec2.create_volume(Size=1, AvailabilityZone=ZONES[0])["VolumeId"]
    control.advance(LONG)
    ec2.modify_volume(VolumeId=volume, Size=5)
    with pytest.raises(ClientError) as excinfo:
        ec2.modify_volume(VolumeId=volume, Size=6)
    assert error_of(excinfo) == ("IncorrectModificationState", 400)
    assert "MODIFYING" in excinfo.value.response["Error"]["Message"]
    control.advance(LONG)
    with pytest.raises(ClientError) as excinfo:
        ec2.modify_volume(VolumeId=volume, Size=6)
    assert "OPTIMIZING" in excinfo.value.response["Error"]["Message"]


def test_one_modification_per_window(control: FidelityControl, ec2: Any) -> None:
    control.patch_config({"limits": {"modification_window": 1000.0}})
    volume = ec2.create_volume(Size=1, AvailabilityZone=ZONES[0])["VolumeId"]
    control.advance(LONG)
    ec2.modify_volume(VolumeId=volume, Size=5)
    control.advance(2 * LONG)  # completed, but still inside the window
    with pytest.raises(ClientError) as excinfo:
        ec2.modify_volume(VolumeId=volume, Size=6)
    assert error_of(excinfo) == ("VolumeModificationRateExceeded", 400)
    assert ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["Size"] == 5
    control.advance(1000.0)
    assert ec2.modify_volume(VolumeId=volume, Size=6)["VolumeModification"]["TargetSize"] == 6


def test_four_modifications_per_day_as_aws_has_allowed_since_2026(
    control: FidelityControl, ec2: Any
) -> None:
    control.patch_config({"limits": {"modifications_per_window": 4,
                                     "modification_window": 24 * 3600.0}})
    volume = ec2.create_volume(Size=1, AvailabilityZone=ZONES[0])["VolumeId"]
    control.advance(LONG)
    for size in (2, 3, 4, 5):
        ec2.modify_volume(VolumeId=volume, Size=size)
        control.advance(2 * LONG)
    with pytest.raises(ClientError) as excinfo:
        ec2.modify_volume(VolumeId=volume, Size=6)
    assert error_of(excinfo) == ("VolumeModificationRateExceeded", 400)


def test_switched_off_the_emulator_is_instant_again(control: FidelityControl, ec2: Any) -> None:
    control.patch_config({"behaviours": {"volume_states": False, "modification_states": False,
                                         "modification_rate": False}})
    volume = ec2.create_volume(Size=1, AvailabilityZone=ZONES[0])["VolumeId"]
    assert state(ec2, volume) == "available"
    ec2.modify_volume(VolumeId=volume, Size=5)
    assert modification(ec2, volume)[0] == "completed"
    ec2.modify_volume(VolumeId=volume, Size=6)
