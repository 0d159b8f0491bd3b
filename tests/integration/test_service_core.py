"""The load balancer core against the emulator, in this process: plan -> apply -> re-plan is
empty with the real observer and applier (a Hypothesis property, fixed seed, outside the
IAM rerun), foreign groups are never touched, and deleting the cluster's last load balancer
(which removes the backend group and its node rule) never races a concurrent create."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from k8s_aws.cloud.clb import GroupInUse, LoadBalancerApplier
from k8s_aws.controllers.service import ServiceController
from k8s_aws.controllers.service_inputs import observe_and_plan
from k8s_aws.loadbalancer.service import FINALIZER, load_balancer_name
from k8s_aws.loadbalancer.service_plan import ServicePlan
from k8s_aws.model.lb_actions import Plan
from k8s_aws.model.loadbalancer import backend_group_name, frontend_group_name
from k8s_aws_sandbox.fidelity.control import FidelityControl
from k8s_aws_sandbox.state import SandboxState

from .lb_core import (
    Core,
    RecordingEvents,
    RecordingWriter,
    build_core,
    deleting,
    groups_named,
    rules_from,
    service_object,
)

DEADLINE = 60.0


@pytest.fixture(scope="module")
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        yield pool


async def plan_of(core: Core, raw: dict[str, Any]) -> ServicePlan:
    key = f"{raw['metadata']['namespace']}/{raw['metadata']['name']}"
    return await observe_and_plan(core.observer, core.settings, raw, {key: raw}, core.nodes)


def with_finalizer(raw: dict[str, Any]) -> dict[str, Any]:
    return {**raw, "metadata": {**raw["metadata"], "finalizers": [FINALIZER]}}


async def converge(core: Core, raw: dict[str, Any]) -> ServicePlan:
    """Plan, apply, and plan again from a fresh observation: that plan must be empty. Only a
    DependencyViolation (a deleted LB's interfaces linger a moment) stops an apply half-way;
    then the rest is planned and applied again. Returns the first plan."""
    first = await plan_of(core, raw)
    assert first.plan.refusal is None and first.kind != "skip", first.notes
    raw = with_finalizer(raw)  # as the controller sets it before its first AWS change
    planned, deadline = first, time.monotonic() + DEADLINE
    while planned.plan.actions:
        try:
            await core.applier.apply(planned.plan, planned.observed.vpc_id if planned.observed
                                     else "")
        except GroupInUse as exc:
            assert not exc.blockers, exc  # nothing foreign references our groups here
            assert time.monotonic() < deadline, planned.plan.dumps()
            await asyncio.sleep(0.5)  # poll interval while AWS releases the group
            planned = await plan_of(core, raw)
            continue
        again = await plan_of(core, raw)
        assert again.plan.actions == (), (planned.plan.dumps(), again.plan.dumps())
        break
    return first


annotation_values = st.fixed_dictionaries({}, optional={
    "cross-zone-load-balancing-enabled": st.sampled_from(["true", "false"]),
    "connection-idle-timeout": st.integers(1, 4000).map(str),
    "connection-draining-enabled": st.sampled_from(["true", "false"]),
    "proxy-protocol": st.just("*"),
    "backend-protocol": st.sampled_from(["http", "tcp", "ssl"]),
    "additional-resource-tags": st.sampled_from(["a=1", "a=2,b=3"]),
    "healthcheck-interval": st.integers(6, 300).map(str),
    "foreign": st.sampled_from(["extra-security-groups", "security-groups"]),
})
port_lists = st.lists(st.tuples(st.integers(1, 65535), st.integers(30000, 32767)),
                      min_size=1, max_size=3, unique_by=lambda p: p[0])


def with_foreign(values: dict[str, str], foreign: str) -> dict[str, str]:
    """The `foreign` key says which annotation names the user's group."""
    values = dict(values)
    where = values.pop("foreign", None)
    if where:
        values[where] = foreign
    return values


async def one_example(core: Core, foreign: str, first: dict[str, str], second: dict[str, str],
                      ports: list[tuple[int, int]], ports2: list[tuple[int, int]]) -> None:
    raw = service_object(core, "prop", with_foreign(first, foreign), ports)
    created = await converge(core, raw)
    assert created.kind == "ensure"
    changed = with_finalizer(service_object(core, "prop", with_foreign(second, foreign), ports2))
    changed["metadata"]["uid"] = raw["metadata"]["uid"]  # the same Service, changed
    updated = await converge(core, changed)
    touched = {getattr(a, "group", None) for a in (*created.plan.actions,
                                                   *updated.plan.actions)}
    assert foreign not in touched
    removed = await converge(core, deleting(changed))
    assert removed.kind == "delete"
    name = load_balancer_name(raw["metadata"]["uid"])
    gone = await plan_of(core, deleting(changed))
    assert gone.observed is not None and gone.observed.load_balancer is None
    assert groups_named(core, frontend_group_name(name)) == []
    assert groups_named(core, backend_group_name(core.cluster)) == []  # the last LB is gone


@pytest.mark.property
def test_plan_apply_replan_is_empty_against_the_emulator(
    sandbox: SandboxState, executor: ThreadPoolExecutor
) -> None:
    core = build_core(sandbox, executor)
    foreign = core.ec2.create_security_group(
        GroupName=f"user-{uuid.uuid4().hex[:6]}", Description="a user's",
        VpcId=sandbox.world.vpc_id)["GroupId"]
    core.ec2.authorize_security_group_ingress(GroupId=foreign, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}])
    before = core.ec2.describe_security_groups(GroupIds=[foreign])["SecurityGroups"][0]
    node_rules = core.ec2.describe_security_groups(
        GroupIds=[sandbox.world.node_security_group])["SecurityGroups"][0]["IpPermissions"]

    # Fixed seed; no shrinking (each try costs AWS calls): the first failure is reported.
    @settings(max_examples=24, deadline=None, derandomize=True, database=None,
              phases=(Phase.explicit, Phase.generate), print_blob=False,
              suppress_health_check=[HealthCheck.too_slow])
    @given(first=annotation_values, second=annotation_values, ports=port_lists,
           ports2=port_lists)
    def example(first: dict[str, str], second: dict[str, str], ports: list[tuple[int, int]],
                ports2: list[tuple[int, int]]) -> None:
        asyncio.run(one_example(core, foreign, first, second, ports, ports2))

    example()
    after = core.ec2.describe_security_groups(GroupIds=[foreign])["SecurityGroups"][0]
    assert after["IpPermissions"] == before["IpPermissions"]  # the user's group: untouched
    assert core.ec2.describe_security_groups(GroupIds=[sandbox.world.node_security_group])[
        "SecurityGroups"][0]["IpPermissions"] == node_rules  # our node rule went with the LBs


