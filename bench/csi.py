"""EBS CSI driver at scale: V volumes created and attached over I instances, as the sidecars
would drive it (CreateVolume then ControllerPublishVolume per volume, `--concurrency` at a
time), against the emulator with its fidelity layer on (default delays: create 0.5 s, attach
0.3 s). Prints one JSON line: create-to-attached latency, AWS calls by operation and per
volume (the driver's call log), and the driver's RSS.

    .venv/bin/python bench/csi.py [--volumes 200] [--instances 50] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

import boto3
import grpc

from k8s_aws.volumes.csi.proto import csi_pb2, csi_pb2_grpc

REGION, ZONE = "us-west-2", "us-west-2a"
CAPABILITY = csi_pb2.VolumeCapability(
    mount=csi_pb2.VolumeCapability.MountVolume(),
    access_mode=csi_pb2.VolumeCapability.AccessMode(
        mode=csi_pb2.VolumeCapability.AccessMode.SINGLE_NODE_WRITER))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text()
                  .splitlines() if ":" in line)
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def wait_for(check: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"timed out waiting for {what}")


async def one_volume(stub: object, index: int, node: str) -> tuple[float, float]:
    started = time.monotonic()
    created = await stub.CreateVolume(csi_pb2.CreateVolumeRequest(  # type: ignore[attr-defined]
        name=f"pvc-bench-{index}", volume_capabilities=[CAPABILITY],
        capacity_range=csi_pb2.CapacityRange(required_bytes=1 << 30)), timeout=300)
    created_at = time.monotonic()
    await stub.ControllerPublishVolume(  # type: ignore[attr-defined]
        csi_pb2.ControllerPublishVolumeRequest(
            volume_id=created.volume.volume_id, node_id=node, volume_capability=CAPABILITY),
        timeout=300)
    return created_at - started, time.monotonic() - started


async def drive(socket_path: Path, nodes: list[str], volumes: int,
                concurrency: int) -> list[tuple[float, float]]:
    limit = asyncio.Semaphore(concurrency)
    async with grpc.aio.insecure_channel(f"unix://{socket_path}") as channel:
        stub = csi_pb2_grpc.ControllerStub(channel)

        async def bounded(i: int) -> tuple[float, float]:
            async with limit:
                return await one_volume(stub, i, nodes[i % len(nodes)])

        return await asyncio.gather(*(bounded(i) for i in range(volumes)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--volumes", type=int, default=200)
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-csi-"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION=REGION,
               AWS_DEFAULT_REGION=REGION, AWS_EC2_METADATA_DISABLED="true",
               AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}")
    emulator = subprocess.Popen(
        [sys.executable, "-m", "k8s_aws_sandbox.emulator", "--port", str(port)], env=env,
        stdout=open(work / "emulator.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
    driver = None
    try:
        wait_for(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/_k8s_aws/config"),
                 "the emulator")
        ec2 = boto3.session.Session(aws_access_key_id="bench", aws_secret_access_key="bench",
                                    region_name=REGION).client(
            "ec2", endpoint_url=f"http://127.0.0.1:{port}")
        image = ec2.describe_images()["Images"][0]["ImageId"]
        launched = ec2.run_instances(ImageId=image, MinCount=args.instances,
                                     MaxCount=args.instances, InstanceType="m5.large",
                                     Placement={"AvailabilityZone": ZONE})
        nodes = [i["InstanceId"] for i in launched["Instances"]]
        socket_path = work / "csi.sock"
        driver = subprocess.Popen(
            [sys.executable, "-m", "k8s_aws.cli.main", "csi-driver",
             f"--endpoint=unix://{socket_path}", "--mode=controller", f"--zone={ZONE}",
             f"--region={REGION}", "--cluster-name=bench", f"--call-log={work / 'calls.jsonl'}",
             "--log-level=warning"],
            env=env, stdout=open(work / "driver.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT)
        wait_for(socket_path.exists, "the driver's socket")
        rss_idle = rss_mb(driver.pid)[0]
        started = time.monotonic()
        latencies = asyncio.run(drive(socket_path, nodes, args.volumes, args.concurrency))
        wall = time.monotonic() - started
        rss, peak = rss_mb(driver.pid)
        calls = [json.loads(line) for line in (work / "calls.jsonl").read_text().splitlines()]
        by_operation = Counter(c["operation"] for c in calls)
        attached = sorted(total for _, total in latencies)
        print(json.dumps({
            "volumes": args.volumes, "instances": args.instances,
            "concurrency": args.concurrency, "wall_s": round(wall, 1),
            "create_p50_s": round(statistics.median(c for c, _ in latencies), 2),
            "create_to_attached_p50_s": round(statistics.median(attached), 2),
            "create_to_attached_p95_s": round(attached[int(len(attached) * 0.95) - 1], 2),
            "aws_calls": len(calls), "calls_per_volume": round(len(calls) / args.volumes, 2),
            "calls_by_operation": dict(by_operation.most_common()),
            "driver_rss_mb": round(rss), "driver_peak_rss_mb": round(peak),
            "driver_idle_rss_mb": round(rss_idle),
        }))
    finally:
        for process in (driver, emulator):
            if process is not None:
                process.terminate()
                process.wait(timeout=30)


if __name__ == "__main__":
    main()
