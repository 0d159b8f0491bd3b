"""`k8s-aws deploy manifests` against the sandbox's real API server: every rendered object
passes the server's own validation (server-side dry run, admission included), and, applied,
the controllers are scheduled onto the release's control VM (labelled and tainted only
`node-role.kubernetes.io/master`) and the node plugin onto every Node.

The sandbox runs its own CSI pieces (CSIDriver `ebs.csi.aws.com`, the sidecars as processes
bound to kube-system's ServiceAccounts, RBAC from the same files): the rendering applied here
goes to a namespace of its own, and its cluster-scoped objects are compared with the
sandbox's instead of applied (applying our ClusterRoleBindings would move the sandbox's
sidecars' subjects); only the StorageClass, which the sandbox lacks, is applied. The kubelets
are kwok's: pods are bound (spec.nodeName) but never run, so scheduling is what is asserted.
No AWS call is made (`once`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.state import SandboxState

from .conftest import kubectl, kubectl_json, run_cli

pytestmark = pytest.mark.once

IMAGE = "registry.example.com:5000/k8s-aws:0.1.0"
NAMESPACE = "k8s-aws-deploy-itest"
MASTER = "node-role.kubernetes.io/master"
REPLICAS = 2


def rendered(tmp_path: Path, *args: str) -> tuple[Path, list[dict[str, Any]]]:
    """The CLI's rendering, as a user gets it (`-o FILE`)."""
    path = tmp_path / "k8s-aws.yaml"
    result = run_cli("deploy", "manifests", "--image", IMAGE, "--cluster-name", "itest",
                     "--csi-replicas", str(REPLICAS), *args, "-o", str(path), timeout=60)
    assert result.returncode == 0, result.stderr
    return path, [d for d in yaml.safe_load_all(path.read_text()) if d]


def write(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump_all(docs))
    return path


def test_every_rendered_object_passes_server_side_dry_run(
    sandbox: SandboxState, tmp_path: Path
) -> None:
    """As a user applies it: kube-system, every object; the server validates and admits
    each (schema, immutable fields of the existing CSIDriver, priority classes) and
    persists nothing."""
    path, docs = rendered(tmp_path)
    before = kubectl_json(sandbox, "get", "deployments,daemonsets", "-n", "kube-system")
    out = kubectl(sandbox, "apply", "--dry-run=server", "-f", str(path))
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == len(docs) and all("(server dry run)" in line for line in lines), out
    for doc in docs:
        assert f"/{doc['metadata']['name']} " in out, doc["metadata"]["name"]
    after = kubectl_json(sandbox, "get", "deployments,daemonsets", "-n", "kube-system")
    assert [i["metadata"]["name"] for i in after["items"]] == [
        i["metadata"]["name"] for i in before["items"]]


def control_node(sandbox: SandboxState) -> str:
    nodes = kubectl_json(sandbox, "get", "nodes", "-l", MASTER)["items"]
    assert len(nodes) == 1  # the sandbox's one control VM
    (taint,) = (t for t in nodes[0]["spec"]["taints"] if t["key"] == MASTER)
    assert taint == {"key": MASTER, "value": "true", "effect": "NoSchedule"}  # the release's
    assert "node-role.kubernetes.io/control-plane" not in nodes[0]["metadata"]["labels"]
    return str(nodes[0]["metadata"]["name"])


def placed(sandbox: SandboxState, app: str) -> list[str]:
    pods = kubectl_json(sandbox, "get", "pods", "-n", NAMESPACE, "-l", f"app={app}")["items"]
    return sorted(p["spec"].get("nodeName", "") for p in pods)


def same_as_the_sandboxs(sandbox: SandboxState, doc: dict[str, Any]) -> bool:
    """A cluster-scoped object of ours matches the one the sandbox applied from the same
    file (bindings: same role and ServiceAccounts, ours in our namespace)."""
    kind, name = doc["kind"], doc["metadata"]["name"]
    live = kubectl_json(sandbox, "get", kind, name)
    if kind == "ClusterRole":
        return bool(live["rules"] == doc["rules"])
    if kind == "ClusterRoleBinding":
        names = sorted(s["name"] for s in doc["subjects"])
        assert {s["namespace"] for s in doc["subjects"]} == {NAMESPACE}
        return bool(live["roleRef"] == doc["roleRef"]
                    and sorted(s["name"] for s in live["subjects"]) == names)
    return all(live["spec"].get(k) == v for k, v in doc["spec"].items())


