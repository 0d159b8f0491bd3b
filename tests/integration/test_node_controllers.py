"""`k8s-aws controller-manager` in the sandbox: node initialization and lifecycle, leader
election, watch expiry, and no AWS call for nodes that did not change."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes_asyncio import client
from prometheus_client.parser import text_string_to_metric_families

from k8s_aws.kube.client import api_client
from k8s_aws.kube.informer import Informer
from k8s_aws.kube.leader import LeaderElectionSettings
from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox import procfs
from k8s_aws_sandbox.controllers import aws_environment, controller_manager_spec
from k8s_aws_sandbox.ports import free_port
from k8s_aws_sandbox.processes import ProcessGroup
from k8s_aws_sandbox.state import SandboxState

from .conftest import ec2_of, kubectl, kubectl_json
from .vms import (
    expected_node_name,
    launch_worker,
    node_named,
    ready_status,
    recreate_vm,
    taint_keys,
    wait_ready,
)

UNINITIALIZED = "node.cloudprovider.kubernetes.io/uninitialized"
SHUTDOWN = "node.cloudprovider.kubernetes.io/shutdown"
ELECTION = LeaderElectionSettings()  # what the sandbox's replicas run with
LEASE_DURATION = ELECTION.lease_duration


def instance(ec2: Any, instance_id: str) -> dict[str, Any]:
    reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    return dict(reservations[0]["Instances"][0])


def wait_initialized(sandbox: SandboxState, name: str) -> dict[str, Any]:
    def initialized() -> dict[str, Any] | None:
        node = node_named(sandbox, name)
        if node and node["spec"].get("providerID") and UNINITIALIZED not in taint_keys(node):
            return node
        return None

    return wait_until(initialized, timeout=60, what=f"node {name} initialized")


def test_nodes_are_initialized_from_their_instances(any_sandbox: SandboxState) -> None:
    sandbox, ec2 = any_sandbox, ec2_of(any_sandbox)
    zone_ids = {
        z["ZoneName"]: z["ZoneId"]
        for z in ec2.describe_availability_zones()["AvailabilityZones"]
    }
    kubelet_vms = list(sandbox.world.worker_instances)
    if sandbox.world.node_naming == "bosh":
        kubelet_vms.append(sandbox.world.control_instance)  # the release's control is a Node
    for instance_id in kubelet_vms:
        vm = instance(ec2, instance_id)
        name = expected_node_name(sandbox, vm)
        node = wait_initialized(sandbox, name)
        zone = vm["Placement"]["AvailabilityZone"]
        assert node["spec"]["providerID"] == f"aws:///{zone}/{instance_id}"
        labels = node["metadata"]["labels"]
        assert labels["node.kubernetes.io/instance-type"] == vm["InstanceType"]
        assert labels["beta.kubernetes.io/instance-type"] == vm["InstanceType"]
        assert labels["topology.kubernetes.io/zone"] == zone
        assert labels["failure-domain.beta.kubernetes.io/zone"] == zone
        assert labels["topology.kubernetes.io/region"] == sandbox.region
        assert labels["topology.k8s.aws/zone-id"] == zone_ids[zone]
        ordered = [(a["type"], a["address"]) for a in node["status"]["addresses"]]
        assert ordered[0] == ("InternalIP", vm["PrivateIpAddress"])
        addresses = set(ordered)
        assert ("InternalIP", vm["PrivateIpAddress"]) in addresses
        # Hostname is the Node's own name (what the kubelet's certificate covers).
        assert ("Hostname", name) in addresses
        assert ("InternalDNS", vm["PrivateDnsName"]) in addresses
        assert [t for t, _ in ordered].count("Hostname") == 1


def test_a_new_node_is_initialized(sandbox: SandboxState, ec2: Any) -> None:
    instance_id, name = launch_worker(sandbox, ec2)
    node = wait_initialized(sandbox, name)
    assert node["spec"]["providerID"].endswith("/" + instance_id)
    ec2.terminate_instances(InstanceIds=[instance_id])


def test_terminated_instance_deletes_its_node_with_an_event(
    sandbox: SandboxState, ec2: Any
) -> None:
    instance_id, name = launch_worker(sandbox, ec2)
    wait_initialized(sandbox, name)
    ec2.terminate_instances(InstanceIds=[instance_id])
    wait_until(lambda: node_named(sandbox, name) is None, timeout=60,
               what=f"node {name} deleted")
    events = kubectl_json(sandbox, "get", "events", "-n", "default",
                          "--field-selector", f"involvedObject.name={name}")["items"]
    assert any(e["reason"] == "DeletingNode" and "terminated" in e["message"] for e in events)


def test_a_vm_recreated_with_the_same_ip_gets_its_own_identity(
    any_sandbox: SandboxState,
) -> None:
    sandbox, ec2 = any_sandbox, ec2_of(any_sandbox)
    # The leader initializes the first VM's Node, so it knows the name as that instance's.
    old_id, name = launch_worker(sandbox, ec2)
    wait_initialized(sandbox, name)
    new_id, new_name = recreate_vm(sandbox, ec2, old_id)
    assert new_name == name
    node = wait_initialized(sandbox, name)
    assert node["spec"]["providerID"].endswith("/" + new_id), node["spec"]["providerID"]
    ec2.terminate_instances(InstanceIds=[new_id])


def test_stopped_instance_taints_its_node_and_start_untaints(
    sandbox: SandboxState, ec2: Any
) -> None:
    instance_id, name = launch_worker(sandbox, ec2)
    wait_initialized(sandbox, name)
    ec2.stop_instances(InstanceIds=[instance_id])
    wait_until(lambda: SHUTDOWN in taint_keys(node_named(sandbox, name) or {"spec": {}}),
               timeout=60, what=f"shutdown taint on {name}")
    assert node_named(sandbox, name) is not None  # stopped is not deleted
    ec2.start_instances(InstanceIds=[instance_id])
    wait_ready(sandbox, name, "True")
    wait_until(lambda: SHUTDOWN not in taint_keys(node_named(sandbox, name) or {"spec": {}}),
               timeout=60, what=f"shutdown taint removed from {name}")
    ec2.terminate_instances(InstanceIds=[instance_id])


def metric(url: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include `labels`."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def aws_calls(sandbox: SandboxState) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for log in sorted((sandbox.root / "calls").glob("controller-manager*.jsonl"))
        for line in log.read_text().splitlines()
    ]


def leader_url(sandbox: SandboxState) -> str | None:
    """The metrics URL of the replica that leads now (replicas record theirs in calls/)."""
    urls = [sandbox.controller_manager_url]
    urls += [p.read_text() for p in sorted((sandbox.root / "calls").glob("*.url"))]
    for url in urls:
        try:
            if metric(url, "k8s_aws_leader") == 1:
                return url
        except OSError:
            continue  # a replica that was stopped
    return None


def sweep_drift_now(sandbox: SandboxState) -> None:
    """Ask for a drift sweep now and wait for it: the next periodic one is then a whole
    period (10 minutes) away, so it cannot land inside a test's call-counting window."""
    url = wait_until(lambda: leader_url(sandbox), timeout=60, what="a leader")
    before = metric(url, "k8s_aws_service_drift_sweeps")
    for pidfile in ProcessGroup(sandbox.root).pidfiles():
        if pidfile.name.startswith("controller-manager") and pidfile.alive():
            os.kill(pidfile.pid, signal.SIGUSR1)
    wait_until(lambda: metric(url, "k8s_aws_service_drift_sweeps") > before, timeout=30,
               what="the drift sweep SIGUSR1 asked for")


