"""Shared inputs for the load balancer planner tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from k8s_aws.loadbalancer.annotations import PREFIX, parse_annotations
from k8s_aws.loadbalancer.build import Backend, build_load_balancer
from k8s_aws.loadbalancer.plan import plan_ensure
from k8s_aws.loadbalancer.service import ServiceView
from k8s_aws.model.loadbalancer import DesiredLoadBalancer, Observed

CLUSTER = "prod"
UID = "6f1c2d3e-aaaa-bbbb-cccc-123456789abc"
GOLDEN = Path(__file__).parent / "golden"
# (golden file name, annotations, spec): the plans for a new Service, kept as JSON.
GOLDEN_CASES: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    ("clb-basic", {}, {}),
    ("clb-internal-proxy-tags", {"internal": "true", "proxy-protocol": "*",
                                 "additional-resource-tags": "team=shop",
                                 "cross-zone-load-balancing-enabled": "true"}, {}),
    ("clb-ssl-byo-groups", {"ssl-cert": "arn:aws:acm:r:1:certificate/c",
                            "ssl-negotiation-policy": "ELBSecurityPolicy-TLS-1-2-2017-01",
                            "security-groups": "sg-0000aaaa"}, {}),
]

# (golden file name, annotations, ports): the plans for a new NLB Service, kept as JSON.
NLB_GOLDEN_CASES: list[tuple[str, dict[str, str], list[dict[str, Any]]]] = [
    ("nlb-tcp-udp-tcp_udp", {}, [
        {"name": "web", "protocol": "TCP", "port": 80, "nodePort": 30080},
        {"name": "dns", "protocol": "UDP", "port": 53, "nodePort": 30053},
        {"name": "dns-tcp", "protocol": "TCP", "port": 53, "nodePort": 30053},
        {"name": "syslog", "protocol": "UDP", "port": 514, "nodePort": 30514}]),
    ("nlb-tls-eips-attributes", {
        "ssl-cert": "arn:aws:acm:us-west-2:123456789012:certificate/0a1b2c3d-aaaa",
        "ssl-ports": "https", "alpn-policy": "HTTP2Preferred",
        "eip-allocations": "eipalloc-0a1b2c3d4e5f60718,eipalloc-0a1b2c3d4e5f60719",
        "target-group-attributes": "deregistration_delay.timeout_seconds=30",
        "proxy-protocol": "*", "cross-zone-load-balancing-enabled": "true",
        "additional-resource-tags": "team=shop"}, [
        {"name": "http", "protocol": "TCP", "port": 80, "nodePort": 30080},
        {"name": "https", "protocol": "TCP", "port": 443, "nodePort": 30443}]),
]


def assert_matches_golden(name: str, actual: list[dict[str, Any]]) -> None:
    """A missing golden file fails: only `make golden` (regenerate_golden.py) writes them,
    on purpose, for review in the diff."""
    path = GOLDEN / f"{name}.json"
    assert path.exists(), f"{path} is missing: run `make golden` and review the diff"
    assert actual == json.loads(path.read_text()), f"plan changed; review and update {path}"


def service(
    annotations: dict[str, str] | None = None,
    ports: list[tuple[str, int, int]] | None = None,
    **spec: Any,
) -> ServiceView:
    raw = {
        "metadata": {"name": "web", "namespace": "shop", "uid": UID,
                     "annotations": {PREFIX + k: v for k, v in (annotations or {}).items()}},
        "spec": {
            "type": "LoadBalancer",
            "ports": [
                {"name": n, "protocol": "TCP", "port": p, "nodePort": np}
                for n, p, np in (ports or [("http", 80, 30080)])
            ],
            **spec,
        },
    }
    return ServiceView.of(raw)


def desired(
    annotations: dict[str, str] | None = None,
    backends: list[Backend] | None = None,
    **spec: Any,
) -> DesiredLoadBalancer:
    svc = service(annotations, **spec)
    return build_load_balancer(
        svc, parse_annotations(svc.annotations), CLUSTER, ("subnet-a", "subnet-b"),
        backends if backends is not None else [Backend("i-1", "sg-node"), Backend("i-2", "sg-node")],
    )


def plan_json(annotations: dict[str, str] | None = None, **spec: Any) -> list[dict[str, Any]]:
    plan = plan_ensure(desired(annotations, **spec), Observed(), CLUSTER)
    result: list[dict[str, Any]] = json.loads(json.dumps(plan.to_json(), default=list))
    return result


def nlb_plan_json(annotations: dict[str, str], ports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The plan for a new NLB Service over the planner tests' network and nodes."""
    from .test_nlb_plan import nlb, plan  # noqa: PLC0415  (those tests import this module)

    planned = plan(nlb(annotations, ports))
    result: list[dict[str, Any]] = json.loads(json.dumps(planned.plan.to_json(), default=list))
    return result
