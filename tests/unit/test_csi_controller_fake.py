"""The CSI controller's CreateVolume, DeleteVolume and ControllerPublish / Unpublish through
its gRPC servicer, over the in-memory FakeEbs (its fidelity to the emulator is pinned by
tests/fidelity/test_ebs_contract.py). The emulator tests (tests/integration/test_csi_*.py)
stay the proof end to end; these run in a fraction of a second each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest

from k8s_aws.cloud.ebs import NAME_TAG, CreateRequest
from k8s_aws.cloud.session import AwsSettings
from k8s_aws.model.volume import VolumeId
from k8s_aws.volumes.csi.backend import Backend
from k8s_aws.volumes.csi.controller import Controller
from k8s_aws.volumes.csi.proto import csi_pb2
from k8s_aws.volumes.csi.provision import client_token
from k8s_aws.volumes.csi.settings import DriverSettings
from tests.fakes.ebs import FakeEbs, FakeInstances, FakeSnapshots

ZONE = "us-west-2a"
GIB = 1 << 30
WRITER = csi_pb2.VolumeCapability(
    mount=csi_pb2.VolumeCapability.MountVolume(fs_type="ext4"),
    access_mode=csi_pb2.VolumeCapability.AccessMode(
        mode=csi_pb2.VolumeCapability.AccessMode.SINGLE_NODE_WRITER))


class Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


class Context:
    """The part of grpc.aio.ServicerContext the servicer uses: abort."""

    async def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise Aborted(code, details)


class Driver:
    def __init__(self) -> None:
        self.ebs = FakeEbs()
        settings = DriverSettings(socket_path=Path("/nonexistent"), mode="controller",
                                  aws=AwsSettings(region="us-west-2"), cluster_name="c1",
                                  zone=ZONE, create_timeout=2.0, attach_timeout=2.0)
        self.backend = Backend(settings, self.ebs, FakeSnapshots(self.ebs),
                               FakeInstances(self.ebs))
        self.controller = Controller(self.backend)

    async def call(self, method: str, request: Any) -> Any:
        return await getattr(self.controller, method)(request, Context())

    async def create(self, name: str, gib: int = 4, **parameters: str) -> csi_pb2.Volume:
        request = csi_pb2.CreateVolumeRequest(
            name=name, volume_capabilities=[WRITER], parameters=parameters,
            capacity_range=csi_pb2.CapacityRange(required_bytes=gib * GIB))
        response: csi_pb2.CreateVolumeResponse = await self.call("CreateVolume", request)
        return response.volume

    async def publish(self, volume_id: str, node_id: str) -> dict[str, str]:
        request = csi_pb2.ControllerPublishVolumeRequest(
            volume_id=volume_id, node_id=node_id, volume_capability=WRITER)
        return dict((await self.call("ControllerPublishVolume", request)).publish_context)


@pytest.fixture
def driver() -> Driver:
    return Driver()


async def test_create_makes_a_tagged_volume_in_the_zone_once(driver: Driver) -> None:
    volume = await driver.create("pvc-1", gib=5, type="io2", iops="3000")
    record = driver.ebs.volumes[volume.volume_id]  # type: ignore[index]
    assert (record.state, record.size_gib, record.volume_type, record.iops, record.zone) == (
        "available", 5, "io2", 3000, ZONE)
    assert record.tag(NAME_TAG) == "pvc-1" and record.tag("kubernetes.io/cluster/c1") == "owned"
    assert volume.capacity_bytes == 5 * GIB
    again = await driver.create("pvc-1", gib=5, type="io2", iops="3000")
    assert again.volume_id == volume.volume_id and len(driver.ebs.volumes) == 1
    # No lookup first: the repeated CreateVolume carries the same ClientToken, and EC2 answers
    # with the same volume.
    assert driver.ebs.calls.count("CreateVolume") == 2
    assert len(driver.ebs.volumes) == 1


async def test_a_name_taken_with_other_parameters_is_already_exists(driver: Driver) -> None:
    await driver.create("pvc-2", gib=4)
    with pytest.raises(Aborted) as info:
        await driver.create("pvc-2", gib=8)
    assert info.value.code == grpc.StatusCode.ALREADY_EXISTS
    assert "size 4 GiB, requested 8 GiB" in info.value.details


async def test_a_reused_client_token_moves_to_the_next_generation(driver: Driver) -> None:
    # The volume of this name was deleted: its token is still taken, with other parameters.
    driver.ebs._tokens[client_token("pvc-3")] = (  # what EC2 remembers for 24 hours
        CreateRequest(ZONE, 1, "gp2", {}, client_token("pvc-3")), VolumeId("vol-gone"))
    volume = await driver.create("pvc-3")
    assert driver.ebs.volumes[volume.volume_id].state == "available"  # type: ignore[index]
    assert driver.ebs.calls.count("CreateVolume") == 2


async def test_bad_parameters_are_invalid_argument_with_no_aws_call(driver: Driver) -> None:
    with pytest.raises(Aborted) as info:
        await driver.create("pvc-4", type="gp9")
    assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT and "type" in info.value.details
    assert "CreateVolume" not in driver.ebs.calls


async def test_publish_attaches_with_a_device_and_unpublish_detaches(driver: Driver) -> None:
    node = driver.ebs.add_instance(ZONE)
    volume = await driver.create("pvc-5")
    context = await driver.publish(volume.volume_id, node)
    device = context["devicePath"]
    assert device.startswith("/dev/xvd")
    record = driver.ebs.volumes[volume.volume_id]  # type: ignore[index]
    assert [(a.instance_id, a.device, a.state) for a in record.attachments] == [
        (node, device, "attached")]
    assert await driver.publish(volume.volume_id, node) == context  # a retry: same device
    assert driver.ebs.calls.count("AttachVolume") == 1
    await driver.call("ControllerUnpublishVolume", csi_pb2.ControllerUnpublishVolumeRequest(
        volume_id=volume.volume_id, node_id=node))
    assert driver.ebs.volumes[volume.volume_id].attachments == ()  # type: ignore[index]


async def test_publish_to_a_second_node_is_failed_precondition(driver: Driver) -> None:
    first, second = driver.ebs.add_instance(ZONE), driver.ebs.add_instance(ZONE)
    volume = await driver.create("pvc-6")
    await driver.publish(volume.volume_id, first)
    with pytest.raises(Aborted) as info:
        await driver.publish(volume.volume_id, second)
    assert info.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert first in info.value.details


async def test_publish_across_zones_is_failed_precondition(driver: Driver) -> None:
    node = driver.ebs.add_instance("us-west-2b")
    volume = await driver.create("pvc-7")
    with pytest.raises(Aborted) as info:
        await driver.publish(volume.volume_id, node)
    assert info.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "AttachVolume" not in driver.ebs.calls


async def test_publish_at_the_attachment_limit_is_resource_exhausted(driver: Driver) -> None:
    node = driver.ebs.add_instance(ZONE)
    driver.ebs.occupy(node, 27)  # with the root volume: the 28 an m5.large holds
    volume = await driver.create("pvc-8")
    with pytest.raises(Aborted) as info:
        await driver.publish(volume.volume_id, node)
    assert info.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "holds its limit of 28" in info.value.details
    assert "AttachVolume" not in driver.ebs.calls  # known from DescribeInstanceTypes


async def test_publish_of_unknown_volume_or_node_is_not_found(driver: Driver) -> None:
    node = driver.ebs.add_instance(ZONE)
    with pytest.raises(Aborted) as info:
        await driver.publish("vol-0000000000000dead", node)
    assert info.value.code == grpc.StatusCode.NOT_FOUND
    volume = await driver.create("pvc-9")
    with pytest.raises(Aborted) as info:
        await driver.publish(volume.volume_id, "i-0000000000000dead")
    assert info.value.code == grpc.StatusCode.NOT_FOUND


async def test_delete_refuses_an_attached_volume_then_deletes(driver: Driver) -> None:
    node = driver.ebs.add_instance(ZONE)
    volume = await driver.create("pvc-10")
    await driver.publish(volume.volume_id, node)
    delete = csi_pb2.DeleteVolumeRequest(volume_id=volume.volume_id)
    with pytest.raises(Aborted) as info:
        await driver.call("DeleteVolume", delete)
    assert info.value.code == grpc.StatusCode.FAILED_PRECONDITION
    await driver.call("ControllerUnpublishVolume", csi_pb2.ControllerUnpublishVolumeRequest(
        volume_id=volume.volume_id, node_id=node))
    await driver.call("DeleteVolume", delete)
    assert driver.ebs.volumes == {}
    await driver.call("DeleteVolume", delete)  # again: already gone is success
