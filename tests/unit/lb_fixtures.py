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
