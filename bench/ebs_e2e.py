"""EBS end to end through the real sidecars: N PVCs + N Pods (WaitForFirstConsumer gp3) over
M worker nodes of a sandbox (emulator fidelity on, default delays: create 0.5 s, attach 0.3 s).

Per claim, from the API server (polled every 0.2 s): the scheduler's node choice on the
claim, PV created, claim Bound, Pod bound to the node, VolumeAttachment created, attached. The
driver's own share comes from the sidecars' `csi_sidecar_operations_seconds` histograms
(CreateVolume as csi-provisioner timed it, ControllerPublishVolume as csi-attacher did), so
it stands apart from Kubernetes' controllers, and, exactly, from the driver's own `csi call`
log lines (each call's duration inside the driver: p50 / p95 per method and status). AWS
calls are the driver's call log, by operation; RSS is the driver's. Then everything is
deleted: time until no PV, no VolumeAttachment and no EBS volume is left, and the calls
that took.

    .venv/bin/python bench/ebs_e2e.py [--claims 100] [--nodes 20]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import subprocess
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
from harness import kubectl, sandbox

from k8s_aws_sandbox.processes import ProcessGroup
from k8s_aws_sandbox.state import SandboxState

# node_selected: the scheduler's choice on the claim (csi-provisioner's cue); pod_bound: the
# Pod's nodeName, set only once its claim is bound (WaitForFirstConsumer's PreBind).
STAGES = ("created", "node_selected", "pv_created", "bound", "pod_bound", "va_created", "attached")
SELECTED_NODE = "volume.kubernetes.io/selected-node"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {"p50": round(statistics.median(values), 2), "p95": round(percentile(values, 0.95), 2),
            "max": round(max(values), 2)}


def objects(n: int) -> str:
    items: list[dict[str, Any]] = [{
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "bench-gp3"}, "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": "gp3"}, "volumeBindingMode": "WaitForFirstConsumer"}]
    for i in range(n):
        items.append({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                      "metadata": {"name": f"bench-{i}", "namespace": "default"},
                      "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "bench-gp3",
                               "resources": {"requests": {"storage": "1Gi"}}}})
        items.append({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": f"bench-{i}", "namespace": "default"},
                      "spec": {"containers": [{"name": "a", "image": "pause"}],
                               "terminationGracePeriodSeconds": 0,
                               "volumes": [{"name": "d", "persistentVolumeClaim": {
                                   "claimName": f"bench-{i}"}}]}})
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})


def observe(state: SandboxState, seen: dict[str, dict[str, float]], started: float) -> None:
    """Record the first time each claim reaches each stage."""
    now = time.monotonic() - started

    def mark(claim: str, stage: str) -> None:
        if claim.startswith("bench-"):
            seen.setdefault(claim, {}).setdefault(stage, now)

    for p in state.api_get("/api/v1/namespaces/default/pods")["items"]:
        if p["spec"].get("nodeName"):
            mark(p["metadata"]["name"], "pod_bound")
    pv_claim = {}
    for pv in state.api_get("/api/v1/persistentvolumes")["items"]:
        claim = (pv["spec"].get("claimRef") or {}).get("name", "")
        pv_claim[pv["metadata"]["name"]] = claim
        mark(claim, "pv_created")
    for pvc in state.api_get("/api/v1/namespaces/default/persistentvolumeclaims")["items"]:
        mark(pvc["metadata"]["name"], "created")
        if SELECTED_NODE in (pvc["metadata"].get("annotations") or {}):
            mark(pvc["metadata"]["name"], "node_selected")
        if pvc.get("status", {}).get("phase") == "Bound":
            mark(pvc["metadata"]["name"], "bound")
    for va in state.api_get("/apis/storage.k8s.io/v1/volumeattachments")["items"]:
        claim = pv_claim.get(va["spec"]["source"].get("persistentVolumeName", ""), "")
        mark(claim, "va_created")
        if va.get("status", {}).get("attached"):
            mark(claim, "attached")


def calls(state: SandboxState, since: float, until: float) -> Counter[str]:
    log = state.root / "calls" / "csi-driver.jsonl"
    counter: Counter[str] = Counter()
    for line in log.read_text().splitlines():
        entry = json.loads(line)
        if since <= entry["ts"] <= until:
            counter[entry["operation"]] += 1
    return counter


def process(state: SandboxState, name: str) -> tuple[int, list[str]]:
    pidfile = next(p for p in ProcessGroup(state.root).pidfiles() if p.name == name)
    argv = Path(f"/proc/{pidfile.pid}/cmdline").read_bytes().split(b"\0")
    return pidfile.pid, [a.decode() for a in argv if a]


def rss_mb(pid: int) -> tuple[float, float]:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    fields = dict(line.split(":", 1) for line in status)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def sidecar_histogram(state: SandboxState, sidecar: str, method: str) -> dict[str, float]:
    """Mean and bucketed p50/p95 of one CSI method as the sidecar timed it."""
    _, argv = process(state, sidecar)
    endpoint = next(a.split("=", 1)[1] for a in argv if a.startswith("--http-endpoint="))
    with urllib.request.urlopen(f"http://{endpoint}/metrics", timeout=10) as response:
        text = response.read().decode()
    pattern = re.compile(r'^csi_sidecar_operations_seconds_(bucket|sum|count)\{(.*)\} (\S+)$')
    buckets: list[tuple[float, float]] = []
    total = count = 0.0
    for line in text.splitlines():
        match = pattern.match(line)
        if not match or f'method_name="/csi.v1.Controller/{method}"' not in match.group(2):
            continue
        if 'grpc_status_code="OK"' not in match.group(2):
            continue
        kind, labels, value = match.groups()
        if kind == "bucket":
            le = re.search(r'le="([^"]+)"', labels)
            assert le is not None
            buckets.append((float(le.group(1)), float(value)))
        elif kind == "sum":
            total += float(value)
        else:
            count += float(value)

    def quantile(q: float) -> float:
        return next((le for le, n in sorted(buckets) if n >= q * count), float("inf"))

    return {"calls": count, "mean": round(total / count, 3) if count else 0.0,
            "p50_le": quantile(0.5), "p95_le": quantile(0.95)}


def driver_log_offset(state: SandboxState) -> int:
    path = state.root / "logs" / "csi-driver.log"
    return path.stat().st_size if path.exists() else 0


def driver_calls(state: SandboxState, since: int) -> dict[str, dict[str, float]]:
    """The driver's own duration of each CSI call (its `csi call` log lines, written after
    `since` bytes), per method and status: count, p50, p95, max, mean. Exact, unlike the
    sidecars' bucketed histograms; it excludes the gRPC transport and the sidecars' queues.
    `<method> per volume`: the longest OK call of each volume (the one that did the work; a
    repeated publish of an attached volume answers in milliseconds and would flatter p50)."""
    with open(state.root / "logs" / "csi-driver.log", "rb") as log:
        log.seek(since)
        lines = log.read().decode(errors="replace").splitlines()
    durations: dict[str, list[float]] = {}
    longest: dict[tuple[str, str], float] = {}
    for line in lines:
        if '"csi_call"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        method, seconds = entry["csi_call"], float(entry["seconds"])
        key = method if entry["code"] == "OK" else f"{method} {entry['code']}"
        durations.setdefault(key, []).append(seconds)
        if entry["code"] == "OK" and entry.get("volume"):
            where = (method, entry["volume"])
            longest[where] = max(seconds, longest.get(where, 0.0))
    for (method, _), seconds in longest.items():
        durations.setdefault(f"{method} per volume", []).append(seconds)
    return {key: {"calls": len(values), **summary(values),
                  "p50": round(statistics.median(values), 3),
                  "p95": round(percentile(values, 0.95), 3),
                  "mean": round(statistics.fmean(values), 3)}
            for key, values in sorted(durations.items())}


def stage_breakdown(seen: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per claim, the time from each stage to the next (claims first seen by the poll)."""
    out: dict[str, dict[str, float]] = {}
    for previous, stage in itertools.pairwise(STAGES):
        out[f"{previous}->{stage}"] = summary(
            [s[stage] - s[previous] for s in seen.values() if stage in s and previous in s])
    out["created->attached"] = summary(
        [s["attached"] - s["created"] for s in seen.values() if "attached" in s and "created" in s])
    return out


