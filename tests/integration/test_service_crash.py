"""Crash safety and throttling of the service controller.

For every k, the emulator kills the controller right after its k-th mutating AWS call while
it creates (or deletes) a Service's load balancer; a fresh replica then finishes the job. No
AWS resource may be left behind or duplicated, and no finalizer may stay stuck. Then, with
20% of AWS calls throttled, Services still converge without a storm of calls.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox import procfs
from k8s_aws_sandbox.controllers import aws_environment, controller_manager_spec
from k8s_aws_sandbox.fidelity.control import FidelityControl
from k8s_aws_sandbox.ports import free_port
from k8s_aws_sandbox.processes import ProcessGroup
from k8s_aws_sandbox.state import SandboxState

from .conftest import kubectl, kubectl_json
from .procfs import alive
from .test_node_controllers import metric
from .test_service_clb import (
    CLIENT,
    apply_service,
    describe_lb,
    hostname,
    lb_name,
    service,
)

_replicas = itertools.count()
# A Lease of its own with a short duration: a killed replica's successor waits ~3 s, not 15.
FAST_LEASE = ("--leader-elect-resource-name=k8s-aws-crash-test",
              "--leader-elect-lease-duration=3", "--leader-elect-renew-deadline=2",
              "--leader-elect-retry-period=1")


class Replica(NamedTuple):
    pid: int
    port: int  # of its metrics

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_replica(sandbox: SandboxState) -> Replica:
    name = f"controller-manager-crash-{next(_replicas)}"
    port = free_port()
    spec = controller_manager_spec(
        name, sandbox.root / "controller-manager.kubeconfig", port,
        sandbox.root / "calls" / f"{name}.jsonl",
        aws_environment(sandbox.emulator_url, sandbox.imds_url, sandbox.region), FAST_LEASE,
    )
    return Replica(ProcessGroup(sandbox.root).start(spec), port)


def wait_caught_up(sandbox: SandboxState, replica: Replica, control: FidelityControl) -> None:
    """Wait until a new leader has re-checked every load balancer Service left by earlier
    tests and gone quiet, so that its start-up reads are not counted against a later step."""
    wanted = sum(1 for s in kubectl_json(sandbox, "get", "services", "-A")["items"]
                 if s["spec"]["type"] == "LoadBalancer")

    def caught_up() -> bool:
        if not procfs.session_listens(replica.pid, replica.port):
            return False  # not yet serving its metrics (or another run's server took the port)
        if metric(replica.metrics_url, "k8s_aws_leader") != 1:
            return False
        reconciled = metric(replica.metrics_url, "k8s_aws_reconcile_total", controller="service")
        recent = [c for c in control.calls(client=CLIENT) if c.time > time.time() - 2]
        return reconciled >= wanted and not recent

    wait_until(caught_up, timeout=120, what="the new replica to catch up and go quiet")


def stop_replicas(sandbox: SandboxState) -> None:
    group = ProcessGroup(sandbox.root)
    for pidfile in group.pidfiles():
        if pidfile.name.startswith("controller-manager"):
            group.stop(pidfile)


@pytest.fixture(scope="module")
def controllers_under_test(sandbox: SandboxState) -> Iterator[None]:
    """Replace the sandbox's replicas with crash-test ones; restore a normal one after."""
    stop_replicas(sandbox)
    yield
    stop_replicas(sandbox)
    spec = controller_manager_spec(
        "controller-manager", sandbox.root / "controller-manager.kubeconfig",
        int(sandbox.controller_manager_url.rsplit(":", 1)[1]),
        sandbox.root / "calls" / "controller-manager.jsonl",
        aws_environment(sandbox.emulator_url, sandbox.imds_url, sandbox.region),
    )
    ProcessGroup(sandbox.root).start(spec)


def ours_left(ec2: Any, elb: Any, service_key: str) -> list[str]:
    """Every AWS resource still tagged as this Service's."""
    left = [
        g["GroupId"] for g in ec2.describe_security_groups(Filters=[
            {"Name": "tag:kubernetes.io/service-name", "Values": [service_key]}])["SecurityGroups"]
    ]
    names = [d["LoadBalancerName"] for d in
             elb.describe_load_balancers()["LoadBalancerDescriptions"]]
    for chunk in range(0, len(names), 20):
        for entry in elb.describe_tags(LoadBalancerNames=names[chunk:chunk + 20])[
                "TagDescriptions"]:
            if {"Key": "kubernetes.io/service-name", "Value": service_key} in entry["Tags"]:
                left.append(entry["LoadBalancerName"])
    return left


def crash_after(sandbox: SandboxState, control: FidelityControl, k: int) -> int:
    pid = start_replica(sandbox).pid
    control.add_crash_hook(CLIENT, k, pid)
    return pid


