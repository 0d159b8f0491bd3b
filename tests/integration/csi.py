"""Run `k8s-aws csi-driver` in the sandbox as a control-VM process (endpoints from aws.env,
credentials and identity from the control VM's IMDS) and talk CSI to it over its socket."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from k8s_aws.support.deadline import wait_until
from k8s_aws.volumes.csi.proto import csi_pb2, csi_pb2_grpc
from k8s_aws_sandbox.loopdevices import DEVICES_DIR, LoopDevices
from k8s_aws_sandbox.state import SandboxState

from .conftest import CLI, aws_env

APP_ID = "k8s-aws-csi-driver"
GIB = 1024**3
SINGLE_WRITER = csi_pb2.VolumeCapability(
    mount=csi_pb2.VolumeCapability.MountVolume(fs_type="ext4"),
    access_mode=csi_pb2.VolumeCapability.AccessMode(
        mode=csi_pb2.VolumeCapability.AccessMode.SINGLE_NODE_WRITER))


@dataclass
class Driver:
    process: subprocess.Popen[bytes]
    socket: Path
    call_log: Path
    log: Path
    channel: grpc.Channel

    @property
    def controller(self) -> Any:
        return csi_pb2_grpc.ControllerStub(self.channel)

    @property
    def identity(self) -> Any:
        return csi_pb2_grpc.IdentityStub(self.channel)

    @property
    def node(self) -> Any:
        return csi_pb2_grpc.NodeStub(self.channel)

    def calls(self, operation: str | None = None) -> list[dict[str, Any]]:
        if not self.call_log.exists():
            return []
        entries = [json.loads(line) for line in self.call_log.read_text().splitlines() if line]
        return [e for e in entries if operation is None or e["operation"] == operation]

    def create(self, name: str, parameters: dict[str, str] | None = None,
               size_gib: int = 1, **fields: Any) -> Any:
        return self.controller.CreateVolume(csi_pb2.CreateVolumeRequest(
            name=name, capacity_range=csi_pb2.CapacityRange(required_bytes=size_gib * GIB),
            volume_capabilities=[SINGLE_WRITER], parameters=parameters or {}, **fields),
            timeout=120)

    def delete(self, volume_id: str) -> None:
        self.controller.DeleteVolume(csi_pb2.DeleteVolumeRequest(volume_id=volume_id),
                                     timeout=120)

    def node_id(self) -> str:
        return str(self.node.NodeGetInfo(csi_pb2.NodeGetInfoRequest(), timeout=30).node_id)

    def publish(self, volume_id: str, node_id: str) -> Any:
        return self.controller.ControllerPublishVolume(csi_pb2.ControllerPublishVolumeRequest(
            volume_id=volume_id, node_id=node_id, volume_capability=SINGLE_WRITER), timeout=120)

    def unpublish(self, volume_id: str, node_id: str) -> None:
        self.controller.ControllerUnpublishVolume(csi_pb2.ControllerUnpublishVolumeRequest(
            volume_id=volume_id, node_id=node_id), timeout=120)


def driver_env(sandbox: SandboxState) -> dict[str, str]:
    env = aws_env(sandbox)
    # A process on the control VM: IMDS gives credentials, region, instance id and zone.
    env.update(AWS_EC2_METADATA_DISABLED="false", PYTHONUNBUFFERED="1")
    return env


def _ready(driver: Driver) -> bool:
    driver.process.poll()
    if driver.process.returncode is not None:
        raise AssertionError(f"csi-driver exited {driver.process.returncode}:\n"
                             + driver.log.read_text()[-3000:])
    if not driver.socket.exists():
        return False
    answer = driver.identity.Probe(csi_pb2.ProbeRequest(), timeout=2)
    return bool(answer.ready.value)


def start_driver(sandbox: SandboxState, directory: Path, *extra: str) -> Driver:
    directory.mkdir(parents=True, exist_ok=True)
    socket = directory / "csi.sock"
    log = directory / "driver.log"
    devices = LoopDevices(sandbox.root / DEVICES_DIR)
    call_log = directory / "calls.jsonl"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [*CLI, "csi-driver", f"--endpoint=unix://{socket}", "--mode=all",
             f"--cluster-name={sandbox.cluster}", f"--call-log={call_log}",
             # The control VM's attachments appear as loop devices under the sandbox.
             f"--device-by-id-dir={devices.dirs.by_id}", f"--device-dir={devices.dirs.dev}",
             *extra],
            env=driver_env(sandbox), stdout=out, stderr=subprocess.STDOUT)
    driver = Driver(process, socket, call_log, log, grpc.insecure_channel(f"unix://{socket}"))
    wait_until(lambda: _ready(driver), timeout=60, what="csi-driver to answer Probe")
    return driver


def stop_process(process: subprocess.Popen[bytes], channel: grpc.Channel) -> None:
    """SIGTERM (the driver's clean stop), SIGKILL if it does not go within 15 s."""
    channel.close()
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def stop_driver(driver: Driver) -> None:
    stop_process(driver.process, driver.channel)


@contextmanager
def running_driver(sandbox: SandboxState, directory: Path, *extra: str) -> Iterator[Driver]:
    driver = start_driver(sandbox, directory, *extra)
    try:
        yield driver
    finally:
        stop_driver(driver)


def volumes_named(ec2: Any, name: str) -> list[dict[str, Any]]:
    answer = ec2.describe_volumes(Filters=[{"Name": "tag:CSIVolumeName", "Values": [name]}])
    return list(answer["Volumes"])
