"""Crash safety and throttling of Network Load Balancer Services.

For every k, the emulator kills the controller right after its k-th mutating AWS call while
it creates (or deletes) an NLB Service; a fresh replica then finishes the job. Nothing of
the Service's may be left behind or duplicated (NLB, target group, frontend group), and no
finalizer may stay stuck. Then, with 20% of AWS calls throttled, NLB Services still converge
without a storm of calls. The same machinery as the Classic ELB matrix (test_service_crash).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.fidelity.control import FidelityControl
from k8s_aws_sandbox.state import SandboxState

from .conftest import kubectl
from .test_service_clb import CLIENT, hostname, lb_name, service
from .test_service_crash import (
    controllers_under_test,  # noqa: F401  (the fixture, used by name)
    crash_during,
    start_replica,
    stop_replicas,
    wait_caught_up,
)
from .test_service_nlb import describe_nlb, nlb_service

OWNER_TAG = "kubernetes.io/service-name"


def owned_by(tags: list[dict[str, str]], service_key: str) -> bool:
    return {"Key": OWNER_TAG, "Value": service_key} in tags


def nlb_resources_left(ec2: Any, elbv2: Any, service_key: str) -> dict[str, list[str]]:
    """Every AWS resource still tagged as this Service's, by kind."""
    left: dict[str, list[str]] = {"groups": [
        g["GroupId"] for g in ec2.describe_security_groups(Filters=[
            {"Name": f"tag:{OWNER_TAG}", "Values": [service_key]}])["SecurityGroups"]]}
    for kind, arns in (
        ("nlbs", [lb["LoadBalancerArn"] for lb in
                  elbv2.describe_load_balancers()["LoadBalancers"]]),
        ("target_groups", [g["TargetGroupArn"] for g in
                           elbv2.describe_target_groups()["TargetGroups"]]),
    ):
        left[kind] = []
        for chunk in range(0, len(arns), 20):
            for entry in elbv2.describe_tags(ResourceArns=arns[chunk:chunk + 20])[
                    "TagDescriptions"]:
                if owned_by(entry["Tags"], service_key):
                    left[kind].append(entry["ResourceArn"])
    return left


def crash_service(sandbox: SandboxState, name: str) -> dict[str, Any]:
    return nlb_service(sandbox, name, [{"name": "web", "port": 80, "protocol": "TCP"}])


@pytest.mark.crash
@pytest.mark.usefixtures("controllers_under_test")
def test_an_nlb_converges_after_a_crash_at_every_mutating_call(
    sandbox: SandboxState, ec2: Any, elbv2: Any, control: FidelityControl
) -> None:
    # Warm up: the cluster-wide backend group and its node rule exist, so each Service's own
    # flow is what gets cut.
    start_replica(sandbox)
    crash_service(sandbox, "nlb-crash-warmup")
    wait_until(lambda: hostname(sandbox, "nlb-crash-warmup"), timeout=90, what="warm-up")
    stop_replicas(sandbox)
    steps: dict[str, int] = {}
    for phase in ("create", "delete"):
        for k in itertools.count(1):
            name = f"nlb-crash-{phase}-{k}"
            key = f"default/{name}"
            fired, svc = crash_during(sandbox, control, phase, name, k,
                                      lambda n: crash_service(sandbox, n), timeout=90)
            if svc is not None:
                wait_until(lambda: hostname(sandbox, name), timeout=120,
                           what=f"{name} converged after a crash at step {k}")
                lb = describe_nlb(elbv2, lb_name(svc))
                assert lb is not None and lb["DNSName"] == hostname(sandbox, name)
                left = nlb_resources_left(ec2, elbv2, key)
                # exactly one of each: nothing duplicated by the retry
                assert {kind: len(found) for kind, found in left.items()} == {
                    "groups": 1, "nlbs": 1, "target_groups": 1}, (k, left)
                listeners = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])
                assert [x["Port"] for x in listeners["Listeners"]] == [80]
                kubectl(sandbox, "delete", "service", name, "--wait=false")
            wait_until(lambda: service(sandbox, name) is None, timeout=120,
                       what=f"{name} deleted, finalizer not stuck (crash at step {k})")
            assert nlb_resources_left(ec2, elbv2, key) == {
                "groups": [], "nlbs": [], "target_groups": []}, f"{phase} k={k} leaked"
            stop_replicas(sandbox)
            if not fired:
                steps[phase] = k - 1
                break  # k went past the last mutating call: every step was covered
    # create: frontend group, its rule, target group, NLB, listener, targets (at least)
    assert steps["create"] >= 6 and steps["delete"] >= 3, steps
    start_replica(sandbox)
    kubectl(sandbox, "delete", "service", "nlb-crash-warmup", "--wait=false")
    wait_until(lambda: service(sandbox, "nlb-crash-warmup") is None, timeout=120,
               what="the warm-up Service deleted")
    stop_replicas(sandbox)  # the next test's replica must be able to lead at once


@pytest.mark.once  # the calls of test_service_nlb.py, only throttled
@pytest.mark.usefixtures("controllers_under_test")
def test_nlb_services_converge_with_a_fifth_of_calls_throttled(
    sandbox: SandboxState, ec2: Any, elbv2: Any, control: FidelityControl
) -> None:
    wait_caught_up(sandbox, start_replica(sandbox), control)
    since = max((c.seq for c in control.calls(client=CLIENT)), default=0)
    control.patch_config({"faults": [{"pattern": "*", "kind": "throttle", "rate": 0.2,
                                      "clients": CLIENT}]})
    names = [f"nlb-throttled-{i}" for i in range(5)]
    try:
        for name in names:
            nlb_service(sandbox, name, [{"name": "a", "port": 7000},
                                        {"name": "b", "port": 7001}])
        wait_until(lambda: all(hostname(sandbox, n) for n in names), timeout=240,
                   what="every NLB Service converged under throttling")
    finally:
        control.patch_config({"faults": []})
    calls = [c for c in control.calls(client=CLIENT) if c.seq > since]
    throttled = [c for c in calls if c.error in ("Throttling", "RequestLimitExceeded")]
    assert throttled, "the fault rule throttled nothing: the test would prove nothing"
    # At most 14 calls make a 2-port NLB; retries of the throttled fifth stay bounded.
    assert len(calls) <= 5 * 14 * 2, f"{len(calls)} calls for 5 NLBs"
    for name in names:
        left = nlb_resources_left(ec2, elbv2, f"default/{name}")
        assert {kind: len(found) for kind, found in left.items()} == {
            "groups": 1, "nlbs": 1, "target_groups": 2}, (name, left)
    for name in names:
        kubectl(sandbox, "delete", "service", name, "--wait=false")
    wait_until(lambda: all(service(sandbox, n) is None for n in names), timeout=180,
               what="throttled NLB Services deleted")
    assert all(not any(nlb_resources_left(ec2, elbv2, f"default/{n}").values()) for n in names)
