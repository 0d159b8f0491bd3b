"""The pure service planner: (Service view, settings, snapshot) -> plan; deletion plans an
empty desired model (the backend group included, only when nothing else needs it); every
known annotation acts or is warned about; the LB type is classified once."""

from __future__ import annotations

import dataclasses
from dataclasses import replace

import pytest

from k8s_aws.cloud import clb
from k8s_aws.cloud.lb_registry import Applied
from k8s_aws.loadbalancer import build
from k8s_aws.loadbalancer.annotations import (
    CLASSIC_UNSUPPORTED,
    KNOWN_SUFFIXES,
    NLB_ONLY,
    PREFIX,
)
from k8s_aws.loadbalancer.backends import BackendNode
from k8s_aws.loadbalancer.service import FINALIZER, ServiceView
from k8s_aws.loadbalancer.service_plan import PlannerSettings, PlanRequest, plan_service
from k8s_aws.model.ids import SecurityGroupId
from k8s_aws.model.instance import InstanceId, InstanceRecord
from k8s_aws.model.loadbalancer import DesiredLoadBalancer, HealthCheck, Observed, backend_rule
from k8s_aws.model.network import GroupRecord, SubnetRecord

from .lb_fixtures import CLUSTER, service
from .test_operations_declared import SRC

SETTINGS = PlannerSettings(CLUSTER)
REFS = Applied({"$frontend": "sg-front", "$backend": "sg-back"}, "lb.example")
NETWORK = Observed(
    vpc_id="vpc-1",
    subnets=(SubnetRecord("subnet-a", "a", "vpc-1", True, (("kubernetes.io/role/elb", "1"),)),
             SubnetRecord("subnet-b", "b", "vpc-1", True, (("kubernetes.io/role/elb", "1"),))),
    instances=(InstanceRecord(InstanceId("i-1"), "running", "m5.large", "a", vpc_id="vpc-1",
                              security_groups=("sg-node",)),),
    instance_groups=(GroupRecord(SecurityGroupId("sg-node"), ((f"kubernetes.io/cluster/{CLUSTER}", "owned"),)),),
)
NODES = (BackendNode("n1", "aws:///a/i-1", (), (), False, "i-1"),)


def request(svc: ServiceView, elsewhere: bool = False) -> PlanRequest:
    return PlanRequest(svc, NODES, elsewhere)


def deleting(svc: ServiceView) -> ServiceView:
    return replace(svc, deleting=True, finalizers=(FINALIZER,))


def created(svc: ServiceView) -> Observed:
    planned = plan_service(request(svc), SETTINGS, NETWORK)
    assert planned.kind == "ensure" and planned.plan.refusal is None
    return clb.simulate(NETWORK, planned.plan.actions, REFS)


def test_a_new_service_is_planned_from_the_snapshot_alone() -> None:
    planned = plan_service(request(service()), SETTINGS, NETWORK)
    ops = [a.op for a in planned.plan.actions]
    assert ops == ["CreateGroup", "AuthorizeIngress", "CreateGroup", "AuthorizeIngress",
                   "CreateLoadBalancer", "ConfigureHealthCheck", "RegisterInstances"]
    assert planned.desired is not None
    assert planned.desired.subnets == ("subnet-a", "subnet-b")
    assert planned.desired.node_groups == frozenset({"sg-node"})
    assert plan_service(request(service()), SETTINGS, created(service())).plan.actions == ()


def test_without_a_vpc_nothing_is_planned_and_the_event_says_why() -> None:
    planned = plan_service(request(service()), SETTINGS, replace(NETWORK, vpc_id=""))
    assert planned.kind == "skip" and planned.retry_after == 60
    assert [n.reason for n in planned.notes] == ["UnknownVPC"]


def test_deleting_the_last_load_balancer_removes_the_backend_group_and_node_rules() -> None:
    state = replace(created(service()), backend_unused=True)
    planned = plan_service(request(deleting(service())), SETTINGS, state)
    assert planned.kind == "delete"
    assert [(a.op, getattr(a, "group", None)) for a in planned.plan.actions] == [
        ("DeleteLoadBalancer", None), ("DeleteGroup", "sg-front"),
        ("RevokeIngress", "sg-node"), ("DeleteGroup", "sg-back")]
    revoke = planned.plan.actions[2]
    assert revoke.rules == (backend_rule("sg-back", CLUSTER),)  # type: ignore[attr-defined]
    gone = clb.simulate(state, planned.plan.actions, REFS)
    assert (gone.load_balancer, gone.frontend_group, gone.backend_group) == (None, None, None)
    assert gone.node_groups_admitting == frozenset()
    # Planning the empty model again: nothing left to do.
    assert plan_service(request(deleting(service())), SETTINGS, gone).plan.actions == ()


