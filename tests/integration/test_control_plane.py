"""The sandbox's Kubernetes control plane is real, complete and bound to loopback only."""

from __future__ import annotations

import ipaddress
import json

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.processes import ProcessGroup
from k8s_aws_sandbox.state import SandboxState

from .conftest import kubectl, kubectl_json
from .procfs import cmdline, sandbox_listeners

EXPECTED_PROCESSES = {
    "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
    "aws-emulator", "imds", "kwok", "kubelets",
}


def test_api_server_answers_with_the_pinned_version(sandbox: SandboxState) -> None:
    version = json.loads(kubectl(sandbox, "version", "-o", "json"))
    assert version["serverVersion"]["gitVersion"] == "v1.35.4"
    assert version["clientVersion"]["gitVersion"] == "v1.35.4"
    assert kubectl(sandbox, "get", "--raw", "/readyz").strip() == "ok"


def test_every_sandbox_process_runs(sandbox: SandboxState) -> None:
    pidfiles = ProcessGroup(sandbox.root).pidfiles()
    assert {p.name for p in pidfiles} >= EXPECTED_PROCESSES
    assert all(p.alive() for p in pidfiles)
    # Leader-election tests replace the first replica by others named controller-manager-*.
    assert any(p.name.startswith("controller-manager") for p in pidfiles)


def test_controller_manager_runs_with_an_external_cloud_provider(sandbox: SandboxState) -> None:
    kcm = ProcessGroup(sandbox.root).find("kube-controller-manager")
    assert kcm is not None
    assert "--cloud-provider=external" in cmdline(kcm.pid)


def test_every_listener_is_on_loopback(sandbox: SandboxState) -> None:
    listeners = sandbox_listeners(sandbox.root)
    # Each server listens somewhere (so the check below is not vacuous)...
    for name in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
                 "aws-emulator", "imds", "kwok"):
        assert listeners[name], f"{name} listens nowhere"
    # ...and nowhere but 127.0.0.0/8.
    for name, addresses in listeners.items():
        for host, port in addresses:
            assert ipaddress.ip_address(host).is_loopback, f"{name} listens on {host}:{port}"


def test_controllers_scheduler_and_kwok_run_a_deployment(sandbox: SandboxState) -> None:
    manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "probe", "namespace": "default"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "probe"}},
            "template": {
                "metadata": {"labels": {"app": "probe"}},
                "spec": {
                    "containers": [{"name": "c", "image": "registry.invalid/probe:1"}],
                    # Nodes are uninitialized until a cloud controller runs.
                    "tolerations": [{"key": "node.cloudprovider.kubernetes.io/uninitialized",
                                     "operator": "Exists"}],
                },
            },
        },
    }
    path = sandbox.root / "probe-deployment.json"
    path.write_text(json.dumps(manifest))
    kubectl(sandbox, "apply", "-f", str(path))

    def running_pods() -> list[dict[str, object]] | None:
        pods = kubectl_json(sandbox, "get", "pods", "-l", "app=probe")["items"]
        running = [p for p in pods if p["status"].get("phase") == "Running"]
        return running if len(running) == 2 else None

    pods = wait_until(running_pods, timeout=90, what="2 probe pods Running")
    nodes = {n["metadata"]["name"] for n in kubectl_json(sandbox, "get", "nodes")["items"]}
    assert all(p["spec"]["nodeName"] in nodes for p in pods)  # type: ignore[index]
    kubectl(sandbox, "delete", "deployment", "probe", "--wait=false")