class PausingApplier:
    """The real applier, held before a plan that deletes a backend group until released."""

    def __init__(self, real: LoadBalancerApplier) -> None:
        self.real = real
        self.paused = asyncio.Event()
        self.release = asyncio.Event()
        self.backend = ""

    async def apply(self, plan: Plan, vpc_id: str) -> Any:
        if self.backend and any(getattr(a, "group", None) == self.backend and a.op ==
                                "DeleteGroup" for a in plan.actions):
            self.paused.set()
            await self.release.wait()
        return await self.real.apply(plan, vpc_id)


async def reconcile_until_done(controller: ServiceController, key: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            await controller.reconcile(key)
            return
        except GroupInUse:
            assert time.monotonic() < deadline, f"{key}: deletion still blocked"
            await asyncio.sleep(0.2)  # the worker would requeue with back-off


async def test_deleting_the_last_load_balancer_never_races_a_concurrent_create(
    sandbox: SandboxState, executor: ThreadPoolExecutor
) -> None:
    core = build_core(sandbox, executor)
    services: dict[str, Any] = {"default/a": service_object(core, "a")}
    writer, events = RecordingWriter(), RecordingEvents()
    applier = PausingApplier(core.applier)
    controller = ServiceController(
        services=services, nodes=core.nodes, observer=core.observer,
        applier=applier, writer=writer, events=events,  # type: ignore[arg-type]
        settings=core.settings)
    await controller.reconcile("default/a")
    backend = groups_named(core, backend_group_name(core.cluster))[0]["GroupId"]
    node_group = sandbox.world.node_security_group
    assert rules_from(core, node_group, backend) == 1
    # A goes; its plan removes the backend group, and is held right before applying.
    applier.backend = backend
    services["default/a"] = deleting(services["default/a"])
    deletion = asyncio.create_task(reconcile_until_done(controller, "default/a"))
    await asyncio.wait_for(applier.paused.wait(), DEADLINE)
    # B arrives now: it must wait for the deletion instead of planning with that group.
    services["default/b"] = service_object(core, "b")
    creation = asyncio.create_task(reconcile_until_done(controller, "default/b"))
    deadline = time.monotonic() + DEADLINE
    while controller.backend_guard.shared_waiting == 0:
        assert time.monotonic() < deadline and not creation.done(), "B did not wait"
        await asyncio.sleep(0.01)
    applier.release.set()
    await asyncio.wait_for(asyncio.gather(deletion, creation), DEADLINE)
    assert writer.finalizers["default/a"] == []
    b = core.elb.describe_load_balancers(LoadBalancerNames=[
        load_balancer_name(services["default/b"]["metadata"]["uid"])])[
        "LoadBalancerDescriptions"][0]
    existing = {g["GroupId"] for g in core.ec2.describe_security_groups(
        Filters=[{"Name": "group-id", "Values": b["SecurityGroups"]}])["SecurityGroups"]}
    assert existing == set(b["SecurityGroups"]), "B's load balancer names a deleted group"
    now = groups_named(core, backend_group_name(core.cluster))[0]["GroupId"]
    assert now in b["SecurityGroups"] and rules_from(core, node_group, now) == 1
    if now != backend:  # A deleted the old group (and its node rule) before B looked
        assert rules_from(core, node_group, backend) == 0
    # Clean up: B is the last one now, and takes the backend group and node rule with it.
    services["default/b"] = deleting(services["default/b"])
    await reconcile_until_done(controller, "default/b")
    assert groups_named(core, backend_group_name(core.cluster)) == []
    assert rules_from(core, node_group, now) == 0


async def test_new_services_race_no_backend_group_and_a_known_one_costs_no_describes(
    sandbox: SandboxState, executor: ThreadPoolExecutor
) -> None:
    """Four new Services in a cluster without a backend group: one ensure creates it, the
    others wait and plan with it (no duplicate create or rule). A fifth, with the group known
    from their snapshots, reads no load balancer and only its frontend group's name."""
    app = f"core-race-{uuid.uuid4().hex[:6]}"
    core = build_core(sandbox, executor, app)
    control = FidelityControl(sandbox.emulator_url)
    services = {f"default/r{i}": service_object(core, f"r{i}") for i in range(5)}
    controller = ServiceController(
        services=services, nodes=core.nodes, observer=core.observer, applier=core.applier,
        writer=RecordingWriter(), events=RecordingEvents(),  # type: ignore[arg-type]
        settings=core.settings)
    await asyncio.gather(*(controller.reconcile(f"default/r{i}") for i in range(4)))
    calls = control.calls(client=app)
    ops = [(c.action, c.error) for c in calls]
    assert [c for c in calls if c.error] == [], ops  # no InvalidGroup/Permission.Duplicate
    assert sum(c.action == "CreateSecurityGroup" for c in calls) == 5, ops  # 4 + the backend
    assert len(groups_named(core, backend_group_name(core.cluster))) == 1
    since = max(c.seq for c in control.calls(client=app))  # after the test's own describe
    await controller.reconcile("default/r4")
    fifth = [c.action for c in control.calls(client=app, since=since)]
    assert fifth == ["DescribeSecurityGroups", "CreateSecurityGroup",
                     "AuthorizeSecurityGroupIngress", "CreateLoadBalancer",
                     "ConfigureHealthCheck", "RegisterInstancesWithLoadBalancer"], fifth
    for key, raw in list(services.items()):  # clean up: every one goes, the last takes the group
        services[key] = deleting(raw)
    for key in list(services):
        await reconcile_until_done(controller, key)
    assert groups_named(core, backend_group_name(core.cluster)) == []
