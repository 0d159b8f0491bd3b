"""ControllerPublish keeps its instance record from its own attaches (no DescribeInstances per
publish) and, when AWS refuses a device name that an attachment made outside the driver
holds ("Attachment point ... is already in use"), reads the instance and picks another."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.state import SandboxState

from .csi import Driver, start_driver, stop_driver

_names = itertools.count()


@pytest.fixture(scope="module")
def driver(sandbox: SandboxState, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    running = start_driver(sandbox, tmp_path_factory.mktemp("csi-devices"))
    yield running
    stop_driver(running)


def _outcomes(driver: Driver, operation: str, since: int) -> list[str]:
    return [e["outcome"] for e in driver.calls(operation)[since:]]


def test_a_device_name_taken_outside_the_driver_is_chosen_again(
        driver: Driver, ec2: Any, sandbox: SandboxState) -> None:
    control_vm = ec2.describe_instances(InstanceIds=[sandbox.world.control_instance])
    placed = control_vm["Reservations"][0]["Instances"][0]
    zone = placed["Placement"]["AvailabilityZone"]
    instance_id = ec2.run_instances(
        ImageId=sandbox.world.image_id, MinCount=1, MaxCount=1, InstanceType="m5.large",
        SubnetId=placed["SubnetId"])["Instances"][0]["InstanceId"]
    wait_until(lambda: ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0][
        "Instances"][0]["State"]["Name"] == "running", timeout=60, what="instance running")
    first = driver.create(f"pvc-dev-{next(_names)}").volume.volume_id
    second = driver.create(f"pvc-dev-{next(_names)}").volume.volume_id
    assert driver.publish(first, instance_id).publish_context["devicePath"] == "/dev/xvdaa"
    reads = len(driver.calls("DescribeInstances"))

    # Someone else attaches a volume as the next name the driver's record shows free.
    outside = ec2.create_volume(Size=1, AvailabilityZone=zone)["VolumeId"]
    wait_until(lambda: ec2.describe_volumes(VolumeIds=[outside])["Volumes"][0]["State"]
               == "available", timeout=60, what=f"{outside} available")
    ec2.attach_volume(VolumeId=outside, InstanceId=instance_id, Device="/dev/xvdab")

    attaches = len(driver.calls("AttachVolume"))
    published = driver.publish(second, instance_id)
    assert published.publish_context["devicePath"] == "/dev/xvdac"
    refused, accepted = _outcomes(driver, "AttachVolume", attaches)
    assert refused != "success" and accepted == "success", (refused, accepted)
    # One read: after the refusal (the first publish's record was kept up to date by its
    # own attach, so the second publish started without one).
    assert len(driver.calls("DescribeInstances")) - reads == 1
    attachments = {a["VolumeId"]: a["Device"] for a in ec2.describe_instances(
        InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["BlockDeviceMappings"]
        for a in [{"VolumeId": a["Ebs"]["VolumeId"], "Device": a["DeviceName"]}]}
    assert {attachments[first], attachments[outside], attachments[second]} == {
        "/dev/xvdaa", "/dev/xvdab", "/dev/xvdac"}

    for volume_id in (first, second):
        driver.unpublish(volume_id, instance_id)
        driver.delete(volume_id)
    ec2.terminate_instances(InstanceIds=[instance_id])