def test_unchanged_nodes_cost_no_aws_calls(sandbox: SandboxState, ec2: Any) -> None:
    def settled() -> bool:
        """One Ready, initialized, untainted Node per running VM with a kubelet (workers, and
        the control VM in the BOSH release's shape), and no other."""
        groups = ["worker", "control"] if sandbox.world.node_naming == "bosh" else ["worker"]
        running = {
            expected_node_name(sandbox, i)
            for r in ec2.describe_instances(Filters=[
                {"Name": "tag:instance_group", "Values": groups},
                {"Name": "instance-state-name", "Values": ["running"]},
            ])["Reservations"]
            for i in r["Instances"]
        }
        nodes = kubectl_json(sandbox, "get", "nodes")["items"]
        return {n["metadata"]["name"] for n in nodes} == running and all(
            ready_status(n) == "True" and not {UNINITIALIZED, SHUTDOWN} & taint_keys(n)
            for n in nodes
        )

    wait_until(settled, timeout=90, what="every node Ready, initialized, untainted")
    url = wait_until(lambda: leader_url(sandbox), timeout=60, what="a leader")
    events_before = metric(url, "k8s_aws_informer_events_total", informer="nodes")
    sweeps_before = metric(url, "k8s_aws_node_monitor_sweeps")
    calls_before = len(aws_calls(sandbox))
    node_count = len(kubectl_json(sandbox, "get", "nodes")["items"])
    # Change every Node in a way that matters to no controller.
    kubectl(sandbox, "label", "nodes", "--all", "--overwrite", f"touched={time.time_ns()}")
    wait_until(
        lambda: metric(url, "k8s_aws_informer_events_total", informer="nodes")
        >= events_before + node_count
        and metric(url, "k8s_aws_node_monitor_sweeps") >= sweeps_before + 2,
        timeout=60,
        what="the controllers to see every node update and sweep twice",
    )
    new_calls = aws_calls(sandbox)[calls_before:]
    assert new_calls == [], f"unchanged nodes cost AWS calls: {new_calls}"


