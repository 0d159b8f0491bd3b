"""Building, planning and simulating Classic ELBs: tables, golden plans, properties."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8s_aws.cloud import clb
from k8s_aws.cloud.lb_registry import Applied
from k8s_aws.loadbalancer.build import Backend
from k8s_aws.loadbalancer.plan import plan_delete, plan_ensure
from k8s_aws.loadbalancer.service import load_balancer_name, service_problems, wants_classic_lb
from k8s_aws.model.ids import SecurityGroupId
from k8s_aws.model.lb_actions import Action
from k8s_aws.model.loadbalancer import (
    DesiredLoadBalancer,
    HealthCheck,
    Listener,
    Observed,
    ObservedGroup,
    ours,
    service_tags,
)

from .lb_fixtures import (
    CLUSTER,
    GOLDEN,
    GOLDEN_CASES,
    UID,
    assert_matches_golden,
    desired,
    plan_json,
    service,
)

REFS = {"$frontend": "sg-front", "$backend": "sg-back"}


def simulate(
    observed: Observed, actions: tuple[Action, ...], refs: dict[str, str] | None = None,
    dns_name: str = "",
) -> Observed:
    """The registry's effects, with the ids an applier would have got back."""
    return clb.simulate(observed, actions, Applied(dict(refs or {}), dns_name))


def test_name_is_a_plus_uid_without_dashes_cut_to_32() -> None:
    assert load_balancer_name(UID) == "a6f1c2d3eaaaabbbbcccc123456789ab"


@pytest.mark.parametrize(
    ("spec", "annotations", "wanted"),
    [
        ({}, {}, True),
        ({"type": "NodePort"}, {}, False),
        ({"loadBalancerClass": "x"}, {}, False),
        ({}, {"type": "nlb"}, False),
        ({}, {"type": "external"}, False),
    ],
)
def test_which_services_get_a_classic_elb(spec: dict, annotations: dict, wanted: bool) -> None:  # type: ignore[type-arg]
    assert wants_classic_lb(service(annotations, **spec)) is wanted


def test_service_problems_name_the_field() -> None:
    svc = service(sessionAffinity="ClientIP", loadBalancerIP="1.2.3.4",
                  loadBalancerSourceRanges=["10.0.0.0/33"])
    problems = " | ".join(service_problems(svc))
    assert "spec.sessionAffinity: ClientIP" in problems
    assert "spec.loadBalancerIP" in problems
    assert "spec.loadBalancerSourceRanges: '10.0.0.0/33'" in problems


def test_listeners_health_check_and_rules() -> None:
    d = desired(ports=[("http", 80, 30080), ("https", 443, 30443)],
                loadBalancerSourceRanges=["10.0.0.0/8"])
    assert d.listeners == (Listener(80, "TCP", 30080, "TCP"), Listener(443, "TCP", 30443, "TCP"))
    assert d.health_check == HealthCheck("TCP:30080", 2, 6, 10, 5)
    assert d.frontend_group is not None
    assert {(r.protocol, r.from_port, r.source) for r in d.frontend_group.rules} == {
        ("tcp", 80, "10.0.0.0/8"), ("tcp", 443, "10.0.0.0/8"), ("icmp", 3, "10.0.0.0/8")}


def test_ssl_listeners_and_local_policy_health_check() -> None:
    d = desired({"ssl-cert": "arn:aws:acm:r:1:certificate/c", "ssl-ports": "443",
                 "backend-protocol": "http"},
                ports=[("http", 80, 30080), ("https", 443, 30443)],
                externalTrafficPolicy="Local", healthCheckNodePort=32000)
    assert Listener(443, "HTTPS", 30443, "HTTP", "arn:aws:acm:r:1:certificate/c") in d.listeners
    assert Listener(80, "HTTP", 30080, "HTTP") in d.listeners
    assert d.health_check.target == "HTTP:32000/healthz"


@pytest.mark.parametrize(("golden", "annotations", "spec"), GOLDEN_CASES)
def test_golden_plans(golden: str, annotations: dict[str, str], spec: dict) -> None:  # type: ignore[type-arg]
    assert_matches_golden(golden, plan_json(annotations, **spec))


