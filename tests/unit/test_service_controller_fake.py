"""The Service controller's reconcile (observe -> plan -> apply -> finalizer, hostname,
Events) over the in-memory FakeLoadBalancers: the ensure, the no-op resync, a joining node
and the deletion, in milliseconds. The emulator tests (tests/integration/test_service_*.py)
stay the proof end to end.
"""

from __future__ import annotations

from typing import Any, cast

import pytest

from k8s_aws.controllers.service import ServiceController
from k8s_aws.controllers.service_inputs import backend_wanted_elsewhere
from k8s_aws.kube.events import EventRecorder, ObjectRef
from k8s_aws.kube.services import ServiceWriter
from k8s_aws.loadbalancer.service import FINALIZER, ServiceView
from k8s_aws.loadbalancer.service_plan import PlannerSettings
from k8s_aws.model.ids import SecurityGroupId
from k8s_aws.model.instance import InstanceId, InstanceRecord
from k8s_aws.model.loadbalancer import Observed
from k8s_aws.model.network import GroupRecord, SubnetRecord
from tests.fakes.loadbalancers import FakeLoadBalancers

CLUSTER = "c1"
KEY = "shop/web"
ELB_ROLE = ("kubernetes.io/role/elb", "1")
NETWORK = Observed(
    vpc_id="vpc-1",
    subnets=(SubnetRecord("subnet-a", "us-west-2a", "vpc-1", True, (ELB_ROLE,)),
             SubnetRecord("subnet-b", "us-west-2b", "vpc-1", True, (ELB_ROLE,))),
    instances=tuple(
        InstanceRecord(InstanceId(f"i-{n:017x}"), "running", "m5.large", "us-west-2a",
                       vpc_id="vpc-1", security_groups=("sg-node",))
        for n in (1, 2)),
    instance_groups=(GroupRecord(SecurityGroupId("sg-node"),
                                 ((f"kubernetes.io/cluster/{CLUSTER}", "owned"),)),),
)


class Writer:
    """ServiceWriter's two writes, applied to the cached object as the informer would."""

    def __init__(self, services: dict[str, Any]) -> None:
        self.services = services
        self.version = 1

    def _bump(self) -> str:
        self.version += 1
        return str(self.version)

    async def set_finalizers(self, namespace: str, name: str, version: str,
                             finalizers: list[str]) -> str:
        raw = self.services[f"{namespace}/{name}"]
        raw["metadata"]["finalizers"] = list(finalizers)
        raw["metadata"]["resourceVersion"] = self._bump()
        return str(raw["metadata"]["resourceVersion"])

    async def set_hostname(self, namespace: str, name: str, hostname: str | None) -> str:
        raw = self.services[f"{namespace}/{name}"]
        raw["status"] = {"loadBalancer": {"ingress": [{"hostname": hostname}] if hostname
                                          else []}}
        raw["metadata"]["resourceVersion"] = self._bump()
        return str(raw["metadata"]["resourceVersion"])


class Events:
    def __init__(self) -> None:
        self.recorded: list[tuple[str, str]] = []

    async def record(self, ref: ObjectRef, type_: str, reason: str, message: str) -> None:
        self.recorded.append((type_, reason))


def node(name: str, instance: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": f"u-{name}", "labels": {}},
            "spec": {"providerID": f"aws:///us-west-2a/{instance}"}}


def web_service() -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "shop",
                     "uid": "6f1c2d3e-aaaa-bbbb-cccc-123456789abc", "resourceVersion": "1",
                     "annotations": {}, "finalizers": []},
        "spec": {"type": "LoadBalancer",
                 "ports": [{"name": "http", "protocol": "TCP", "port": 80, "nodePort": 30080}]},
    }


class World:
    def __init__(self) -> None:
        self.services: dict[str, Any] = {KEY: web_service()}
        self.nodes: dict[str, Any] = {"n1": node("n1", "i-00000000000000001")}
        self.aws = FakeLoadBalancers(NETWORK)
        self.writer = Writer(self.services)
        self.events = Events()
        self.controller = ServiceController(
            services=self.services, nodes=self.nodes, observer=self.aws, applier=self.aws,
            writer=cast(ServiceWriter, self.writer), events=cast(EventRecorder, self.events),
            settings=PlannerSettings(CLUSTER))

    @property
    def load_balancer(self) -> Any:
        states = list(self.aws.by_name.values())
        return states[0].load_balancer if states else None


