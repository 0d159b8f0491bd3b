"""`up` and `down`: nothing is left behind, even after `up` is killed, and sandboxes coexist."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.processes import ProcessGroup
from k8s_aws_sandbox.procfs import session_of
from k8s_aws_sandbox.state import SandboxState

from .conftest import CLI, emulator_session, kubectl_json, run_cli
from .procfs import alive, sandbox_listeners, session_listeners
from .vms import node_name_of, wait_ready


def test_up_status_down_leaves_no_process_and_no_port(
    sandbox: SandboxState, tmp_path: Path
) -> None:
    directory = tmp_path / "second"
    try:
        _second_sandbox_checks(sandbox, directory)
    finally:
        # Whatever failed above, leave no process behind (pytest later deletes the pidfiles).
        run_cli("sandbox", "down", "--dir", str(directory))


def _second_sandbox_checks(sandbox: SandboxState, directory: Path) -> None:
    result = run_cli("sandbox", "up", "--dir", str(directory), "--nodes", "1",
                     "--without-controllers")
    assert result.returncode == 0, result.stderr
    assert "is up" in result.stdout and "kubectl get nodes" in result.stdout
    # With no cloud controller, the node stays as its kubelet registered it.
    second = SandboxState.load(directory)
    ec2 = emulator_session(second).client("ec2", endpoint_url=second.emulator_url)
    worker = node_name_of(second, ec2, second.world.worker_instances[0])
    node = next(n for n in kubectl_json(second, "get", "nodes")["items"]
                if n["metadata"]["name"] == worker)
    assert "providerID" not in node["spec"]
    assert {"key": "node.cloudprovider.kubernetes.io/uninitialized", "value": "true",
            "effect": "NoSchedule"} in node["spec"]["taints"]
    # A terminated VM's kubelet is gone: its Node turns NotReady (and, with no cloud
    # controller here, stays).
    ec2.terminate_instances(InstanceIds=second.world.worker_instances)
    wait_ready(second, node["metadata"]["name"], "Unknown")
    node = next(n for n in kubectl_json(second, "get", "nodes")["items"]
                if n["metadata"]["name"] == worker)
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "NodeStatusUnknown"
    assert (directory / "kubeconfig").exists() and (directory / "aws.env").exists()
    assert (directory / "bin" / "kubectl").exists()

    # Two sandboxes at once: each healthy, no port shared.
    for state_dir in (directory, sandbox.root):
        status = run_cli("sandbox", "status", "--dir", str(state_dir))
        assert status.returncode == 0, status.stdout + status.stderr
    second_ports = {a for addrs in sandbox_listeners(directory).values() for a in addrs}
    first_ports = {a for addrs in sandbox_listeners(sandbox.root).values() for a in addrs}
    assert second_ports and not second_ports & first_ports

    pids = [p.pid for p in ProcessGroup(directory).pidfiles()]
    assert len(pids) == 8  # no controller-manager: --without-controllers
    # Each process leads a session of its own; whatever it forks stays in it.
    assert all(session_of(pid) == pid for pid in pids)
    sessions = set(pids)
    assert session_listeners(sessions) >= second_ports  # so the check after `down` can fail
    down = run_cli("sandbox", "down", "--dir", str(directory))
    assert down.returncode == 0, down.stderr
    assert "stopped 8 processes" in down.stdout
    assert not any(alive(pid) for pid in pids)
    # Only this sandbox's processes count: another run may listen on a port it freed.
    assert session_listeners(sessions) == set()
    assert run_cli("sandbox", "status", "--dir", str(directory)).returncode == 1


def test_down_after_up_was_killed_stops_everything_it_had_started(tmp_path: Path) -> None:
    directory = tmp_path / "crashed"
    up = subprocess.Popen(
        [*CLI, "sandbox", "up", "--dir", str(directory), "--nodes", "1"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    group = ProcessGroup(directory)
    try:
        wait_until(lambda: group.find("kube-apiserver"), timeout=120,
                   what="up to start kube-apiserver")
    finally:
        up.send_signal(signal.SIGKILL)
        up.wait()
    pids = [p.pid for p in group.pidfiles()]
    try:
        assert pids, "up had started processes before it was killed"
        assert any(alive(pid) for pid in pids)
    finally:
        down = run_cli("sandbox", "down", "--dir", str(directory))
    assert down.returncode == 0, down.stderr
    assert not any(alive(pid) for pid in pids)
