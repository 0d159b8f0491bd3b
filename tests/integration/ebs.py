"""Helpers for the end-to-end EBS tests: Kubernetes objects through kubectl, waits with
deadlines, and what the sandbox's real sidecars and KCM did with them."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.state import SandboxState

from .conftest import kubectl, kubectl_json

DRIVER = "ebs.csi.aws.com"
TIMEOUT = 180.0  # a loaded shared machine; the paths themselves take seconds


def apply(state: SandboxState, *objects: dict[str, Any]) -> None:
    body = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})
    result = subprocess.run(
        [str(state.root / "bin" / "kubectl"), "apply", "-f", "-"],
        input=body, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr


def storage_class(name: str, parameters: dict[str, str], *, binding: str = "WaitForFirstConsumer",
                  provisioner: str = DRIVER, expand: bool = True) -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": name}, "provisioner": provisioner, "parameters": parameters,
        "volumeBindingMode": binding, "allowVolumeExpansion": expand,
        "reclaimPolicy": "Delete",
    }


def claim(name: str, storage_class_name: str, size: str = "3Gi", namespace: str = "default",
          data_source: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
        "storageClassName": storage_class_name,
    }
    if data_source:
        spec["dataSource"] = data_source
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def pod(name: str, claim_name: str, namespace: str = "default",
        node_selector: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": "app", "image": "registry.k8s.io/pause:3.10",
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}],
        "terminationGracePeriodSeconds": 0,
    }
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def get(state: SandboxState, kind: str, name: str, namespace: str = "") -> dict[str, Any] | None:
    args = ["get", kind, name, "--ignore-not-found"]
    if namespace:
        args.append(f"--namespace={namespace}")
    out = kubectl(state, *args, "-o", "json")
    return json.loads(out) if out.strip() else None


def bound_pv(state: SandboxState, claim_name: str, namespace: str = "default") -> dict[str, Any]:
    def bound() -> str | None:
        pvc = get(state, "pvc", claim_name, namespace)
        if pvc and pvc.get("status", {}).get("phase") == "Bound":
            return str(pvc["spec"]["volumeName"])
        return None

    volume_name = wait_until(bound, timeout=TIMEOUT, what=f"claim {claim_name} Bound",
                             max_interval=0.5)
    pv = get(state, "pv", volume_name)
    assert pv is not None
    return pv


def scheduled_node(state: SandboxState, pod_name: str, namespace: str = "default") -> str:
    def node() -> str | None:
        p = get(state, "pod", pod_name, namespace)
        return str(p["spec"]["nodeName"]) if p and p["spec"].get("nodeName") else None

    return wait_until(node, timeout=TIMEOUT, what=f"pod {pod_name} scheduled")


def attachment_of(state: SandboxState, pv_name: str) -> dict[str, Any] | None:
    for item in kubectl_json(state, "get", "volumeattachments")["items"]:
        if item["spec"]["source"].get("persistentVolumeName") == pv_name:
            return dict(item)
    return None


def attached(state: SandboxState, pv_name: str, node: str | None = None) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        va = attachment_of(state, pv_name)
        if va and va.get("status", {}).get("attached") and (
            node is None or va["spec"]["nodeName"] == node
        ):
            return va
        return None

    return wait_until(done, timeout=TIMEOUT, what=f"{pv_name} attached", max_interval=0.5)


def csinode_instance(state: SandboxState, node: str) -> str:
    csinode = kubectl_json(state, "get", "csinode", node)
    (driver,) = [d for d in csinode["spec"]["drivers"] if d["name"] == DRIVER]
    return str(driver["nodeID"])


def volume_id(pv: dict[str, Any]) -> str:
    return str(pv["spec"]["csi"]["volumeHandle"])


def events_for(state: SandboxState, name: str, namespace: str = "default") -> list[dict[str, Any]]:
    return list(kubectl_json(state, "get", "events", f"--namespace={namespace}",
                             f"--field-selector=involvedObject.name={name}")["items"])


def delete(state: SandboxState, kind: str, *names: str, namespace: str = "default",
           wait: bool = True) -> None:
    kubectl(state, "delete", kind, *names, f"--namespace={namespace}", "--ignore-not-found",
            f"--wait={'true' if wait else 'false'}", "--timeout=180s")


def tags_of(volume: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in volume.get("Tags", [])}