def wait(state: SandboxState, done: Any, seen: dict[str, dict[str, float]], started: float,
         pid: int, timeout: float) -> float:
    peak = 0.0
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out; stages so far: {stage_breakdown(seen)}")
        observe(state, seen, started)
        peak = max(peak, rss_mb(pid)[0])
        time.sleep(0.2)
    return peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=100)
    parser.add_argument("--nodes", type=int, default=20)
    args = parser.parse_args()
    with sandbox("bench-ebs-", args.nodes, "--cluster-name", "bench", ready_timeout=600) as state:
        run(state, args.claims, args.nodes)


def run(state: SandboxState, claims: int, nodes: int) -> None:
    pid, _ = process(state, "csi-driver")
    idle = rss_mb(pid)[0]
    seen: dict[str, dict[str, float]] = {}
    log_start = driver_log_offset(state)
    wall_start, started = time.time(), time.monotonic()
    # kubectl writes the 201 objects one by one (seconds): poll while it does.
    applying = subprocess.Popen([str(state.root / "bin" / "kubectl"), "create", "-f", "-"],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert applying.stdin is not None
    applying.stdin.write(objects(claims))
    applying.stdin.close()

    def all_attached() -> bool:
        return sum(1 for s in seen.values() if "attached" in s) >= claims

    peak = wait(state, all_attached, seen, started, pid, 900)
    assert applying.wait(timeout=60) == 0
    up_wall = time.monotonic() - started
    create_calls = calls(state, wall_start, time.time())
    result: dict[str, Any] = {
        "claims": claims, "nodes": nodes, "all_attached_s": round(up_wall, 1),
        "stages_s": stage_breakdown(seen),
        "driver_create_volume_s": sidecar_histogram(state, "csi-provisioner", "CreateVolume"),
        "driver_publish_s": sidecar_histogram(state, "csi-attacher", "ControllerPublishVolume"),
        "driver_calls_s": driver_calls(state, log_start),
        "aws_calls": sum(create_calls.values()),
        "aws_calls_per_volume": round(sum(create_calls.values()) / claims, 2),
        "aws_calls_by_operation": dict(create_calls.most_common()),
        "driver_rss_mb": {"idle": round(idle), "peak": round(peak),
                          "after": round(rss_mb(pid)[0])},
    }
    delete_log_start = driver_log_offset(state)
    delete_start_wall, delete_start = time.time(), time.monotonic()
    names = [f"bench-{i}" for i in range(claims)]
    kubectl(state, "delete", "pod", *names, "--wait=false")
    kubectl(state, "delete", "pvc", *names, "--wait=false")

    ec2 = boto3.session.Session(
        aws_access_key_id=state.access_key, aws_secret_access_key=state.secret_key,
        region_name=state.region).client("ec2", endpoint_url=state.emulator_url)

    def all_deleted() -> bool:
        pvs = state.api_get("/api/v1/persistentvolumes")["items"]
        vas = state.api_get("/apis/storage.k8s.io/v1/volumeattachments")["items"]
        if pvs or vas:
            return False
        left = ec2.describe_volumes(Filters=[{"Name": "tag-key", "Values": ["CSIVolumeName"]}])
        return not left["Volumes"]

    wait(state, all_deleted, {}, delete_start, pid, 900)
    delete_calls = calls(state, delete_start_wall, time.time())
    result["delete"] = {
        "all_gone_s": round(time.monotonic() - delete_start, 1),
        "aws_calls": sum(delete_calls.values()),
        "aws_calls_per_volume": round(sum(delete_calls.values()) / claims, 2),
        "aws_calls_by_operation": dict(delete_calls.most_common()),
        "driver_unpublish_s": sidecar_histogram(state, "csi-attacher",
                                                "ControllerUnpublishVolume"),
        "driver_delete_volume_s": sidecar_histogram(state, "csi-provisioner", "DeleteVolume"),
        "driver_calls_s": driver_calls(state, delete_log_start),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
