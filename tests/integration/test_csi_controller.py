"""Controller behaviour csi-sanity does not pin down: the in-flight guard, unpublish from a
gone instance, merged modifications and the modification window as a clear error that costs
no further AWS call."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from k8s_aws.volumes.csi.proto import csi_pb2
from k8s_aws_sandbox.fidelity.control import FidelityControl
from k8s_aws_sandbox.state import SandboxState

from .csi import GIB, SINGLE_WRITER, Driver, start_driver, stop_driver

_names = itertools.count()
# The driver's merge window: an expand and a modify sent together land in it however slow
# the machine. The emulator's rate window (fidelity limits, 30 s) must stay well longer, so
# the expand after the merged one still falls inside it and is refused.
MERGE_WINDOW = 5.0


@pytest.fixture(scope="module")
def driver(sandbox: SandboxState, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    running = start_driver(sandbox, tmp_path_factory.mktemp("csi-controller"),
                           f"--modification-window={MERGE_WINDOW:g}")
    yield running
    stop_driver(running)


def _code(error: Any) -> grpc.StatusCode:
    return error.code()


def test_concurrent_publish_of_one_volume_is_aborted(driver: Driver, sandbox: SandboxState
                                                      ) -> None:
    control = FidelityControl(sandbox.emulator_url)
    node_id = driver.node_id()
    volume_id = driver.create(f"pvc-guard-{next(_names)}").volume.volume_id
    request = csi_pb2.ControllerPublishVolumeRequest(
        volume_id=volume_id, node_id=node_id, volume_capability=SINGLE_WRITER)
    control.patch_config({"delays": {"volume_attach": 3}})
    try:
        first = driver.controller.ControllerPublishVolume.future(request, timeout=60)
        second = driver.controller.ControllerPublishVolume.future(request, timeout=60)
        outcomes = []
        for future in (first, second):
            try:
                outcomes.append(("ok", future.result().publish_context["devicePath"]))
            except grpc.RpcError as exc:
                outcomes.append(("error", _code(exc)))
        assert sorted(o[0] for o in outcomes) == ["error", "ok"], outcomes
        assert ("error", grpc.StatusCode.ABORTED) in outcomes
    finally:
        control.patch_config({"delays": {"volume_attach": 0.3}})
    driver.unpublish(volume_id, node_id)
    driver.delete(volume_id)


def test_publish_to_missing_node_or_volume_is_not_found(driver: Driver) -> None:
    volume_id = driver.create(f"pvc-missing-{next(_names)}").volume.volume_id
    for vol, node in ((volume_id, "i-0123456789abcdef0"), ("vol-0123456789abcdef0",
                                                          driver.node_id())):
        with pytest.raises(grpc.RpcError) as refused:
            driver.publish(vol, node)
        assert _code(refused.value) == grpc.StatusCode.NOT_FOUND
    driver.delete(volume_id)


def test_unpublish_from_a_terminated_instance_is_ok(driver: Driver, ec2: Any,
                                                    sandbox: SandboxState) -> None:
    control_vm = ec2.describe_instances(InstanceIds=[sandbox.world.control_instance])
    placed = control_vm["Reservations"][0]["Instances"][0]
    instance = ec2.run_instances(ImageId=sandbox.world.image_id, MinCount=1, MaxCount=1,
                                 InstanceType="m5.large", SubnetId=placed["SubnetId"])
    instance_id = instance["Instances"][0]["InstanceId"]
    volume_id = driver.create(f"pvc-gone-{next(_names)}").volume.volume_id
    driver.publish(volume_id, instance_id)
    ec2.terminate_instances(InstanceIds=[instance_id])
    driver.unpublish(volume_id, instance_id)
    driver.unpublish(volume_id, "i-0123456789abcdef0")  # never existed: OK too
    volume = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
    assert not [a for a in volume["Attachments"] if a["State"] in ("attaching", "attached")]
    driver.delete(volume_id)


def test_expand_and_modify_merge_then_the_window_is_a_clear_error(
    driver: Driver, ec2: Any, sandbox: SandboxState
) -> None:
    rate_window = FidelityControl(sandbox.emulator_url).config().limits.modification_window
    assert rate_window >= 4 * MERGE_WINDOW, "the retry below must fall inside the rate window"
    volume_id = driver.create(f"pvc-grow-{next(_names)}", size_gib=1).volume.volume_id
    expand = csi_pb2.ControllerExpandVolumeRequest(
        volume_id=volume_id, capacity_range=csi_pb2.CapacityRange(required_bytes=2 * GIB))
    modify = csi_pb2.ControllerModifyVolumeRequest(
        volume_id=volume_id, mutable_parameters={"iops": "4000"})
    before = len(driver.calls("ModifyVolume"))
    grown = driver.controller.ControllerExpandVolume.future(expand, timeout=60)
    tuned = driver.controller.ControllerModifyVolume.future(modify, timeout=60)
    assert grown.result().capacity_bytes == 2 * GIB
    tuned.result()
    assert len(driver.calls("ModifyVolume")) == before + 1  # merged into one
    volume = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
    assert (volume["Size"], volume["Iops"]) == (2, 4000)
    again = csi_pb2.ControllerExpandVolumeRequest(
        volume_id=volume_id, capacity_range=csi_pb2.CapacityRange(required_bytes=3 * GIB))
    for _ in range(3):
        with pytest.raises(grpc.RpcError) as refused:
            driver.controller.ControllerExpandVolume(again, timeout=60)
        error: Any = refused.value
        assert _code(error) == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "VolumeModificationRateExceeded" in error.details()
    # One refused call reached AWS; the retries were answered without calling it again.
    assert len(driver.calls("ModifyVolume")) == before + 2
    driver.delete(volume_id)