@pytest.fixture
def world() -> World:
    return World()


async def test_ensure_creates_the_load_balancer_then_sets_finalizer_and_hostname(
    world: World,
) -> None:
    assert await world.controller.reconcile(KEY) is None
    [plan] = world.aws.applied
    assert [a.op for a in plan.actions] == [
        "CreateGroup", "AuthorizeIngress", "CreateGroup", "AuthorizeIngress",
        "CreateLoadBalancer", "ConfigureHealthCheck", "RegisterInstances"]
    lb = world.load_balancer
    assert lb is not None and lb.instances == frozenset({"i-00000000000000001"})
    raw = world.services[KEY]
    assert raw["metadata"]["finalizers"] == [FINALIZER]
    assert raw["status"]["loadBalancer"]["ingress"][0]["hostname"] == lb.dns_name
    assert ("Normal", "EnsuredLoadBalancer") in world.events.recorded


async def test_a_resync_of_an_unchanged_service_applies_nothing(world: World) -> None:
    await world.controller.reconcile(KEY)
    observed = world.aws.observed
    await world.controller.reconcile(KEY)
    assert len(world.aws.applied) == 1
    assert world.aws.observed == observed + 1  # network facts only: the snapshot is cached


async def test_a_joining_node_costs_one_registration(world: World) -> None:
    await world.controller.reconcile(KEY)
    world.nodes["n2"] = node("n2", "i-00000000000000002")
    await world.controller.reconcile(KEY)
    assert [a.op for a in world.aws.applied[-1].actions] == ["RegisterInstances"]
    assert world.load_balancer.instances == frozenset({"i-00000000000000001", "i-00000000000000002"})


async def test_deletion_removes_everything_then_the_finalizer(world: World) -> None:
    await world.controller.reconcile(KEY)
    raw = world.services[KEY]
    raw["metadata"]["deletionTimestamp"] = "2026-12-02T00:00:00Z"
    await world.controller.reconcile(KEY)
    ops = [a.op for a in world.aws.applied[-1].actions]
    assert ops[0] == "DeleteLoadBalancer" and ops.count("DeleteGroup") == 2
    assert world.load_balancer is None
    assert raw["metadata"]["finalizers"] == []
    assert ("Normal", "DeletedLoadBalancer") in world.events.recorded


async def test_an_invalid_annotation_is_a_warning_and_no_aws_call(world: World) -> None:
    world.services[KEY]["metadata"]["annotations"] = {
        "service.beta.kubernetes.io/aws-load-balancer-healthcheck-interval": "often"}
    await world.controller.reconcile(KEY)
    assert world.aws.applied == [] and world.aws.observed == 0
    assert any(kind == "Warning" for kind, _ in world.events.recorded)


async def test_a_service_that_wants_a_load_balancer_again_keeps_the_backend_group_again(
    world: World,
) -> None:
    """The released keys bridge only the informer's lag after a finalizer removal: once the
    informer shows it, the Service counts again for the backend group when it comes back."""
    await world.controller.reconcile(KEY)
    raw = world.services[KEY]
    raw["spec"]["type"] = "ClusterIP"  # no longer a LoadBalancer: deleted, Service kept
    await world.controller.reconcile(KEY)
    assert raw["metadata"]["finalizers"] == []
    world.controller.on_service_event("MODIFIED", KEY, None, raw)  # the informer catches up
    raw["spec"]["type"] = "LoadBalancer"
    other = ServiceView.of({**web_service(), "metadata": {
        **web_service()["metadata"], "name": "api", "uid": "u-api",
        "finalizers": [FINALIZER], "deletionTimestamp": "2026-12-02T00:00:00Z"}})
    assert backend_wanted_elsewhere(other, world.services, world.controller.deletions.released)