def replica(sandbox: SandboxState, name: str) -> tuple[int, str]:
    """Start another controller-manager replica; returns its pid and metrics URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    (sandbox.root / "calls" / f"{name}.url").write_text(url)
    spec = controller_manager_spec(
        name, sandbox.root / "controller-manager.kubeconfig", port,
        sandbox.root / "calls" / f"{name}.jsonl",
        aws_environment(sandbox.emulator_url, sandbox.imds_url, sandbox.region),
    )
    pid = ProcessGroup(sandbox.root).start(spec)

    def ready() -> bool:
        if not procfs.session_listens(pid, port):
            return False  # whatever answers on the port is not this replica (yet)
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return bool(response.status == 200)

    wait_until(ready, timeout=60, what=f"replica {name} ready")
    return pid, url


def lease_holder(sandbox: SandboxState) -> str | None:
    lease = kubectl_json(sandbox, "get", "lease", "-n", "kube-system",
                         "k8s-aws-controller-manager")
    holder = lease["spec"].get("holderIdentity")
    return str(holder) if holder else None


def test_leader_hand_over_on_crash_and_lease_release_on_sigterm(
    sandbox: SandboxState, ec2: Any
) -> None:
    group = ProcessGroup(sandbox.root)
    first = group.find("controller-manager")
    assert first is not None and first.alive()
    holder_first = wait_until(lambda: lease_holder(sandbox), timeout=60, what="a lease holder")

    # A second replica waits as a follower; two replicas never lead at once.
    pid_b, url_b = replica(sandbox, "controller-manager-b")
    assert metric(url_b, "k8s_aws_leader") == 0
    assert lease_holder(sandbox) == holder_first

    # The leader dies without a word: the follower takes over once the last renewal is a
    # lease duration old. It looks every retry period: up to one period passes before it sees
    # the last renewal, and up to one more before it acts on the expiry.
    os.kill(first.pid, signal.SIGKILL)
    killed = time.monotonic()
    seen_at: list[float] = []

    def new_holder() -> str | None:
        asked = time.monotonic()  # kubectl's own latency does not count against the bound
        holder = lease_holder(sandbox)
        if holder in (None, holder_first):
            return None
        seen_at.append(asked)
        return holder

    holder_b = wait_until(new_holder, timeout=LEASE_DURATION * 3, interval=0.25,
                          max_interval=0.25, what="replica b to take the lease")
    took_over = seen_at[0] - killed
    bound = ELECTION.lease_duration + 2 * ELECTION.retry_period + 1
    assert took_over <= bound, f"hand-over took {took_over:.1f}s (bound {bound:.0f}s)"
    wait_until(lambda: metric(url_b, "k8s_aws_leader") == 1, timeout=30, what="b leads")
    group.stop(first)

    # The new leader works: a new VM's node gets initialized.
    instance_id, name = launch_worker(sandbox, ec2)
    wait_initialized(sandbox, name)
    ec2.terminate_instances(InstanceIds=[instance_id])

    # SIGTERM: the leader releases the Lease before exiting, so no one waits it out.
    _, url_c = replica(sandbox, "controller-manager-c")
    os.kill(pid_b, signal.SIGTERM)
    _, status = os.waitpid(pid_b, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert lease_holder(sandbox) != holder_b, "the lease was not released on SIGTERM"
    wait_until(lambda: metric(url_c, "k8s_aws_leader") == 1, timeout=30, what="c leads")
    b = next(p for p in group.pidfiles() if p.pid == pid_b)
    group.stop(b)


async def eventually(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_an_expired_watch_relists(sandbox: SandboxState) -> None:
    namespace = "informer-expiry"
    kubectl(sandbox, "create", "namespace", namespace)
    event = {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "first", "namespace": namespace},
        "involvedObject": {"kind": "ConfigMap", "name": "x", "namespace": namespace},
        "reason": "Test", "message": "before the watch expired",
    }
    path = sandbox.root / "event.json"
    path.write_text(json.dumps(event))
    kubectl(sandbox, "apply", "-f", str(path))
    seen: list[tuple[str, str]] = []
    async with await api_client(Path(sandbox.kubeconfig)) as api:
        # Events have no watch cache in the API server: their watches read etcd directly.
        informer = Informer(
            "events", client.CoreV1Api(api).list_namespaced_event,
            lambda kind, key, old, new: seen.append((kind, key)),
            watch_timeout=1, list_kwargs={"namespace": namespace},
        )
        task = asyncio.create_task(informer.run())
        try:
            await asyncio.wait_for(informer.synced.wait(), 30)
            assert ("ADDED", f"{namespace}/first") in seen
            # Move etcd two writes past the informer's resourceVersion (a watch from RV
            # starts at RV+1), then compact everything before the last write away.
            for suffix in ("a", "b"):
                out = kubectl(sandbox, "create", "configmap", f"bump-{suffix}", "-n", "default",
                              "-o", "json")
            revision = int(json.loads(out)["metadata"]["resourceVersion"])
            assert revision >= int(informer.resource_version) + 2
            request = urllib.request.Request(
                f"{sandbox.etcd_url}/v3/kv/compaction",
                data=json.dumps({"revision": revision, "physical": True}).encode(),
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
            await eventually(lambda: informer.expired_watches >= 1, "the watch to expire")
            # The 410 is counted before the re-list starts: wait for the re-list to finish.
            await eventually(lambda: informer.lists >= 2, "the re-list after the 410")
            assert f"{namespace}/first" in informer.cache
            # After the re-list the watch resumes: a new object arrives.
            event["metadata"]["name"] = "second"  # type: ignore[index]
            path.write_text(json.dumps(event))
            kubectl(sandbox, "apply", "-f", str(path))
            await eventually(lambda: f"{namespace}/second" in informer.cache, "the new event")
        finally:
            task.cancel()