@pytest.mark.parametrize(
    ("elsewhere", "unused"),
    [(True, True),  # another Service wants a load balancer: it will use the group
     (False, False),  # the observer did not prove that no other LB in AWS uses it
     (True, False)],
)
def test_the_backend_group_stays_while_anything_may_need_it(elsewhere: bool, unused: bool) -> None:
    state = replace(created(service()), backend_unused=unused)
    planned = plan_service(request(deleting(service()), elsewhere), SETTINGS, state)
    assert [a.op for a in planned.plan.actions] == ["DeleteLoadBalancer", "DeleteGroup"]
    assert planned.plan.actions[1].group == "sg-front"  # type: ignore[attr-defined]


def test_a_backend_group_not_tagged_as_ours_is_never_deleted() -> None:
    state = replace(created(service()), backend_unused=True)
    assert state.backend_group is not None
    foreign = replace(state, backend_group=replace(state.backend_group, tags=()))
    planned = plan_service(request(deleting(service())), SETTINGS, foreign)
    assert "sg-back" not in {getattr(a, "group", None) for a in planned.plan.actions}
    assert "RevokeIngress" not in [a.op for a in planned.plan.actions]


@pytest.mark.parametrize("suffix", sorted(CLASSIC_UNSUPPORTED))
def test_a_known_annotation_nothing_acts_on_is_warned_about_by_name(suffix: str) -> None:
    planned = plan_service(request(service({suffix: "x"})), SETTINGS, NETWORK)
    assert planned.kind == "ensure"  # the rest is still done
    warned = [n for n in planned.notes if n.reason == "UnsupportedAnnotation"]
    assert len(warned) == 1 and warned[0].type == "Warning"
    assert warned[0].message.startswith(PREFIX + suffix + " is not supported for a Classic ELB")


def test_scheme_internal_is_not_silently_internet_facing() -> None:
    planned = plan_service(request(service({"scheme": "internal"})), SETTINGS, NETWORK)
    assert any("aws-load-balancer-scheme" in n.message and "aws-load-balancer-internal"
               in n.message for n in planned.notes)


def test_every_known_annotation_acts_or_is_refused_or_warned() -> None:
    """A classic-LB annotation is read by the parser into a setting, refused (NLB only) or
    warned about: none is accepted and dropped."""
    source = (SRC / "loadbalancer" / "annotations.py").read_text()
    for suffix in KNOWN_SUFFIXES - set(CLASSIC_UNSUPPORTED) - NLB_ONLY - {"type"}:
        assert f'"{suffix}"' in source.split("def _family", 1)[1], suffix


def test_the_load_balancer_type_is_read_in_one_place() -> None:
    reads = ('kubernetes.io/aws-load-balancer-type"', 'PREFIX + "type"', 'text("type")')
    readers = [p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")
               if any(r in p.read_text() for r in reads)]
    assert readers == ["loadbalancer/annotations.py"]
    assert service({"type": "NLB "}).lb_type == "nlb"
    assert service({"type": "nlb-ip"}).lb_type == "external"
    assert service({"type": "clb"}).lb_type == "classic"


def test_the_health_check_default_lives_in_one_place() -> None:
    assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(HealthCheck))
    planned = plan_service(request(service()), SETTINGS, NETWORK)
    assert isinstance(planned.desired, DesiredLoadBalancer)
    assert planned.desired.health_check == HealthCheck(
        "TCP:30080", build.HEALTHY_THRESHOLD, build.UNHEALTHY_THRESHOLD, build.INTERVAL,
        build.TIMEOUT)


def test_the_planner_does_no_io() -> None:
    text = (SRC / "loadbalancer" / "service_plan.py").read_text()
    assert "await" not in text and "async" not in text


@pytest.mark.parametrize("protocol", [None, "TCP", "SSL"])
def test_a_healthcheck_path_a_classic_check_does_not_use_is_warned(protocol: str | None) -> None:
    annotations = {"healthcheck-path": "/ready"}
    if protocol:
        annotations["healthcheck-protocol"] = protocol
    planned = plan_service(request(service(annotations)), SETTINGS, NETWORK)
    assert planned.kind == "ensure"
    assert [n.reason for n in planned.notes if "healthcheck-path" in n.message] == [
        "UnsupportedAnnotation"]
    used = plan_service(request(service({**annotations, "healthcheck-protocol": "HTTP"})),
                        SETTINGS, NETWORK)
    assert isinstance(used.desired, DesiredLoadBalancer)
    assert used.desired.health_check.target.endswith("/ready")
    assert not [n for n in used.notes if "healthcheck-path" in n.message]
