"""Volumes and node trouble: a node dies with a volume attached (the reference users' ebs
#1107: Multi-Attach errors, a 6-minute force-detach wait), and a node at its attachment limit.

Both launch VMs of their own and terminate them afterwards; neither is repeated under IAM
enforcement (`once`): their AWS calls are the provisioning path's, which
test_ebs_provisioning runs there."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.state import SandboxState
from k8s_aws_sandbox.world import launch_vms

from .conftest import kubectl_json
from .ebs import (
    DRIVER,
    TIMEOUT,
    apply,
    attached,
    bound_pv,
    claim,
    csinode_instance,
    delete,
    get,
    pod,
    storage_class,
    volume_id,
)
from .vms import node_name_of, wait_ready

pytestmark = pytest.mark.once


def _private_subnets(sandbox: SandboxState) -> int:
    return sum(1 for name in sandbox.world.subnets if "-private-" in name)


def _ready_worker(sandbox: SandboxState, ec2: Any, index: int,
                  instance_type: Any = "m5.large") -> tuple[str, str]:
    (instance,) = launch_vms(ec2, sandbox.world, "worker", 1, index,
                             instance_type=instance_type)
    name = node_name_of(sandbox, ec2, instance)
    wait_ready(sandbox, name, "True")

    def initialized_and_registered() -> bool:
        node = get(sandbox, "node", name)
        csinode = get(sandbox, "csinode", name)
        return bool(node and node["spec"].get("providerID") and csinode
                    and not any(t["key"].endswith("uninitialized")
                                for t in node["spec"].get("taints") or []))

    wait_until(initialized_and_registered, timeout=TIMEOUT,
               what=f"{name} initialized with a CSINode")
    return instance, name


def _deployment(name: str, claim_name: str, nodes: list[str]) -> dict[str, Any]:
    spec = pod(name, claim_name)["spec"]
    template = {"metadata": {"labels": {"app": name}}, "spec": spec}
    spec["affinity"] = {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{
            "matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                                  "values": nodes}]}]}}}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": template}}


def _pod_node(sandbox: SandboxState, app: str) -> str | None:
    pods = kubectl_json(sandbox, "get", "pods", "-l", f"app={app}")["items"]
    live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
    return str(live[0]["spec"]["nodeName"]) if len(live) == 1 and live[0]["spec"].get(
        "nodeName") else None


def _volumes_attached(sandbox: SandboxState, node: str) -> set[str]:
    status = (get(sandbox, "node", node) or {}).get("status", {})
    return {v["name"] for v in status.get("volumesAttached") or []}


def test_a_dead_nodes_volume_follows_its_pod_to_another_node_of_the_zone(
    sandbox: SandboxState, ec2: Any
) -> None:
    zones = _private_subnets(sandbox)
    first, second = _ready_worker(sandbox, ec2, 500), _ready_worker(sandbox, ec2, 500 + zones)
    instances = {first[1]: first[0], second[1]: second[0]}
    apply(sandbox, storage_class("e2e-failover", {"type": "gp3"}),
          claim("e2e-failover", "e2e-failover", "1Gi"),
          _deployment("e2e-failover", "e2e-failover", list(instances)))
    try:
        pv = bound_pv(sandbox, "e2e-failover")
        doomed = wait_until(lambda: _pod_node(sandbox, "e2e-failover"), timeout=TIMEOUT,
                            what="the pod scheduled")
        attached(sandbox, pv["metadata"]["name"], doomed)
        # The node must have run with its volume, as KCM sees it: the attach-detach
        # controller records the attach on the Node a moment after the VolumeAttachment
        # reports it. A Node deleted inside that moment leaves KCM believing the volume is
        # attached to a node that no longer exists, and it never detaches it (Multi-Attach
        # for good): a race of KCM's, not the one this test is about.
        recorded = f"kubernetes.io/csi/{DRIVER}^{volume_id(pv)}"
        wait_until(lambda: recorded in _volumes_attached(sandbox, doomed), timeout=TIMEOUT,
                   what=f"KCM recording {recorded} on {doomed}")
        survivor = next(n for n in instances if n != doomed)

        started = time.monotonic()
        ec2.terminate_instances(InstanceIds=[instances[doomed]])
        marks: dict[str, float] = {}

        def moved() -> bool:
            if "node deleted" not in marks and get(sandbox, "node", doomed) is None:
                marks["node deleted"] = time.monotonic() - started
            if "pod on survivor" not in marks and _pod_node(sandbox, "e2e-failover") == survivor:
                marks["pod on survivor"] = time.monotonic() - started
            (volume,) = ec2.describe_volumes(VolumeIds=[volume_id(pv)])["Volumes"]
            on = [a["InstanceId"] for a in volume["Attachments"] if a["State"] == "attached"]
            return on == [instances[survivor]]

        wait_until(moved, timeout=300, what="the volume attached to the surviving node",
                   max_interval=0.5)
        marks["attached to survivor"] = time.monotonic() - started
        va = attached(sandbox, pv["metadata"]["name"], survivor)
        assert csinode_instance(sandbox, survivor) == instances[survivor]
        assert va["spec"]["nodeName"] == survivor
        print("node death timings (s from TerminateInstances):", json.dumps(
            {k: round(v, 1) for k, v in marks.items()}))
        assert set(marks) == {"node deleted", "pod on survivor", "attached to survivor"}
    finally:
        delete(sandbox, "deployment", "e2e-failover")
        delete(sandbox, "pvc", "e2e-failover")
        ec2.terminate_instances(InstanceIds=list(instances.values()))


def _attach_calls(sandbox: SandboxState) -> list[dict[str, Any]]:
    log = sandbox.root / "calls" / "csi-driver.jsonl"
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return [e for e in entries if e.get("operation") == "AttachVolume"]


def test_a_node_at_its_attachment_limit_keeps_the_pod_pending_with_a_reason(
    sandbox: SandboxState, ec2: Any
) -> None:
    # d3.8xlarge: 3 attachments shared with the interfaces, one of them the root disk.
    instance, name = _ready_worker(sandbox, ec2, 600, instance_type="d3.8xlarge")
    csinode = kubectl_json(sandbox, "get", "csinode", name)
    assert csinode["spec"]["drivers"][0]["allocatable"]["count"] == 2
    apply(sandbox, storage_class("e2e-limit", {"type": "gp3"}))
    pinned = {"kubernetes.io/hostname": name}
    names = ["e2e-limit-0", "e2e-limit-1", "e2e-limit-2"]
    try:
        for item in names[:2]:
            apply(sandbox, claim(item, "e2e-limit", "1Gi"), pod(item, item, node_selector=pinned))
        for item in names[:2]:
            attached(sandbox, bound_pv(sandbox, item)["metadata"]["name"], name)
        calls_before = len(_attach_calls(sandbox))
        apply(sandbox, claim(names[2], "e2e-limit", "1Gi"),
              pod(names[2], names[2], node_selector=pinned))

        def unschedulable() -> str | None:
            p = get(sandbox, "pod", names[2]) or {}
            for condition in p.get("status", {}).get("conditions", []):
                if condition["type"] == "PodScheduled" and condition["status"] == "False":
                    return str(condition.get("message", ""))
            return None

        message = wait_until(unschedulable, timeout=TIMEOUT, what="the third pod Unschedulable")
        assert "exceed max volume count" in message, message
        assert (get(sandbox, "pod", names[2]) or {})["status"]["phase"] == "Pending"
        # Never scheduled, so no volume, no VolumeAttachment and no AttachVolume for it.
        assert (get(sandbox, "pvc", names[2]) or {})["status"]["phase"] == "Pending"
        on_node = [va for va in kubectl_json(sandbox, "get", "volumeattachments")["items"]
                   if va["spec"]["nodeName"] == name]
        assert len(on_node) == 2
        assert len(_attach_calls(sandbox)) == calls_before
        described = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0][
            "Instances"][0]
        ebs = [m for m in described.get("BlockDeviceMappings", []) if "Ebs" in m]
        assert len(ebs) <= 3
    finally:
        delete(sandbox, "pod", *names)
        delete(sandbox, "pvc", *names)
        ec2.terminate_instances(InstanceIds=[instance])