def test_new_load_balancer_plan_in_dependency_order() -> None:
    ops = [a["op"] for a in plan_json()]
    assert ops == ["CreateGroup", "AuthorizeIngress", "CreateGroup", "AuthorizeIngress",
                   "CreateLoadBalancer", "ConfigureHealthCheck", "RegisterInstances"]


def applied(d: DesiredLoadBalancer, observed: Observed | None = None) -> Observed:
    observed = observed or Observed()
    plan = plan_ensure(d, observed, CLUSTER)
    assert plan.refusal is None
    return simulate(observed, plan.actions, REFS, "lb.example")


def test_scheme_change_is_refused_not_attempted() -> None:
    state = applied(desired())
    plan = plan_ensure(desired({"internal": "true"}), state, CLUSTER)
    assert plan.actions == ()
    assert plan.refusal is not None and "delete and recreate the Service" in plan.refusal


def test_a_node_joining_registers_only_that_node() -> None:
    state = applied(desired())
    more = desired(backends=[Backend("i-1", "sg-node"), Backend("i-2", "sg-node"),
                             Backend("i-3", "sg-node")])
    assert [a["op"] for a in plan_ensure(more, state, CLUSTER).to_json()] == ["RegisterInstances"]
    assert plan_ensure(more, state, CLUSTER).actions[0].instances == ("i-3",)  # type: ignore[attr-defined]


def test_delete_removes_load_balancer_then_our_group_only() -> None:
    state = applied(desired())
    plan = plan_delete("shop/web", state, CLUSTER)
    assert [a.op for a in plan.actions] == ["DeleteLoadBalancer", "DeleteGroup"]
    assert state.frontend_group is not None
    foreign = replace(state, frontend_group=replace(state.frontend_group, tags=()))
    assert [a.op for a in plan_delete("shop/web", foreign, CLUSTER).actions] == [
        "DeleteLoadBalancer"]


def test_a_load_balancer_with_our_name_but_not_our_tags_is_left_alone() -> None:
    state = applied(desired())
    assert state.load_balancer is not None
    lb = replace(state.load_balancer, tags=(("kubernetes.io/cluster/prod", "shared"),))
    foreign = replace(state, load_balancer=lb)
    assert plan_ensure(desired(), foreign, CLUSTER).refusal is not None
    assert plan_delete("shop/web", foreign, CLUSTER).actions == ()


annotation_values = st.fixed_dictionaries({}, optional={
    "internal": st.sampled_from(["true", "false"]),
    "cross-zone-load-balancing-enabled": st.sampled_from(["true", "false"]),
    "connection-idle-timeout": st.integers(1, 4000).map(str),
    "connection-draining-enabled": st.sampled_from(["true", "false"]),
    "proxy-protocol": st.just("*"),
    "backend-protocol": st.sampled_from(["http", "https", "ssl", "tcp"]),
    "ssl-cert": st.just("arn:aws:acm:r:1:certificate/c"),
    "ssl-negotiation-policy": st.just("ELBSecurityPolicy-2016-08"),
    "additional-resource-tags": st.sampled_from(["a=1", "a=2,b=3"]),
    "extra-security-groups": st.just("sg-0000beef"),
    "security-groups": st.just("sg-0000cafe"),
    "healthcheck-interval": st.integers(6, 300).map(str),
})
port_lists = st.lists(
    st.tuples(st.integers(1, 65535), st.integers(30000, 32767)), min_size=1, max_size=4,
    unique_by=lambda p: p[0],
).map(lambda ps: [(f"p{i}", p, np) for i, (p, np) in enumerate(ps)])
backend_lists = st.lists(
    st.tuples(st.sampled_from(["i-1", "i-2", "i-3", "i-4"]),
              st.sampled_from(["sg-node", "sg-node-shared"])),
    unique_by=lambda b: b[0],
).map(lambda pairs: [Backend(i, group) for i, group in pairs])


@settings(max_examples=150, deadline=None)
@given(first=annotation_values, second=annotation_values, ports=port_lists,
       ports2=port_lists, backends=backend_lists, backends2=backend_lists)
