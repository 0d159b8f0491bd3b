"""The Network LB planner: a `type: nlb` Service -> target groups per port on the NodePort,
TCP/UDP/TCP_UDP listeners, the reference's health checks, the frontend group and the
cluster's one backend group; re-planning after the simulated apply is empty; a joining node
is one registration per target group; deletion goes in reverse; what is not supported yet is
refused or warned about by name."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from k8s_aws.cloud import clb
from k8s_aws.cloud.lb_registry import Applied
from k8s_aws.cloud.nlb_wire import listener_of
from k8s_aws.loadbalancer.annotations import NLB_UNSUPPORTED, PREFIX
from k8s_aws.loadbalancer.backends import BackendNode
from k8s_aws.loadbalancer.drift import network_lb_drifted
from k8s_aws.loadbalancer.nlb_build import TCP_CHECK
from k8s_aws.loadbalancer.service import FINALIZER, ServiceView
from k8s_aws.loadbalancer.service_plan import PlanRequest, ServicePlan, plan_service
from k8s_aws.model.ids import Arn, LoadBalancerName
from k8s_aws.model.instance import InstanceId, InstanceRecord
from k8s_aws.model.loadbalancer import IngressRule, Observed, ObservedLoadBalancer
from k8s_aws.model.nlb import (
    DEFAULT_NLB_ATTRIBUTES,
    KUBE_PROXY_HEALTH_PORT,
    DesiredNetworkLB,
    ObservedNetworkLB,
    TargetHealthCheck,
    target_group_name,
)

from .lb_fixtures import UID
from .test_lb_service_plan import NETWORK, NODES, SETTINGS

TWO_PORTS = [{"name": "http", "protocol": "TCP", "port": 80, "nodePort": 30080},
             {"name": "https", "protocol": "TCP", "port": 443, "nodePort": 30443}]


def nlb(annotations: dict[str, str] | None = None, ports: list[dict[str, Any]] | None = None,
        **spec: Any) -> ServiceView:
    notes = {PREFIX + "type": "nlb", **{PREFIX + k: v for k, v in (annotations or {}).items()}}
    return ServiceView.of({
        "metadata": {"name": "web", "namespace": "shop", "uid": UID, "annotations": notes},
        "spec": {"type": "LoadBalancer", "ports": ports or TWO_PORTS, **spec},
    })


def plan(svc: ServiceView, snapshot: Observed = NETWORK,
         nodes: tuple[BackendNode, ...] = NODES) -> ServicePlan:
    return plan_service(PlanRequest(svc, nodes, True), SETTINGS, snapshot)


def refs(planned: ServicePlan) -> Applied:
    """What AWS would give back for every reference the plan makes."""
    applied = Applied({"$frontend": "sg-front", "$backend": "sg-back", "$nlb": "arn:nlb"},
                      "web.elb.example")
    for action in planned.plan.actions:
        if action.op == "CreateTargetGroup":
            applied.refs[f"$tg:{action.name}"] = f"arn:tg/{action.name}"  # type: ignore[attr-defined]
        if action.op == "CreateNlbListener":
            applied.refs[f"$listener:{action.port}"] = f"arn:l/{action.port}"  # type: ignore[attr-defined]
    return applied


def applied(svc: ServiceView, snapshot: Observed = NETWORK) -> Observed:
    planned = plan(svc, snapshot)
    assert planned.kind == "ensure" and planned.plan.refusal is None, planned
    return clb.simulate(snapshot, planned.plan.actions, refs(planned))


def desired(planned: ServicePlan) -> DesiredNetworkLB:
    assert isinstance(planned.desired, DesiredNetworkLB), planned
    return planned.desired


def test_a_new_two_port_nlb_is_planned_in_dependency_order() -> None:
    planned = plan(nlb())
    ops = [a.op for a in planned.plan.actions]
    assert ops == ["CreateGroup", "AuthorizeIngress", "CreateGroup", "AuthorizeIngress",
                   "CreateTargetGroup", "CreateTargetGroup", "CreateNetworkLoadBalancer",
                   "CreateNlbListener", "CreateNlbListener", "RegisterTargets",
                   "RegisterTargets"]
    want = desired(planned)
    assert [(g.protocol, g.port) for g in want.target_groups] == [("TCP", 30080), ("TCP", 30443)]
    assert all(re.fullmatch(r"k8s-shop-web-[0-9a-f]{10}", g.name) for g in want.target_groups)
    assert {g.health_check for g in want.target_groups} == {TCP_CHECK}
    assert TargetHealthCheck("TCP", "traffic-port", "", 3, 3, 30, 10) == TCP_CHECK
    create = next(a for a in planned.plan.actions if a.op == "CreateNetworkLoadBalancer")
    assert create.groups == ("$frontend", "$backend")  # type: ignore[attr-defined]
    assert want.frontend_group is not None
    assert IngressRule("tcp", 443, 443, "0.0.0.0/0") in want.frontend_group.rules
    assert IngressRule("icmp", 3, 4, "0.0.0.0/0") in want.frontend_group.rules
    assert len(planned.plan.actions) <= 14


def test_replanning_after_the_apply_is_empty_and_the_hostname_is_the_nlbs() -> None:
    after = applied(nlb())
    assert after.hostname == "web.elb.example"
    again = plan(nlb(), after)
    assert again.plan.actions == () and again.notes == ()


def test_a_joining_node_is_one_registration_per_target_group() -> None:
    after = applied(nlb())
    joined = replace(after, instances=(*after.instances, InstanceRecord(
        InstanceId("i-2"), "running", "m5.large", "b", vpc_id="vpc-1",
        security_groups=("sg-node",))))
    nodes = (*NODES, BackendNode("n2", "aws:///b/i-2", (), (), False, "i-2"))
    planned = plan(nlb(), joined, nodes)
    assert [a.op for a in planned.plan.actions] == ["RegisterTargets", "RegisterTargets"]
    assert {a.instances for a in planned.plan.actions} == {("i-2",)}  # type: ignore[attr-defined]


def test_tcp_and_udp_on_one_port_make_one_tcp_udp_listener() -> None:
    ports = [{"name": "dns", "protocol": "UDP", "port": 53, "nodePort": 30053},
             {"name": "dns-tcp", "protocol": "TCP", "port": 53, "nodePort": 30053}]
    want = desired(plan(nlb(ports=ports)))
    assert [(x.port, x.protocol) for x in want.listeners] == [(53, "TCP_UDP")]
    assert [g.protocol for g in want.target_groups] == ["TCP_UDP"]
    assert want.frontend_group is not None
    assert {IngressRule("tcp", 53, 53, "0.0.0.0/0"),
            IngressRule("udp", 53, 53, "0.0.0.0/0")} <= want.frontend_group.rules


def test_a_udp_only_port_is_checked_through_kube_proxy() -> None:
    ports = [{"name": "syslog", "protocol": "UDP", "port": 514, "nodePort": 30514}]
    check = desired(plan(nlb(ports=ports))).target_groups[0].health_check
    assert (check.protocol, check.port, check.path) == (
        "HTTP", str(KUBE_PROXY_HEALTH_PORT), "/healthz")


def test_the_local_policy_checks_the_health_check_node_port() -> None:
    svc = nlb(externalTrafficPolicy="Local", healthCheckNodePort=32000)
    check = desired(plan(svc)).target_groups[0].health_check
    assert check == TargetHealthCheck("HTTP", "32000", "/healthz", 2, 2, 10, 6, "200-399")


def test_healthcheck_annotations_override_and_a_change_is_modified_in_place() -> None:
    after = applied(nlb())
    svc = nlb({"healthcheck-protocol": "HTTP", "healthcheck-path": "/ready",
               "healthcheck-interval": "10", "healthcheck-timeout": "5",
               "healthcheck-healthy-threshold": "2", "healthcheck-port": "8080"})
    planned = plan(svc, after)
    assert [a.op for a in planned.plan.actions] == ["ModifyTargetGroupHealthCheck"] * 2
    check = desired(planned).target_groups[0].health_check
    assert check == TargetHealthCheck("HTTP", "8080", "/ready", 2, 3, 10, 5, "200-399")


@pytest.mark.parametrize(("ports", "annotations", "named"), [
    ([{"name": "a", "protocol": "UDP", "port": 53, "nodePort": 30053},
      {"name": "b", "protocol": "TCP", "port": 53, "nodePort": 30054}], {}, "same nodePort"),
    ([{"name": "a", "protocol": "SCTP", "port": 53, "nodePort": 30053}], {}, "SCTP"),
    (None, {"healthcheck-protocol": "SSL"}, PREFIX + "healthcheck-protocol"),
    (None, {"scheme": "public"}, PREFIX + "scheme"),
    (None, {"target-group-attributes": "stickiness.type=lb_cookie"},
     PREFIX + "target-group-attributes: unknown attribute 'stickiness.type'"),
    (None, {"target-group-attributes": "preserve_client_ip.enabled=yes"},
     "preserve_client_ip.enabled: invalid value 'yes'"),
    (None, {"target-group-attributes": "deregistration_delay.timeout_seconds=9999"},
     "an integer 0-3600"),
    (None, {"proxy-protocol": "*", "target-group-attributes": "proxy_protocol_v2.enabled=false"},
     PREFIX + "proxy-protocol: contradicts"),
])
def test_bad_or_unsupported_input_is_refused_by_name_with_no_aws_state_read(
    ports: list[dict[str, Any]] | None, annotations: dict[str, str], named: str
) -> None:
    planned = plan_service(PlanRequest(nlb(annotations, ports), NODES, True), SETTINGS,
                           Observed())  # no snapshot needed: refused before AWS
    assert planned.kind == "skip" and planned.plan.actions == ()
    assert [n.reason for n in planned.notes] == ["InvalidConfiguration"]
    assert named in planned.notes[0].message


@pytest.mark.parametrize("suffix", sorted(NLB_UNSUPPORTED))
def test_a_known_annotation_an_nlb_does_not_act_on_is_warned_by_name(suffix: str) -> None:
    value = {"access-log-emit-interval": "5", "backend-protocol": "tcp",
             "connection-draining-timeout": "30", "connection-idle-timeout": "60",
             "ip-address-type": "dualstack"}.get(
        suffix, "true")
    planned = plan(nlb({suffix: value, "access-log-s3-bucket-name": "b"}))
    warned = [n.message for n in planned.notes if n.reason == "UnsupportedAnnotation"]
    assert any(PREFIX + suffix in m and "Network Load Balancer" in m for m in warned)


def test_scheme_internal_makes_an_internal_nlb() -> None:
    assert desired(plan(nlb({"scheme": "internal"}))).internal
    assert desired(plan(nlb({"internal": "true"}))).internal


def test_deletion_goes_in_reverse_and_keeps_what_is_not_ours() -> None:
    after = applied(nlb())
    gone = replace(nlb(), deleting=True, finalizers=(FINALIZER,))
    planned = plan_service(PlanRequest(gone, NODES, True), SETTINGS, after)
    assert [a.op for a in planned.plan.actions] == [
        "DeleteNetworkLoadBalancer", "DeleteTargetGroup", "DeleteTargetGroup", "DeleteGroup"]
    foreign = replace(after, target_groups=tuple(
        replace(tg, tags=()) for tg in after.target_groups))
    planned = plan_service(PlanRequest(gone, NODES, True), SETTINGS, foreign)
    assert "DeleteTargetGroup" not in [a.op for a in planned.plan.actions]


def test_a_type_change_on_a_live_service_is_refused_and_nothing_changes() -> None:
    classic = ObservedLoadBalancer(LoadBalancerName("a6f1c2d3e"), "old.elb", False, (), (), frozenset(),
                                   TCP_CHECK, None, (), frozenset())  # type: ignore[arg-type]
    planned = plan(nlb(), replace(NETWORK, load_balancer=classic))
    assert planned.kind == "skip" and planned.plan.actions == ()
    assert [n.reason for n in planned.notes] == ["LoadBalancerTypeChange"]
    back = replace(nlb({"type": "classic"}))
    snapshot = replace(NETWORK, network_lb=ObservedNetworkLB(
        Arn("arn:nlb"), LoadBalancerName("a6f1c2d3e"), "new.elb", False, (), (), ()))
    assert [n.reason for n in plan(back, snapshot).notes] == ["LoadBalancerTypeChange"]


def test_an_nlb_made_without_security_groups_is_adopted_without_group_changes() -> None:
    after = applied(nlb())
    assert after.network_lb is not None
    bare = replace(after, network_lb=replace(after.network_lb, security_groups=()),
                   frontend_group=None, backend_group=None, node_groups_admitting=frozenset())
    planned = plan(nlb(), bare)
    assert planned.plan.actions == ()
    assert [n.reason for n in planned.notes] == ["LoadBalancerKept"]


EIPS = "eipalloc-0a1b2c3d4e5f60718,eipalloc-0a1b2c3d4e5f60719"


def test_eip_allocations_are_given_one_per_subnet_at_creation() -> None:
    planned = plan(nlb({"eip-allocations": EIPS}))
    create = next(a for a in planned.plan.actions if a.op == "CreateNetworkLoadBalancer")
    assert create.mappings == (  # type: ignore[attr-defined]
        ("subnet-a", "eipalloc-0a1b2c3d4e5f60718", ""),
        ("subnet-b", "eipalloc-0a1b2c3d4e5f60719", ""))


@pytest.mark.parametrize(("annotations", "named"), [
    ({"eip-allocations": "eipalloc-0a1b2c3d4e5f60718"}, "1 given for 2 subnets"),
    ({"eip-allocations": EIPS, "internal": "true"}, "internet-facing load balancers only"),
    ({"eip-allocations": "eip-1,eip-2"}, "expected eipalloc-<hex>"),
    ({"private-ipv4-addresses": "10.0.1.5,10.0.2.5"}, "internal load balancers only"),
    ({"private-ipv4-addresses": "10.0.1.5,10.9.9.9", "internal": "true"},
     "10.9.9.9 is not inside subnet subnet-b"),
    ({"private-ipv4-addresses": "10.0.1.5,nope", "internal": "true"}, "expected IPv4"),
])
def test_bad_static_addresses_are_a_warning_naming_them_and_no_aws_change(
    annotations: dict[str, str], named: str
) -> None:
    subnets = tuple(replace(s, cidr=c) for s, c in zip(
        NETWORK.subnets, ("10.0.1.0/24", "10.0.2.0/24"), strict=True))
    planned = plan(nlb(annotations), replace(NETWORK, subnets=subnets))
    assert planned.plan.actions == () and planned.retry_after is None
    problems = [n.message for n in planned.notes if n.reason == "InvalidConfiguration"]
    assert any(named in m for m in problems), planned.notes


def test_private_addresses_inside_their_subnets_are_mapped() -> None:
    subnets = tuple(replace(s, cidr=c) for s, c in zip(
        NETWORK.subnets, ("10.0.1.0/24", "10.0.2.0/24"), strict=True))
    svc = nlb({"private-ipv4-addresses": "10.0.1.5,10.0.2.5", "internal": "true"})
    assert desired(plan(svc, replace(NETWORK, subnets=subnets))).subnet_mappings == (
        ("subnet-a", "", "10.0.1.5"), ("subnet-b", "", "10.0.2.5"))


CERT = "arn:aws:acm:us-west-2:123456789012:certificate/0a1b2c3d-aaaa-bbbb-cccc-1234567890ab"


def test_ssl_cert_and_ssl_ports_make_tls_listeners_and_replanning_is_empty() -> None:
    svc = nlb({"ssl-cert": CERT, "ssl-ports": "https",
               "ssl-negotiation-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
               "alpn-policy": "HTTP2Preferred"})
    want = desired(plan(svc))
    listeners = {x.port: x for x in want.listeners}
    assert (listeners[80].protocol, listeners[80].certificate) == ("TCP", "")
    assert (listeners[443].protocol, listeners[443].certificate, listeners[443].ssl_policy,
            listeners[443].alpn) == ("TLS", CERT, "ELBSecurityPolicy-TLS13-1-2-2021-06",
                                     "HTTP2Preferred")
    assert [g.protocol for g in want.target_groups] == ["TCP", "TCP"]  # TLS ends at the NLB
    assert plan(svc, applied(svc)).plan.actions == ()


def test_backend_protocol_ssl_makes_tls_target_groups_and_the_default_policy() -> None:
    want = desired(plan(nlb({"ssl-cert": CERT, "backend-protocol": "ssl"})))
    assert [g.protocol for g in want.target_groups] == ["TLS", "TLS"]
    assert {x.ssl_policy for x in want.listeners} == {"ELBSecurityPolicy-2016-08"}


def test_a_changed_certificate_modifies_the_listener_in_place() -> None:
    after = applied(nlb({"ssl-cert": CERT, "ssl-ports": "443"}))
    other = CERT.replace("0a1b2c3d", "9f8e7d6c")
    ops = [a.op for a in plan(nlb({"ssl-cert": other, "ssl-ports": "443"}), after).plan.actions]
    assert ops == ["ModifyNlbListener"]  # more cases: test_nlb_update.py


@pytest.mark.parametrize(("annotations", "ports", "named"), [
    ({"ssl-cert": "arn:aws:s3:::bucket"}, None, PREFIX + "ssl-cert"),
    ({"ssl-cert": CERT}, [{"name": "dns", "protocol": "UDP", "port": 53, "nodePort": 30053}],
     PREFIX + "ssl-ports: port 53 is UDP"),
    ({"ssl-cert": CERT, "backend-protocol": "http"}, None, PREFIX + "backend-protocol"),
    ({"ssl-cert": CERT, "alpn-policy": "HTTP3"}, None, PREFIX + "alpn-policy"),
])
def test_bad_tls_input_is_refused_by_name(
    annotations: dict[str, str], ports: list[dict[str, Any]] | None, named: str
) -> None:
    planned = plan_service(PlanRequest(nlb(annotations, ports), NODES, True), SETTINGS,
                           Observed())
    assert planned.kind == "skip" and planned.plan.actions == ()
    assert named in planned.notes[0].message


def test_a_plain_listener_described_with_a_policy_is_not_drift() -> None:
    """ELBv2 describes may carry an SslPolicy on a TCP listener: only TLS ones have one."""
    raw = {"ListenerArn": "arn:l", "Port": 80, "Protocol": "TCP",
           "SslPolicy": "ELBSecurityPolicy-2016-08",
           "DefaultActions": [{"Type": "forward", "TargetGroupArn": "arn:tg"}]}
    assert listener_of(raw).ssl_policy == ""
    tls = listener_of({**raw, "Protocol": "TLS", "Certificates": [{"CertificateArn": CERT}]})
    assert (tls.certificate, tls.ssl_policy) == (CERT, "ELBSecurityPolicy-2016-08")


def test_target_group_attributes_and_proxy_protocol_are_set_and_drift_repaired() -> None:
    svc = nlb({"proxy-protocol": "*", "target-group-attributes":
               "preserve_client_ip.enabled=false,deregistration_delay.timeout_seconds=30"})
    planned = plan(svc)
    ops = [a.op for a in planned.plan.actions]
    assert ops.count("ModifyTargetGroupAttributes") == 2
    assert ops.index("ModifyTargetGroupAttributes") == ops.index("CreateTargetGroup") + 1
    want = (("deregistration_delay.timeout_seconds", "30"),
            ("preserve_client_ip.enabled", "false"), ("proxy_protocol_v2.enabled", "true"))
    assert {g.attributes for g in desired(planned).target_groups} == {want}
    after = applied(svc)
    assert plan(svc, after).plan.actions == ()
    drifted = replace(after, target_groups=(
        replace(after.target_groups[0], attributes=(("proxy_protocol_v2.enabled", "false"),)),
        *after.target_groups[1:]))
    assert [a.op for a in plan(svc, drifted).plan.actions] == ["ModifyTargetGroupAttributes"]


def test_cross_zone_and_access_logs_are_set_after_creation_and_drift_repaired() -> None:
    svc = nlb({"cross-zone-load-balancing-enabled": "true", "access-log-enabled": "true",
               "access-log-s3-bucket-name": "logs", "access-log-s3-bucket-prefix": "nlb"})
    planned = plan(svc)
    ops = [a.op for a in planned.plan.actions]
    assert ops.index("ModifyNetworkLoadBalancerAttributes") > ops.index(
        "CreateNetworkLoadBalancer")
    assert dict(desired(planned).attributes) == {
        "access_logs.s3.bucket": "logs", "access_logs.s3.enabled": "true",
        "access_logs.s3.prefix": "nlb", "load_balancing.cross_zone.enabled": "true"}
    after = applied(svc)
    assert plan(svc, after).plan.actions == ()
    assert after.network_lb is not None
    drifted = replace(after, network_lb=replace(after.network_lb, attributes=DEFAULT_NLB_ATTRIBUTES))
    assert [a.op for a in plan(svc, drifted).plan.actions] == [
        "ModifyNetworkLoadBalancerAttributes"]


def test_default_attributes_cost_no_call() -> None:
    assert "ModifyNetworkLoadBalancerAttributes" not in [a.op for a in plan(nlb()).plan.actions]


def test_the_fleet_summary_shows_a_detached_target_group_or_a_missing_nlb() -> None:
    after = applied(nlb())
    lb = after.network_lb
    assert lb is not None
    groups = after.target_groups
    assert not network_lb_drifted(lb, groups, (lb, groups))
    assert network_lb_drifted(lb, groups, (lb, groups[1:]))  # a listener was removed
    assert network_lb_drifted(lb, groups, None)
    assert network_lb_drifted(lb, groups, (replace(lb, security_groups=()), groups))


@pytest.mark.parametrize("suffix", sorted(NLB_UNSUPPORTED))
def test_an_existing_nlb_warns_by_name_too_and_changes_nothing_for_it(suffix: str) -> None:
    """The existing Service's path, not only the new one's: warned on every reconcile."""
    value = {"access-log-emit-interval": "5", "connection-draining-timeout": "30",
             "connection-idle-timeout": "60", "ip-address-type": "dualstack"}.get(suffix, "true")
    existing = applied(nlb({"access-log-s3-bucket-name": "b"}))
    planned = plan(nlb({suffix: value, "access-log-s3-bucket-name": "b"}), existing)
    warned = [n.message for n in planned.notes if n.reason == "UnsupportedAnnotation"]
    assert [m for m in warned if m.startswith(PREFIX + suffix + " ")] == [
        f"{PREFIX}{suffix} is not supported for a Network Load Balancer and was ignored: "
        f"{NLB_UNSUPPORTED[suffix]}"]
    assert planned.kind == "ensure" and planned.plan.actions == ()


@pytest.mark.parametrize("existing", [False, True])
def test_a_healthcheck_path_on_a_tcp_check_is_warned_not_dropped(existing: bool) -> None:
    snapshot = applied(nlb()) if existing else NETWORK
    planned = plan(nlb({"healthcheck-path": "/ready"}), snapshot)
    assert all(tg.health_check.protocol == "TCP" for tg in desired(planned).target_groups)
    assert [n.message for n in planned.notes if "healthcheck-path" in n.message] == [
        f"{PREFIX}healthcheck-path /ready was ignored: the health check is not HTTP or HTTPS; "
        f"set {PREFIX}healthcheck-protocol to HTTP or HTTPS to check it"]
    used = plan(nlb({"healthcheck-path": "/ready", "healthcheck-protocol": "HTTP"}), snapshot)
    assert {tg.health_check.path for tg in desired(used).target_groups} == {"/ready"}
    assert not [n for n in used.notes if "healthcheck-path" in n.message]


@pytest.mark.parametrize(("namespace", "name", "start"), [
    ("default", "nlb-udp-only", "k8s-default-nlbudpon-"),  # a "-" at the cut made "--"
    ("team-a.prod", "web_v2", "k8s-teamapro-webv2-"),
])
def test_target_group_names_keep_letters_and_digits_only(
    namespace: str, name: str, start: str
) -> None:
    tg = target_group_name("prod", namespace, name, 53, 30053, "UDP")
    assert tg.startswith(start)
    assert re.fullmatch(r"k8s-[a-zA-Z0-9]{0,8}-[a-zA-Z0-9]{0,8}-[0-9a-f]{10}", tg)
    assert "--" not in tg and len(tg) <= 32
