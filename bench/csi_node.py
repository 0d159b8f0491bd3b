"""EBS CSI driver, node side: NodeStage + NodePublish of N volumes per filesystem, as kubelet
drives them, on real loop devices (sparse files of the volumes' full size, made by the same
module as the sandbox's attach) against `k8s-aws csi-driver --mode node`. The first stage of
a volume formats it (mkfs), so this is the cost a new PVC pays on its node. Prints one JSON
line per filesystem: p50 / p95 / max seconds per volume for stage, publish and both.

    .venv/bin/python bench/csi_node.py [--volumes 20] [--size-gib 10] [--fs ext4,xfs]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc

from k8s_aws.volumes.csi.proto import csi_pb2, csi_pb2_grpc
from k8s_aws_sandbox.loopdevices import LoopDevices

Mode = csi_pb2.VolumeCapability.AccessMode


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(values), 3), "p95": round(percentile(values, 0.95), 3),
            "max": round(max(values), 3)}


def start(root: Path, devices: LoopDevices) -> tuple[subprocess.Popen[bytes], grpc.Channel]:
    socket = root / "csi.sock"
    process = subprocess.Popen(
        [sys.executable, "-m", "k8s_aws.cli.main", "csi-driver", f"--endpoint=unix://{socket}",
         "--mode=node", "--node-id=i-0bench", "--zone=us-east-1a", "--log-level=warning",
         f"--device-by-id-dir={devices.dirs.by_id}", f"--device-dir={devices.dirs.dev}"],
        env={**os.environ, "AWS_EC2_METADATA_DISABLED": "true"},
        stdout=subprocess.DEVNULL, stderr=open(root / "driver.log", "ab"))  # noqa: SIM115
    channel = grpc.insecure_channel(f"unix://{socket}")
    identity = csi_pb2_grpc.IdentityStub(channel)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if socket.exists() and identity.Probe(csi_pb2.ProbeRequest(), timeout=2).ready.value:
                return process, channel
        except grpc.RpcError:
            pass
        time.sleep(0.1)
    raise SystemExit("the node service did not become ready")


def run(fs_type: str, volumes: int, size_gib: int, root: Path) -> dict[str, object]:
    devices = LoopDevices(root / "devices")
    devices.release_all()
    process, channel = start(root, devices)
    node = csi_pb2_grpc.NodeStub(channel)
    capability = csi_pb2.VolumeCapability(
        mount=csi_pb2.VolumeCapability.MountVolume(fs_type=fs_type),
        access_mode=Mode(mode=Mode.SINGLE_NODE_WRITER))
    stage, publish, both = [], [], []
    try:
        for index in range(volumes):
            volume_id = f"vol-0{index:016x}"
            devices.attach(volume_id, f"/dev/xvd{chr(97 + index // 26)}{chr(97 + index % 26)}",
                           size_gib)
            staging, target = root / "stage" / volume_id, root / "pods" / volume_id
            started = time.perf_counter()
            node.NodeStageVolume(csi_pb2.NodeStageVolumeRequest(
                volume_id=volume_id, staging_target_path=str(staging),
                volume_capability=capability), timeout=300)
            staged = time.perf_counter()
            node.NodePublishVolume(csi_pb2.NodePublishVolumeRequest(
                volume_id=volume_id, staging_target_path=str(staging),
                target_path=str(target), volume_capability=capability), timeout=300)
            done = time.perf_counter()
            stage.append(staged - started)
            publish.append(done - staged)
            both.append(done - started)
    finally:
        channel.close()
        process.terminate()
        process.wait(timeout=30)
        devices.release_all()
    return {"fs": fs_type, "volumes": volumes, "size_gib": size_gib,
            "stage_s": summary(stage), "publish_s": summary(publish),
            "stage_publish_s": summary(both)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--volumes", type=int, default=20)
    parser.add_argument("--size-gib", type=int, default=10)
    parser.add_argument("--fs", default="ext4,xfs")
    args = parser.parse_args()
    for fs_type in args.fs.split(","):
        with tempfile.TemporaryDirectory(prefix="bench-node-") as scratch:
            print(json.dumps(run(fs_type, args.volumes, args.size_gib, Path(scratch))),
                  flush=True)


if __name__ == "__main__":
    main()