def test_replanning_after_applying_is_empty_and_only_ours_is_touched(
    first: dict[str, str], second: dict[str, str], ports: list, ports2: list,  # type: ignore[type-arg]
    backends: list[Backend], backends2: list[Backend],
) -> None:
    foreign_groups = {"sg-0000beef", "sg-0000cafe", "sg-node-foreign"}
    node_groups = {"sg-node", "sg-node-shared"}  # not ours: they only get our one rule
    one = desired(first, backends=backends, ports=ports)
    state = applied(one)
    assert plan_ensure(one, state, CLUSTER).actions == ()
    two = desired({**second, "internal": first.get("internal", "false")}, backends=backends2,
                  ports=ports2)
    plan = plan_ensure(two, state, CLUSTER)
    for action in plan.actions:
        group = getattr(action, "group", None)
        assert group not in foreign_groups, f"{action} touches a group that is not ours"
        if group in node_groups:
            assert action.op == "AuthorizeIngress", action
            assert [r.source for r in action.rules] == ["sg-back"], action  # type: ignore[attr-defined]
    after = simulate(state, plan.actions, REFS, "lb.example")
    assert plan_ensure(two, after, CLUSTER).actions == ()
    gone = simulate(after, plan_delete("shop/web", after, CLUSTER).actions, REFS)
    assert gone.load_balancer is None and gone.frontend_group is None


def test_the_property_inputs_hold_foreign_groups_and_the_plan_names_them() -> None:
    """The groups the property says are never touched do reach its plans: user groups are
    attached to the load balancer, the node groups get the backend rule and nothing else."""
    d = desired({"security-groups": "sg-0000cafe", "extra-security-groups": "sg-0000beef"},
                backends=[Backend("i-1", "sg-node"), Backend("i-2", "sg-node-shared")])
    plan = plan_ensure(d, Observed(), CLUSTER)
    create = next(a for a in plan.actions if a.op == "CreateLoadBalancer")
    assert {"sg-0000cafe", "sg-0000beef"} <= set(create.groups)  # type: ignore[attr-defined]
    touched = {getattr(a, "group", None) for a in plan.actions} - {None}
    assert touched == {"sg-node", "sg-node-shared"}  # CreateGroup names a ref, not a group
    state = simulate(Observed(), plan.actions, REFS, "lb.example")
    assert state.node_groups_admitting == {"sg-node", "sg-node-shared"}


def test_missing_golden_file_fails_and_is_not_written() -> None:
    with pytest.raises(AssertionError, match="make golden"):
        test_golden_plans("no-such-plan", {}, {})
    assert not (GOLDEN / "no-such-plan.json").exists()


def test_ours_needs_owned_cluster_tag_and_identity_tag() -> None:
    tags = (("kubernetes.io/cluster/prod", "owned"), ("kubernetes.io/service-name", "shop/web"))
    assert ours(tags, CLUSTER, "shop/web")
    assert not ours(tags[:1], CLUSTER, "shop/web")  # BOSH tags disks with the cluster tag too
    assert not ours((("kubernetes.io/cluster/prod", "shared"), tags[1]), CLUSTER, "shop/web")
    assert not ours(tags, CLUSTER, "shop/other")
    group = ObservedGroup(SecurityGroupId("sg-1"), "n", tags)
    assert group.tag("kubernetes.io/service-name") == "shop/web"


def test_service_tags_keep_the_identity_tags_over_additional_ones() -> None:
    """Even should an additional tag get past the annotation check, the LB stays ours."""
    tags = service_tags(CLUSTER, "shop/web", (
        ("team", "shop"), ("kubernetes.io/cluster/prod", "shared"),
        ("kubernetes.io/service-name", "other/x")))
    assert tags == (("kubernetes.io/cluster/prod", "owned"),
                    ("kubernetes.io/service-name", "shop/web"), ("team", "shop"))
    assert ours(tags, CLUSTER, "shop/web")
    assert desired({"additional-resource-tags": "team=shop"}).tags == tags
