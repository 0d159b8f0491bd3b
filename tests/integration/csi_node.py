"""A node-mode `k8s-aws csi-driver` process on real loop devices, without a sandbox: the
devices are made by the same module the sandbox's emulator uses on attach, in a directory of
the test's own, and always released afterwards."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from k8s_aws.support.deadline import wait_until
from k8s_aws.volumes.csi.proto import csi_pb2, csi_pb2_grpc
from k8s_aws_sandbox.loopdevices import LoopDevices

from .conftest import CLI
from .csi import stop_process

GIB = 1024**3
NODE_ID = "i-0123456789abcdef0"
ZONE = "us-east-1a"
Mode = csi_pb2.VolumeCapability.AccessMode
# These tests make no AWS call: the IAM-enforcing rerun would prove nothing new.


def mount_capability(fs_type: str = "ext4", mode: Any = Mode.SINGLE_NODE_WRITER,
                     flags: tuple[str, ...] = ()) -> Any:
    return csi_pb2.VolumeCapability(
        mount=csi_pb2.VolumeCapability.MountVolume(fs_type=fs_type, mount_flags=list(flags)),
        access_mode=Mode(mode=mode))


def block_capability() -> Any:
    return csi_pb2.VolumeCapability(block=csi_pb2.VolumeCapability.BlockVolume(),
                                    access_mode=Mode(mode=Mode.SINGLE_NODE_WRITER))


@dataclass
class NodeDriver:
    process: subprocess.Popen[bytes]
    socket: Path
    log: Path
    channel: grpc.Channel

    @property
    def node(self) -> Any:
        return csi_pb2_grpc.NodeStub(self.channel)

    @property
    def identity(self) -> Any:
        return csi_pb2_grpc.IdentityStub(self.channel)

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"csi-driver exited {self.process.returncode}:\n"
                                 + self.log.read_text()[-3000:])
        if not self.socket.exists():
            return False
        return bool(self.identity.Probe(csi_pb2.ProbeRequest(), timeout=5).ready.value)

    def stage(self, volume_id: str, staging: Path, capability: Any | None = None,
              device: str = "", context: dict[str, str] | None = None) -> Any:
        return self.node.NodeStageVolume(csi_pb2.NodeStageVolumeRequest(
            volume_id=volume_id, staging_target_path=str(staging),
            volume_capability=capability or mount_capability(),
            publish_context={"devicePath": device} if device else {},
            volume_context=context or {}), timeout=120)

    def unstage(self, volume_id: str, staging: Path) -> Any:
        return self.node.NodeUnstageVolume(csi_pb2.NodeUnstageVolumeRequest(
            volume_id=volume_id, staging_target_path=str(staging)), timeout=60)

    def publish(self, volume_id: str, staging: Path, target: Path,
                capability: Any | None = None, readonly: bool = False,
                device: str = "") -> Any:
        return self.node.NodePublishVolume(csi_pb2.NodePublishVolumeRequest(
            volume_id=volume_id, staging_target_path=str(staging), target_path=str(target),
            volume_capability=capability or mount_capability(), readonly=readonly,
            publish_context={"devicePath": device} if device else {}), timeout=60)

    def unpublish(self, volume_id: str, target: Path) -> Any:
        return self.node.NodeUnpublishVolume(csi_pb2.NodeUnpublishVolumeRequest(
            volume_id=volume_id, target_path=str(target)), timeout=60)

    def stats(self, volume_id: str, path: Path) -> Any:
        return self.node.NodeGetVolumeStats(csi_pb2.NodeGetVolumeStatsRequest(
            volume_id=volume_id, volume_path=str(path)), timeout=60)

    def expand(self, volume_id: str, path: Path, required: int = 0) -> Any:
        return self.node.NodeExpandVolume(csi_pb2.NodeExpandVolumeRequest(
            volume_id=volume_id, volume_path=str(path),
            capacity_range=csi_pb2.CapacityRange(required_bytes=required)), timeout=120)


def start_node_driver(directory: Path, devices: LoopDevices, *extra: str,
                      wait_ready: bool = True, env: dict[str, str] | None = None) -> NodeDriver:
    directory.mkdir(parents=True, exist_ok=True)
    socket, log = directory / "csi.sock", directory / "driver.log"
    flags = [f"--node-id={NODE_ID}", f"--zone={ZONE}"] if not extra else list(extra)
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [*CLI, "csi-driver", f"--endpoint=unix://{socket}", "--mode=node",
             f"--device-by-id-dir={devices.dirs.by_id}", f"--device-dir={devices.dirs.dev}",
             *flags],
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=out, stderr=subprocess.STDOUT)
    driver = NodeDriver(process, socket, log, grpc.insecure_channel(f"unix://{socket}"))
    if wait_ready:
        wait_until(driver.ready, timeout=60, what="the node service to be ready")
    return driver


def stop_node_driver(driver: NodeDriver) -> None:
    stop_process(driver.process, driver.channel)


@contextmanager
def loop_devices(directory: Path) -> Iterator[LoopDevices]:
    """Loop devices for one test, released (mounts included) even when the test fails."""
    devices = LoopDevices(directory)
    devices.release_all()
    try:
        yield devices
    finally:
        devices.release_all()


def blkid(device: str) -> dict[str, str]:
    out = subprocess.run(["blkid", "-p", "-o", "export", device], capture_output=True,
                         text=True, check=False).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
