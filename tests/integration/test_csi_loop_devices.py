"""The sandbox's attachments make real block devices: attaching a volume to the control VM
(where a node service runs) makes a loop device of the volume's full size, linked where the
resolver looks; ModifyVolume grows it; detach removes it; leftovers are found by backing file
under one directory only, so coexisting sandboxes never release each other's devices."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from k8s_aws.host import blockdev
from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.control import down
from k8s_aws_sandbox.fidelity.control import FidelityControl
from k8s_aws_sandbox.loopdevices import DEVICES_DIR, LoopDevices, loops_backed_under
from k8s_aws_sandbox.state import SandboxState

from .csi import GIB, running_driver

VOLUME = "vol-0cccccccccccccccc"


def test_attach_grow_and_detach_drive_a_real_loop_device(
        sandbox: SandboxState, ec2: Any, tmp_path: Path) -> None:
    control = FidelityControl(sandbox.emulator_url)
    assert control.block_devices()["instances"] == [sandbox.world.control_instance]
    devices = LoopDevices(sandbox.root / DEVICES_DIR)
    with running_driver(sandbox, tmp_path / "driver") as driver:
        node_id = driver.node_id()
        volume_id = str(driver.create("pvc-loop", size_gib=2).volume.volume_id)
        try:
            device_path = driver.publish(volume_id, node_id).publish_context["devicePath"]
            device = control.block_devices()["attached"][volume_id]
            assert blockdev.size_bytes(device) == 2 * GIB
            assert blockdev.volume_identity(device) == volume_id
            link = devices.dirs.dev / os.path.basename(device_path)
            assert os.path.realpath(link) == device
            backing = devices.backing(volume_id)
            assert backing.stat().st_blocks == 0  # sparse: nothing written
            ec2.modify_volume(VolumeId=volume_id, Size=3)
            assert blockdev.size_bytes(device) == 3 * GIB
            driver.unpublish(volume_id, node_id)
            assert volume_id not in control.block_devices()["attached"]
            assert not link.exists() and backing.exists()  # the data outlives the attachment
        finally:
            driver.delete(volume_id)
        wait_until(lambda: not devices.backing(volume_id).exists(), timeout=30,
                   what="the deleted volume's data to go")


def test_leftovers_are_released_by_backing_file_in_their_own_directory_only(
        tmp_path: Path) -> None:
    mine, theirs = LoopDevices(tmp_path / "mine"), LoopDevices(tmp_path / "theirs")
    try:
        mine.attach(VOLUME, "/dev/xvdaa", 1)
        other = theirs.attach(VOLUME, "/dev/xvdaa", 1)
        staged = tmp_path / "staged"
        staged.mkdir()
        os.system(f"mkfs.ext4 -q -F {mine.attached()[VOLUME]}")
        os.system(f"mount {mine.attached()[VOLUME]} {staged}")
        # A fresh process knows nothing: everything is found from the kernel.
        released = LoopDevices(tmp_path / "mine").release_all()
        assert len(released) == 1 and not os.path.ismount(staged)
        assert loops_backed_under(tmp_path / "mine") == {}
        assert loops_backed_under(tmp_path / "theirs") == {other: theirs.backing(VOLUME)}
    finally:
        mine.release_all()
        theirs.release_all()


def test_sandbox_down_releases_the_sandboxes_loop_devices(tmp_path: Path) -> None:
    sandbox_dir = tmp_path / "sandbox"
    devices = LoopDevices(sandbox_dir / DEVICES_DIR)
    try:
        device = devices.attach(VOLUME, "/dev/xvdaa", 1)
        assert loops_backed_under(sandbox_dir) == {device: devices.backing(VOLUME)}
        released = down(sandbox_dir)  # as after a crash: no process left, devices remain
        assert device in released
        assert loops_backed_under(sandbox_dir) == {}
        assert not devices.backing(VOLUME).exists()
    finally:
        devices.release_all()