@pytest.fixture
def applied(sandbox: SandboxState, tmp_path: Path) -> Iterator[list[dict[str, Any]]]:
    _, docs = rendered(tmp_path, "--namespace", NAMESPACE)
    ours = [d for d in docs if d["metadata"].get("namespace") == NAMESPACE
            or d["kind"] in ("Namespace", "StorageClass")]
    for doc in docs:
        if doc not in ours:
            assert same_as_the_sandboxs(sandbox, doc), doc["metadata"]["name"]
    assert not kubectl(sandbox, "get", "storageclass", "ebs-gp3", "--ignore-not-found").strip()
    path = write(tmp_path / "ours.yaml", ours)
    try:
        kubectl(sandbox, "apply", "-f", str(path))
        yield docs
    finally:
        kubectl(sandbox, "delete", "-f", str(path), "--wait=false", "--ignore-not-found",
                check=False)
        wait_until(lambda: gone(sandbox), timeout=90, what=f"namespace {NAMESPACE} deleted")


def gone(sandbox: SandboxState) -> bool:
    """No kubelet confirms a pod's end here: remove them outright, or the namespace stays."""
    kubectl(sandbox, "delete", "pods", "--all", "-n", NAMESPACE, "--grace-period=0",
            "--force", "--ignore-not-found", check=False)
    return not kubectl(sandbox, "get", "namespace", NAMESPACE, "--ignore-not-found").strip()


def scheduled(sandbox: SandboxState, app: str, expected: list[str]) -> bool:
    return placed(sandbox, app) == expected


def test_applied_the_controllers_land_on_the_control_vm_and_the_plugin_on_every_node(
    sandbox: SandboxState, applied: list[dict[str, Any]]
) -> None:
    control = control_node(sandbox)
    # The CSI controller's and snapshot-controller's replicas share the one control VM
    # (soft spread, no host port); the controller-manager's second replica, which would
    # clash on its loopback port there, waits Pending for a second control VM.
    for app, expected in [("ebs-csi-controller", [control] * REPLICAS),
                          ("snapshot-controller", [control] * REPLICAS),
                          ("k8s-aws-controller-manager", ["", control])]:
        wait_until(lambda: scheduled(sandbox, app, expected),
                   timeout=60, what=f"{app} pods scheduled: {expected}")
    pending = kubectl_json(sandbox, "get", "pods", "-n", NAMESPACE, "-l",
                           "app=k8s-aws-controller-manager")["items"]
    (waiting,) = (p for p in pending if not p["spec"].get("nodeName"))
    (condition,) = (c for c in waiting["status"]["conditions"] if c["type"] == "PodScheduled")
    assert condition["reason"] == "Unschedulable"

    def every_node() -> bool:
        """One pod bound to each Node there is now (a pod of a Node deleted meanwhile is
        the pod GC's to remove, later)."""
        nodes = {n["metadata"]["name"] for n in kubectl_json(sandbox, "get", "nodes")["items"]}
        bound = Counter(placed(sandbox, "ebs-csi-node"))
        return nodes <= set(bound) and all(bound[n] == 1 for n in nodes)

    wait_until(every_node, timeout=60, what="an ebs-csi-node pod bound to every Node")
    assert control in placed(sandbox, "ebs-csi-node")  # tainted master=true:NoSchedule too
    sc = kubectl_json(sandbox, "get", "storageclass", "ebs-gp3")
    assert sc["provisioner"] == "ebs.csi.aws.com" and sc["parameters"]["type"] == "gp3"
    annotations = sc["metadata"].get("annotations") or {}
    assert annotations.get("storageclass.kubernetes.io/is-default-class") != "true"


def test_a_bad_reference_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "never.yaml"
    result = run_cli("deploy", "manifests", "--image", "Registry/K8s-aws", "--cluster-name",
                     "itest", "-o", str(out), timeout=60)
    assert result.returncode == 2 and not out.exists() and not result.stdout
    assert result.stderr.count("\n") == 1 and "--image" in result.stderr
