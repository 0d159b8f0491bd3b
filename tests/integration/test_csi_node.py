"""The node service on real loop devices (made as the sandbox makes them on attach): format
once, never reformat, refuse a foreign filesystem or a stale link untouched, grow, report
real numbers, raw block, and convergence after kill -9 between stage and publish."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from k8s_aws.cloud.metadata import NodeMetadata
from k8s_aws.support.deadline import wait_until
from k8s_aws.volumes.csi.node_identity import held_ebs_disks, max_volumes
from k8s_aws.volumes.csi.proto import csi_pb2
from k8s_aws_sandbox.loopdevices import LoopDevices

from .csi_node import (
    GIB,
    NodeDriver,
    blkid,
    block_capability,
    loop_devices,
    mount_capability,
    start_node_driver,
    stop_node_driver,
)

# No AWS call here: nothing for IAM to enforce, so `make test-iam` leaves it out.
pytestmark = pytest.mark.once
VOL_A = "vol-0aaaaaaaaaaaaaaa1"
VOL_B = "vol-0bbbbbbbbbbbbbbb2"


@pytest.fixture
def devices(tmp_path: Path) -> Iterator[LoopDevices]:
    with loop_devices(tmp_path / "devices") as made:
        yield made


@pytest.fixture
def driver(tmp_path: Path, devices: LoopDevices) -> Iterator[NodeDriver]:
    started = start_node_driver(tmp_path / "driver", devices)
    try:
        yield started
    finally:
        stop_node_driver(started)


def _error(call: Callable[[], object]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as raised:
        call()
    error: Any = raised.value
    return error.code(), str(error.details())


def _code(call: Callable[[], object]) -> grpc.StatusCode:
    return _error(call)[0]


def test_stage_formats_once_and_a_second_stage_does_not(
        driver: NodeDriver, devices: LoopDevices, tmp_path: Path) -> None:
    device = devices.attach(VOL_A, "/dev/xvdaa", 1)
    staging = tmp_path / "stage"
    driver.stage(VOL_A, staging, device="/dev/xvdaa",
                 context={"blockSize": "1024", "inodeSize": "512"})
    uuid = blkid(device)["UUID"]
    assert blkid(device)["TYPE"] == "ext4"
    (staging / "data").write_text("kept")
    driver.stage(VOL_A, staging, device="/dev/xvdaa")  # idempotent while staged
    driver.unstage(VOL_A, staging)
    driver.unstage(VOL_A, staging)  # idempotent
    driver.stage(VOL_A, staging)  # found by its by-id link alone, not formatted again
    assert blkid(device)["UUID"] == uuid
    assert (staging / "data").read_text() == "kept"
    # The StorageClass mkfs options reached mkfs through the volume context.
    info = os.statvfs(staging)
    assert info.f_bsize == 1024
    driver.unstage(VOL_A, staging)


def test_an_xfs_device_staged_as_ext4_is_refused_untouched(
        driver: NodeDriver, devices: LoopDevices, tmp_path: Path) -> None:
    device = devices.attach(VOL_A, "/dev/xvdaa", 1)
    os.system(f"mkfs.xfs -q {device}")
    before = blkid(device)
    code, message = _error(lambda: driver.stage(VOL_A, tmp_path / "stage"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "xfs" in message and VOL_A in message
    assert blkid(device) == before
    assert not os.path.ismount(tmp_path / "stage")


def test_xfs_clones_sharing_a_uuid_both_stage(
        driver: NodeDriver, devices: LoopDevices, tmp_path: Path) -> None:
    original = devices.attach(VOL_A, "/dev/xvdaa", 1)
    driver.stage(VOL_A, tmp_path / "a", mount_capability("xfs"))
    driver.unstage(VOL_A, tmp_path / "a")
    devices.detach(VOL_A)
    # A volume restored from a snapshot of A: the same bytes, so the same xfs UUID.
    os.system(f"cp --sparse=always {devices.backing(VOL_A)} {devices.backing(VOL_B)}")
    original = devices.attach(VOL_A, "/dev/xvdaa", 1)
    clone = devices.attach(VOL_B, "/dev/xvdab", 1)
    assert blkid(original)["UUID"] == blkid(clone)["UUID"]
    driver.stage(VOL_A, tmp_path / "a", mount_capability("xfs"))
    driver.stage(VOL_B, tmp_path / "b", mount_capability("xfs"))  # nouuid makes it mount
    assert os.path.ismount(tmp_path / "a") and os.path.ismount(tmp_path / "b")
    driver.unstage(VOL_B, tmp_path / "b")
    driver.unstage(VOL_A, tmp_path / "a")


def test_a_stale_link_to_another_volumes_device_is_refused(
        driver: NodeDriver, devices: LoopDevices, tmp_path: Path) -> None:
    devices.attach(VOL_A, "/dev/xvdaa", 1)
    other = devices.attach(VOL_B, "/dev/xvdab", 1)
    devices.detach(VOL_A)
    # A stale link left behind: VOL_A's name now leads to VOL_B's device.
    link = devices.dirs.by_id / f"nvme-Amazon_Elastic_Block_Store_{VOL_A.replace('-', '')}"
    link.symlink_to(other)
    code, message = _error(lambda: driver.stage(VOL_A, tmp_path / "stage"))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert VOL_A in message and VOL_B in message
    assert blkid(other) == {}  # VOL_B was not formatted
    # Not attached at all: NOT_FOUND, naming where it looked.
    link.unlink()
    code, message = _error(lambda: driver.stage(VOL_A, tmp_path / "stage"))
    assert code == grpc.StatusCode.NOT_FOUND and VOL_A in message


def _can_resize_online() -> bool:
    """Growing a mounted ext4 needs CAP_SYS_RESOURCE (these CI containers lack it)."""
    status = Path("/proc/self/status").read_text()
    effective = int(next(line.split()[1] for line in status.splitlines()
                         if line.startswith("CapEff:")), 16)
    return bool(effective & (1 << 24))


def _size(path: Path) -> int:
    info = os.statvfs(path)
    return info.f_blocks * info.f_frsize


@pytest.mark.parametrize("fs_type", ["ext4", "xfs"])
def test_expand_grows_the_filesystem_to_the_grown_device(
        driver: NodeDriver, devices: LoopDevices, tmp_path: Path, fs_type: str) -> None:
    devices.attach(VOL_A, "/dev/xvdaa", 1)
    staging, target = tmp_path / "stage", tmp_path / "pod" / "mount"
    capability = mount_capability(fs_type)
    driver.stage(VOL_A, staging, capability)
    driver.publish(VOL_A, staging, target, capability)
    before = _size(target)
    devices.grow(VOL_A, 2)  # what ModifyVolume does to the emulated volume
    if fs_type == "ext4" and not _can_resize_online():
        # The kernel refuses an online ext4 resize without CAP_SYS_RESOURCE: a clear
        # FAILED_PRECONDITION naming it, and the filesystem untouched...
        code, message = _error(lambda: driver.expand(VOL_A, target, required=2 * GIB))
        assert code == grpc.StatusCode.FAILED_PRECONDITION and "CAP_SYS_RESOURCE" in message
        assert _size(target) == before
        # ...and the offline path (kubelet stages the volume again) grows it at stage.
        driver.unpublish(VOL_A, target)
        driver.unstage(VOL_A, staging)
        driver.stage(VOL_A, staging, capability)
        driver.publish(VOL_A, staging, target, capability)
    else:
        assert driver.expand(VOL_A, target, required=2 * GIB).capacity_bytes == 2 * GIB
    assert _size(target) > before + GIB // 2, (before, _size(target))
    # More than the device holds: retryable, not a failure of the volume.
    assert _code(lambda: driver.expand(VOL_A, target, required=3 * GIB)) == (
        grpc.StatusCode.UNAVAILABLE)
    driver.unpublish(VOL_A, target)
    driver.unstage(VOL_A, staging)


def test_stage_grows_a_filesystem_smaller_than_its_device(
        driver: NodeDriver, devices: LoopDevices, tmp_path: Path) -> None:
    device = devices.attach(VOL_A, "/dev/xvdaa", 1)
    os.system(f"mkfs.ext4 -q -F {device}")  # a volume restored from a 1 GiB snapshot...
    devices.grow(VOL_A, 2)  # ...into a 2 GiB volume
    staging = tmp_path / "stage"
    driver.stage(VOL_A, staging)
    info = os.statvfs(staging)
    assert info.f_blocks * info.f_frsize > 1.5 * GIB
    driver.unstage(VOL_A, staging)


def test_stats_report_real_numbers_and_an_abnormal_condition(
        driver: NodeDriver, devices: LoopDevices, tmp_path: Path) -> None:
    devices.attach(VOL_A, "/dev/xvdaa", 1)
    staging, target = tmp_path / "stage", tmp_path / "pod" / "mount"
    driver.stage(VOL_A, staging)
    driver.publish(VOL_A, staging, target)
    empty = {u.unit: u for u in driver.stats(VOL_A, target).usage}
    (target / "blob").write_bytes(os.urandom(64 * 1024 * 1024))
    for index in range(100):
        (target / f"f{index}").touch()
    os.sync()
    answer = driver.stats(VOL_A, target)
    usage = {u.unit: u for u in answer.usage}
    Unit = csi_pb2.VolumeUsage
    assert not answer.volume_condition.abnormal
    assert 0.9 * GIB < usage[Unit.BYTES].total <= GIB
    assert usage[Unit.BYTES].used - empty[Unit.BYTES].used >= 64 * 1024 * 1024
    assert usage[Unit.INODES].used - empty[Unit.INODES].used >= 101
    assert usage[Unit.BYTES].available < empty[Unit.BYTES].available
    # Another volume asked about this path: NOT_FOUND; a path that is no mount: abnormal.
    assert _code(lambda: driver.stats(VOL_B, target)) == grpc.StatusCode.NOT_FOUND
    driver.unpublish(VOL_A, target)
    target.mkdir(parents=True)
    assert driver.stats(VOL_A, target).volume_condition.abnormal
    target.rmdir()
    assert _code(lambda: driver.stats(VOL_A, target)) == grpc.StatusCode.NOT_FOUND
    driver.unstage(VOL_A, staging)


def test_raw_block_publish_binds_the_device_onto_a_file(
        driver: NodeDriver, devices: LoopDevices, tmp_path: Path) -> None:
    device = devices.attach(VOL_A, "/dev/xvdaa", 1)
    staging, target = tmp_path / "stage", tmp_path / "pod" / "dev" / VOL_A
    driver.stage(VOL_A, staging, block_capability(), device="/dev/xvdaa")
    driver.publish(VOL_A, staging, target, block_capability(), device="/dev/xvdaa")
    driver.publish(VOL_A, staging, target, block_capability(), device="/dev/xvdaa")
    with open(target, "r+b") as handle:
        handle.seek(GIB // 2)
        handle.write(b"raw block")
    with open(device, "rb") as handle:
        handle.seek(GIB // 2)
        assert handle.read(9) == b"raw block"
    assert blkid(device) == {}  # raw block is never formatted
    stats = driver.stats(VOL_A, target)
    assert stats.usage[0].total == GIB
    assert driver.expand(VOL_A, target).capacity_bytes == GIB  # nothing to grow
    driver.unpublish(VOL_A, target)
    assert not target.exists()
    driver.unstage(VOL_A, staging)


def test_unpublish_and_unstage_never_touch_another_volumes_mount(
        driver: NodeDriver, devices: LoopDevices, tmp_path: Path) -> None:
    devices.attach(VOL_A, "/dev/xvdaa", 1)
    devices.attach(VOL_B, "/dev/xvdab", 1)
    staging_a, staging_b, target = tmp_path / "a", tmp_path / "b", tmp_path / "pod" / "m"
    driver.stage(VOL_A, staging_a)
    driver.stage(VOL_B, staging_b)
    driver.publish(VOL_B, staging_b, target, readonly=True)
    assert _code(lambda: driver.unstage(VOL_A, staging_b)) == (
        grpc.StatusCode.FAILED_PRECONDITION)
    assert _code(lambda: driver.unpublish(VOL_A, target)) == (
        grpc.StatusCode.FAILED_PRECONDITION)
    assert os.path.ismount(staging_b) and os.path.ismount(target)
    # Publishing A where B is, or A from B's staging path: refused too.
    assert _code(lambda: driver.publish(VOL_A, staging_b, tmp_path / "pod" / "x")) == (
        grpc.StatusCode.FAILED_PRECONDITION)
    with pytest.raises(OSError):
        (target / "w").write_text("read-only")
    driver.unpublish(VOL_B, target)
    driver.unstage(VOL_B, staging_b)
    driver.unstage(VOL_A, staging_a)


def test_bad_requests_get_the_spec_codes_naming_the_field(
        driver: NodeDriver, devices: LoopDevices, tmp_path: Path) -> None:
    device = devices.attach(VOL_A, "/dev/xvdaa", 1)
    staging = tmp_path / "stage"
    cases = [
        (lambda: driver.stage("", staging), "volume_id"),
        (lambda: driver.node.NodeStageVolume(csi_pb2.NodeStageVolumeRequest(
            volume_id=VOL_A, staging_target_path=str(staging)), timeout=30),
         "volume_capability"),
        (lambda: driver.stage(VOL_A, staging, context={"blocksize": "4096"}),
         "volume_context.blocksize"),
        (lambda: driver.stage(VOL_A, staging, context={"inodeSize": "big"}),
         "volume_context.inodeSize"),
        (lambda: driver.stage(VOL_A, staging, mount_capability("btrfs")), "fs_type"),
        (lambda: driver.stage(VOL_A, staging, mount_capability(
            mode=csi_pb2.VolumeCapability.AccessMode.MULTI_NODE_MULTI_WRITER)),
         "access mode"),
        (lambda: driver.node.NodePublishVolume(csi_pb2.NodePublishVolumeRequest(
            volume_id=VOL_A, target_path=str(tmp_path / "t"),
            volume_capability=mount_capability()), timeout=30), "staging_target_path"),
        (lambda: driver.node.NodeExpandVolume(csi_pb2.NodeExpandVolumeRequest(
            volume_id=VOL_A), timeout=30), "volume_path"),
        (lambda: driver.node.NodeGetVolumeStats(csi_pb2.NodeGetVolumeStatsRequest(
            volume_path=str(staging)), timeout=30), "volume_id"),
    ]
    for call, field in cases:
        code, message = _error(call)
        assert code == grpc.StatusCode.INVALID_ARGUMENT, (field, code, message)
        assert field in message, (field, message)
    assert blkid(device) == {}  # nothing was formatted on a bad request
    assert not os.path.ismount(staging)


def test_kill_9_between_stage_and_publish_then_restart_converges(
        devices: LoopDevices, tmp_path: Path) -> None:
    device = devices.attach(VOL_A, "/dev/xvdaa", 1)
    staging, target = tmp_path / "stage", tmp_path / "pod" / "mount"
    first = start_node_driver(tmp_path / "first", devices)
    try:
        first.stage(VOL_A, staging, device="/dev/xvdaa")
        uuid = blkid(device)["UUID"]
        os.kill(first.process.pid, signal.SIGKILL)
        wait_until(lambda: first.process.poll() is not None, timeout=30, what="the kill")
    finally:
        stop_node_driver(first)
    second = start_node_driver(tmp_path / "second", devices)
    try:
        # kubelet retries the stage, then publishes: same filesystem, no second mount.
        second.stage(VOL_A, staging, device="/dev/xvdaa")
        second.publish(VOL_A, staging, target)
        assert blkid(device)["UUID"] == uuid
        staged = [line for line in Path("/proc/self/mountinfo").read_text().splitlines()
                  if f" {staging} " in line]
        assert len(staged) == 1, staged
        (target / "after-restart").write_text("ok")
        second.unpublish(VOL_A, target)
        second.unstage(VOL_A, staging)
        assert not os.path.ismount(staging) and not target.exists()
    finally:
        stop_node_driver(second)


def test_imds_unreachable_keeps_the_service_up_and_not_ready(
        devices: LoopDevices, tmp_path: Path) -> None:
    # An IMDS endpoint nobody listens on: as from a pod behind a hop limit of 1.
    env = {"AWS_EC2_METADATA_DISABLED": "false",
           "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9/"}
    driver = start_node_driver(tmp_path / "driver", devices, "--log-level=info",
                               wait_ready=False, env=env)
    try:
        wait_until(driver.socket.exists, timeout=60, what="the socket")
        wait_until(lambda: "hop limit" in driver.log.read_text(), timeout=60,
                   what="the IMDS error in the log")
        assert not driver.ready()
        assert _code(lambda: driver.node.NodeGetInfo(csi_pb2.NodeGetInfoRequest(),
                                                     timeout=10)) == grpc.StatusCode.UNAVAILABLE
        log = driver.log.read_text()
        assert log.count("hop limit") == 1 and "--node-id" in log and "--zone" in log
        assert driver.process.poll() is None
    finally:
        stop_node_driver(driver)


def test_attach_limit_counts_the_disks_held_but_not_kubelets_csi_volumes(
        devices: LoopDevices, tmp_path: Path) -> None:
    bosh_disk = devices.attach(VOL_A, "/dev/xvdaa", 1)  # e.g. BOSH's persistent disk
    csi_volume = devices.attach(VOL_B, "/dev/xvdab", 1)
    os.system(f"mkfs.ext4 -q -F {csi_volume}")
    staged = tmp_path / "plugins" / "kubernetes.io" / "csi" / "ebs.csi.aws.com" / "x" / "mount"
    staged.mkdir(parents=True)
    os.system(f"mount {csi_volume} {staged}")
    try:
        assert held_ebs_disks(devices.dirs) == {os.path.basename(bosh_disk)}
        metadata = NodeMetadata("i-1", "us-east-1", "us-east-1a", "m5.large", interfaces=2)
        assert max_volumes(metadata, devices.dirs) == 27 - 1 - 1  # one disk, one extra ENI
        dedicated = NodeMetadata("i-1", "us-east-1", "us-east-1a", "m7i.large", interfaces=2)
        assert max_volumes(dedicated, devices.dirs) == 32 - 1
    finally:
        os.system(f"umount {staged}")
