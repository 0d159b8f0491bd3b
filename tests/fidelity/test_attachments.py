"""Attachments are `attaching` / `detaching` for a while and are checked as AWS checks them."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from k8s_aws_sandbox.fidelity.control import FidelityControl

from .conftest import LONG, ZONES, World, error_of, launch


def available_volume(control: FidelityControl, ec2: Any, zone: str = ZONES[0]) -> str:
    volume = str(ec2.create_volume(Size=1, AvailabilityZone=zone)["VolumeId"])
    control.advance(LONG)
    return volume


def volume_view(ec2: Any, volume: str) -> tuple[str, list[str]]:
    found = ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]
    return found["State"], [a["State"] for a in found["Attachments"]]


def device_states(ec2: Any, instance: str) -> dict[str, str]:
    found = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    return {m["DeviceName"]: m["Ebs"]["Status"] for m in found["BlockDeviceMappings"]}


def test_attaching_then_attached(control: FidelityControl, ec2: Any, world: World) -> None:
    volume = available_volume(control, ec2)
    answer = ec2.attach_volume(VolumeId=volume, InstanceId=world.instance, Device="/dev/xvdba")
    assert answer["State"] == "attaching"
    assert volume_view(ec2, volume) == ("in-use", ["attaching"])
    assert device_states(ec2, world.instance)["/dev/xvdba"] == "attaching"
    control.advance(LONG)
    assert volume_view(ec2, volume) == ("in-use", ["attached"])
    assert device_states(ec2, world.instance)["/dev/xvdba"] == "attached"


def test_detaching_then_detached(control: FidelityControl, ec2: Any, world: World) -> None:
    volume = available_volume(control, ec2)
    ec2.attach_volume(VolumeId=volume, InstanceId=world.instance, Device="/dev/xvdba")
    control.advance(LONG)
    answer = ec2.detach_volume(VolumeId=volume, InstanceId=world.instance)
    assert answer["State"] == "detaching"
    assert volume_view(ec2, volume) == ("in-use", ["detaching"])
    assert device_states(ec2, world.instance)["/dev/xvdba"] == "detaching"
    with pytest.raises(ClientError) as excinfo:
        ec2.delete_volume(VolumeId=volume)
    assert error_of(excinfo) == ("VolumeInUse", 400)
    # Half the delay, so the real seconds a loaded machine adds to the emulator's clock cannot
    # finish the detach early; a repeat that restarted the clock would end at 1.5 x LONG.
    control.advance(LONG / 2)
    assert ec2.detach_volume(VolumeId=volume)["State"] == "detaching"  # repeated, no InstanceId
    control.advance(LONG / 2 + 1)  # the first detach's delay is what counts
    assert volume_view(ec2, volume) == ("available", [])
    assert "/dev/xvdba" not in device_states(ec2, world.instance)
    ec2.delete_volume(VolumeId=volume)


def test_a_volume_stuck_attaching_can_be_detached(
    control: FidelityControl, ec2: Any, world: World
) -> None:
    volume = available_volume(control, ec2)
    ec2.attach_volume(VolumeId=volume, InstanceId=world.instance, Device="/dev/xvdba")
    ec2.detach_volume(VolumeId=volume, InstanceId=world.instance, Force=True)
    assert volume_view(ec2, volume) == ("in-use", ["detaching"])
    control.advance(LONG)
    assert volume_view(ec2, volume) == ("available", [])


def test_no_attach_while_creating(control: FidelityControl, ec2: Any, world: World) -> None:
    volume = ec2.create_volume(Size=1, AvailabilityZone=ZONES[0])["VolumeId"]
    with pytest.raises(ClientError) as excinfo:
        ec2.attach_volume(VolumeId=volume, InstanceId=world.instance, Device="/dev/xvdba")
    assert error_of(excinfo) == ("IncorrectState", 400)
    assert volume_view(ec2, volume) == ("creating", [])


def test_no_attach_across_zones(control: FidelityControl, ec2: Any, world: World) -> None:
    volume = available_volume(control, ec2, ZONES[1])
    with pytest.raises(ClientError) as excinfo:
        ec2.attach_volume(VolumeId=volume, InstanceId=world.instance, Device="/dev/xvdba")
    assert error_of(excinfo) == ("InvalidVolume.ZoneMismatch", 400)
    assert volume_view(ec2, volume) == ("available", [])


def test_no_device_name_twice(control: FidelityControl, ec2: Any, world: World) -> None:
    first, second = available_volume(control, ec2), available_volume(control, ec2)
    ec2.attach_volume(VolumeId=first, InstanceId=world.instance, Device="/dev/xvdba")
    with pytest.raises(ClientError) as excinfo:
        ec2.attach_volume(VolumeId=second, InstanceId=world.instance, Device="/dev/xvdba")
    assert error_of(excinfo) == ("InvalidParameterValue", 400)
    assert "already in use" in excinfo.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as excinfo:  # the root volume's device
        ec2.attach_volume(VolumeId=second, InstanceId=world.instance, Device="/dev/sda1")
    assert error_of(excinfo) == ("InvalidParameterValue", 400)


def test_no_second_attachment_of_a_volume(
    control: FidelityControl, ec2: Any, world: World
) -> None:
    other = launch(ec2, world.image, world.subnets[ZONES[0]], world.group, "m5.large")
    volume = available_volume(control, ec2)
    ec2.attach_volume(VolumeId=volume, InstanceId=world.instance, Device="/dev/xvdba")
    for instance in (other, world.instance):
        with pytest.raises(ClientError) as excinfo:
            ec2.attach_volume(VolumeId=volume, InstanceId=instance, Device="/dev/xvdbb")
        assert error_of(excinfo) == ("VolumeInUse", 400)
    assert ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["Attachments"][0][
        "InstanceId"] == world.instance


def test_detaching_a_volume_that_is_not_attached(
    control: FidelityControl, ec2: Any, world: World
) -> None:
    creating = ec2.create_volume(Size=1, AvailabilityZone=ZONES[0])["VolumeId"]
    with pytest.raises(ClientError) as excinfo:
        ec2.detach_volume(VolumeId=creating)
    assert error_of(excinfo) == ("IncorrectState", 400)
    control.advance(LONG)
    for arguments in ({}, {"InstanceId": world.instance}):
        with pytest.raises(ClientError) as excinfo:
            ec2.detach_volume(VolumeId=creating, **arguments)
        assert error_of(excinfo) == ("IncorrectState", 400)
        assert "'available' state" in excinfo.value.response["Error"]["Message"]


def test_attachment_limit_shared_with_network_interfaces(
    control: FidelityControl, ec2: Any, world: World
) -> None:
    # d3.8xlarge: MaximumEbsAttachments 3, shared: root + 2 volumes with one interface.
    instance = launch(ec2, world.image, world.subnets[ZONES[0]], world.group, "d3.8xlarge")
    volumes = [available_volume(control, ec2) for _ in range(3)]
    ec2.attach_volume(VolumeId=volumes[0], InstanceId=instance, Device="/dev/xvdba")
    interface = ec2.create_network_interface(SubnetId=world.subnets[ZONES[0]])
    ec2.attach_network_interface(NetworkInterfaceId=interface["NetworkInterface"][
        "NetworkInterfaceId"], InstanceId=instance, DeviceIndex=1)
    with pytest.raises(ClientError) as excinfo:  # the second interface took a slot
        ec2.attach_volume(VolumeId=volumes[1], InstanceId=instance, Device="/dev/xvdbb")
    assert error_of(excinfo) == ("AttachmentLimitExceeded", 400)
    assert "up to 2 devices" in excinfo.value.response["Error"]["Message"]


def test_attachment_limit_counts_the_root_volume(
    control: FidelityControl, ec2: Any, world: World
) -> None:
    instance = launch(ec2, world.image, world.subnets[ZONES[0]], world.group, "d3.8xlarge")
    volumes = [available_volume(control, ec2) for _ in range(3)]
    ec2.attach_volume(VolumeId=volumes[0], InstanceId=instance, Device="/dev/xvdba")
    ec2.attach_volume(VolumeId=volumes[1], InstanceId=instance, Device="/dev/xvdbb")
    with pytest.raises(ClientError) as excinfo:
        ec2.attach_volume(VolumeId=volumes[2], InstanceId=instance, Device="/dev/xvdbc")
    assert error_of(excinfo) == ("AttachmentLimitExceeded", 400)
    control.patch_config({"behaviours": {"attachment_limits": False}})
    ec2.attach_volume(VolumeId=volumes[2], InstanceId=instance, Device="/dev/xvdbc")


def test_switched_off_the_emulator_accepts_what_aws_refuses(
    control: FidelityControl, ec2: Any, world: World
) -> None:
    control.patch_config({"behaviours": {"attach_rules": False, "attachment_states": False}})
    volume = available_volume(control, ec2, ZONES[1])
    answer = ec2.attach_volume(VolumeId=volume, InstanceId=world.instance, Device="/dev/xvdba")
    assert answer["State"] == "attaching"  # the emulator's constant answer
    assert volume_view(ec2, volume) == ("in-use", ["attached"])