def finish_with_fresh_replica(sandbox: SandboxState, pid: int, control: FidelityControl) -> bool:
    """Wait for the hooked replica to die (True) or to finish without reaching k (False)."""
    hooks = control.crash_hooks()
    fired = any(h.fired and h.pid == pid for h in hooks)
    control.clear_crash_hooks()
    if fired:
        wait_until(lambda: not alive(pid), timeout=30, what="the crashed replica gone")
        ProcessGroup(sandbox.root).stop(
            next(p for p in ProcessGroup(sandbox.root).pidfiles() if p.pid == pid))
    start_replica(sandbox)
    return fired


def crash_during(sandbox: SandboxState, control: FidelityControl, phase: str, name: str, k: int,
                 make_service: Callable[[str], dict[str, Any]], timeout: float
                 ) -> tuple[bool, dict[str, Any] | None]:
    """Cut the create (or delete) flow of Service `name` after its k-th mutating call, then
    hand over to a fresh replica. True if the hook fired; the Service made, when creating."""
    svc = None
    if phase == "delete":
        start_replica(sandbox)
        make_service(name)
        wait_until(lambda: hostname(sandbox, name), timeout=timeout, what=f"{name} ready")
        stop_replicas(sandbox)
        pid = crash_after(sandbox, control, k)
        kubectl(sandbox, "delete", "service", name, "--wait=false")
        wait_until(lambda: not alive(pid) or service(sandbox, name) is None,
                   timeout=timeout, what=f"{name}: crash or deletion")
    else:
        pid = crash_after(sandbox, control, k)
        svc = make_service(name)
        wait_until(lambda: not alive(pid) or hostname(sandbox, name), timeout=timeout,
                   what=f"{name}: crash or hostname")
    return finish_with_fresh_replica(sandbox, pid, control), svc


@pytest.mark.crash
@pytest.mark.usefixtures("controllers_under_test")
def test_crash_after_every_mutating_call_of_create_and_delete(
    sandbox: SandboxState, ec2: Any, elb: Any
) -> None:
    control = FidelityControl(sandbox.emulator_url)
    # Warm up: the cluster-wide backend group and node rules exist, so each Service's own
    # flow is what gets cut.
    apply_service(sandbox, "crash-warmup")
    start_replica(sandbox)
    wait_until(lambda: hostname(sandbox, "crash-warmup"), timeout=60, what="warm-up hostname")
    stop_replicas(sandbox)

    for phase in ("create", "delete"):
        for k in itertools.count(1):
            name = f"crash-{phase}-{k}"
            fired, svc = crash_during(sandbox, control, phase, name, k,
                                      lambda n: apply_service(sandbox, n), timeout=60)
            if svc is not None:
                wait_until(lambda: hostname(sandbox, name), timeout=90,
                           what=f"{name} converged after a crash at step {k}")
                lb = describe_lb(elb, lb_name(svc))
                assert lb is not None and lb["HealthCheck"]["Target"].startswith("TCP:")
                assert len(ours_left(ec2, elb, f"default/{name}")) == 2  # one LB, one group
                kubectl(sandbox, "delete", "service", name, "--wait=false")
            wait_until(lambda: service(sandbox, name) is None, timeout=90,
                       what=f"{name} deleted, finalizer not stuck (crash at step {k})")
            assert ours_left(ec2, elb, f"default/{name}") == [], f"{phase} k={k} leaked"
            stop_replicas(sandbox)
            if not fired:
                break  # k went past the last mutating call: every step was covered
        assert k >= (3 if phase == "create" else 2)


@pytest.mark.usefixtures("controllers_under_test")
def test_services_converge_with_a_fifth_of_calls_throttled(sandbox: SandboxState) -> None:
    control = FidelityControl(sandbox.emulator_url)
    wait_caught_up(sandbox, start_replica(sandbox), control)
    since = max((c.seq for c in control.calls(client=CLIENT)), default=0)
    control.patch_config({"faults": [{"pattern": "*", "kind": "throttle", "rate": 0.2,
                                      "clients": CLIENT}]})
    try:
        names = [f"throttled-{i}" for i in range(5)]
        for name in names:
            apply_service(sandbox, name)
        wait_until(lambda: all(hostname(sandbox, n) for n in names), timeout=180,
                   what="every Service converged under throttling")
    finally:
        control.patch_config({"faults": []})
    calls = [c for c in control.calls(client=CLIENT) if c.seq > since]
    throttled = [c for c in calls if c.error in ("Throttling", "RequestLimitExceeded")]
    assert throttled, "the fault rule throttled nothing: the test would prove nothing"
    # About 11 calls make a load balancer; retries of the throttled fifth stay bounded.
    assert len(calls) <= 5 * 11 * 2, f"{len(calls)} calls for 5 load balancers"
    for name in names:
        kubectl(sandbox, "delete", "service", name, "--wait=false")
    wait_until(lambda: all(service(sandbox, n) is None for n in names), timeout=120,
               what="throttled Services deleted")
