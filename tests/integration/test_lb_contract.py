"""One contract, two implementations of LoadBalancerReads / LoadBalancerWrites: the in-memory
FakeLoadBalancers the Service controller's unit tests use, and our LoadBalancerObserver /
LoadBalancerApplier against the emulator. The same plans, the same expectations: the fake
cannot drift from what the controller meets in production.

The fake starts from the network (VPC, subnets, instances, node groups) the real observer
reads, so both plan from the same facts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from k8s_aws.cloud.clb import GroupInUse
from k8s_aws.cloud.services import LoadBalancerReads, LoadBalancerWrites
from k8s_aws.controllers.service_inputs import instance_ids, observe_and_plan, plan_request
from k8s_aws.loadbalancer.service import load_balancer_name
from k8s_aws.loadbalancer.service_plan import ServicePlan
from k8s_aws.model.cluster_tag import cluster_tag_key
from k8s_aws.model.loadbalancer import SERVICE_NAME_TAG, Observed
from k8s_aws_sandbox.state import SandboxState
from tests.fakes.loadbalancers import FakeLoadBalancers

from .lb_core import Core, build_core, deleting, service_object

pytestmark = pytest.mark.once  # plans and calls test_service_core.py makes too
DEADLINE = 60.0


@pytest.fixture(scope="module")
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        yield pool


async def implementation(kind: str, core: Core, raw: dict[str, Any]
                         ) -> tuple[LoadBalancerReads, LoadBalancerWrites]:
    if kind == "emulator":
        return core.observer, core.applier
    request = plan_request(raw, {}, core.nodes)
    network: Observed = await core.observer.observe("k8s-aws-contract-none",
                                                    instance_ids(request))
    fake = FakeLoadBalancers(network)
    return fake, fake


async def plan(reads: LoadBalancerReads, core: Core, raw: dict[str, Any]) -> ServicePlan:
    key = f"{raw['metadata']['namespace']}/{raw['metadata']['name']}"
    return await observe_and_plan(reads, core.settings, raw, {key: raw}, core.nodes)


async def apply(reads: LoadBalancerReads, writes: LoadBalancerWrites, core: Core,
                raw: dict[str, Any]) -> ServicePlan:
    planned = await plan(reads, core, raw)
    assert planned.plan.refusal is None, planned.notes
    await writes.apply(planned.plan, planned.observed.vpc_id if planned.observed else "")
    return planned


async def delete(reads: LoadBalancerReads, writes: LoadBalancerWrites, core: Core,
                 raw: dict[str, Any]) -> ServicePlan:
    """Plan and apply the deletion until nothing is left to do; AWS keeps a deleted load
    balancer's interfaces a moment (GroupInUse), then the rest is planned again."""
    first: ServicePlan | None = None
    deadline = time.monotonic() + DEADLINE
    while True:
        planned = await plan(reads, core, raw)
        first = first or planned
        if not planned.plan.actions:
            return first
        try:
            await writes.apply(planned.plan, planned.observed.vpc_id if planned.observed
                               else "")
        except GroupInUse as exc:
            assert not exc.blockers, exc
            assert time.monotonic() < deadline, planned.plan.dumps()
            await asyncio.sleep(0.5)  # poll interval while AWS releases the group


@pytest.mark.parametrize("kind", ["fake", "emulator"])
async def test_ensure_then_delete_give_the_same_observations(
    kind: str, sandbox: SandboxState, executor: ThreadPoolExecutor,
) -> None:
    core = build_core(sandbox, executor)
    raw = service_object(core, "contract", {"additional-resource-tags": "team=shop"})
    reads, writes = await implementation(kind, core, raw)
    name = load_balancer_name(raw["metadata"]["uid"])

    created = await apply(reads, writes, core, raw)
    assert created.kind == "ensure"
    again = await plan(reads, core, raw)
    assert again.plan.actions == (), again.plan.dumps()
    assert again.observed is not None and again.observed.load_balancer is not None
    lb = again.observed.load_balancer
    assert lb.name == name
    assert {(x.lb_port, x.protocol, x.instance_port) for x in lb.listeners} == {
        (80, "TCP", 30080)}
    assert lb.instances == frozenset(instance_ids(plan_request(raw, {}, core.nodes)))
    tags = dict(lb.tags)
    assert tags[cluster_tag_key(core.cluster)] == "owned" and tags["team"] == "shop"
    assert tags[SERVICE_NAME_TAG] == "default/contract"
    assert lb.health_check.target == "TCP:30080"
    frontend, backend = again.observed.frontend_group, again.observed.backend_group
    assert frontend is not None and backend is not None
    assert again.observed.node_groups_admitting  # the node groups admit the backend group

    removed = await delete(reads, writes, core, deleting(raw))
    assert removed.kind == "delete"
    assert removed.plan.actions[0].op == "DeleteLoadBalancer"
    gone = await reads.observe(name, (), check_backend_users=True)
    assert gone.load_balancer is None and gone.frontend_group is None
    assert gone.backend_group is None  # the cluster's last load balancer: backend group too
