"""A Service as the load balancer planner sees it, and the checks made before any AWS call."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from k8s_aws.loadbalancer.annotations import CLASSIC, NLB, classify

FINALIZER = "service.kubernetes.io/load-balancer-cleanup"


@dataclass(frozen=True)
class ServicePort:
    name: str
    protocol: str
    port: int
    node_port: int


@dataclass(frozen=True)
class ServiceView:
    namespace: str
    name: str
    uid: str
    type: str
    load_balancer_class: str | None
    ports: tuple[ServicePort, ...]
    source_ranges: tuple[str, ...]
    external_traffic_policy: str
    health_check_node_port: int
    session_affinity: str
    load_balancer_ip: str
    annotations: dict[str, str]
    finalizers: tuple[str, ...]
    deleting: bool
    ingress_hostname: str
    lb_type: str  # annotations.classify: classic | nlb | external

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def of(cls, raw: dict[str, Any]) -> ServiceView:
        meta, spec = raw["metadata"], raw.get("spec", {})
        annotations = dict(meta.get("annotations") or {})
        ingress = (raw.get("status", {}).get("loadBalancer", {}).get("ingress") or [{}])[0]
        return cls(
            namespace=meta.get("namespace", "default"),
            name=meta["name"],
            uid=meta.get("uid", ""),
            type=spec.get("type", "ClusterIP"),
            load_balancer_class=spec.get("loadBalancerClass"),
            ports=tuple(
                ServicePort(p.get("name", ""), p.get("protocol", "TCP"), int(p["port"]),
                            int(p.get("nodePort") or 0))
                for p in spec.get("ports") or []
            ),
            source_ranges=tuple(spec.get("loadBalancerSourceRanges") or ()),
            external_traffic_policy=spec.get("externalTrafficPolicy") or "Cluster",
            health_check_node_port=int(spec.get("healthCheckNodePort") or 0),
            session_affinity=spec.get("sessionAffinity") or "None",
            load_balancer_ip=spec.get("loadBalancerIP") or "",
            annotations=annotations,
            finalizers=tuple(meta.get("finalizers") or ()),
            deleting="deletionTimestamp" in meta,
            ingress_hostname=ingress.get("hostname", "") if isinstance(ingress, dict) else "",
            lb_type=classify(annotations),
        )


def wants_classic_lb(service: ServiceView) -> bool:
    """LoadBalancer Services without a class, not claimed by the NLB or another controller."""
    return (
        service.type == "LoadBalancer" and not service.load_balancer_class
        and service.lb_type == CLASSIC
    )


def wants_load_balancer(service: ServiceView) -> bool:
    """Ours: a Classic ELB or a Network LB (`type: nlb`); never a class or another controller's."""
    return (
        service.type == "LoadBalancer" and not service.load_balancer_class
        and service.lb_type in (CLASSIC, NLB)
    )


def load_balancer_name(uid: str) -> str:
    """The reference's name: "a" + the Service UID without dashes, cut to 32 characters."""
    return ("a" + uid.replace("-", ""))[:32]


def service_problems(service: ServiceView) -> list[str]:
    """What a Classic ELB cannot do for this Service, each naming the field and the fix."""
    problems = _nlb_port_problems(service) if service.lb_type == NLB else []
    protocols = {p.protocol for p in service.ports}
    if service.lb_type != NLB and protocols - {"TCP"}:
        problems.append(
            f"spec.ports: protocol {', '.join(sorted(protocols - {'TCP'}))} is not supported by "
            "a Classic ELB (TCP only); use aws-load-balancer-type: nlb for UDP"
        )
    if service.session_affinity not in ("None", ""):
        problems.append(
            f"spec.sessionAffinity: {service.session_affinity} is not supported; allowed: None"
        )
    if service.load_balancer_ip:
        problems.append("spec.loadBalancerIP is not supported by AWS load balancers; remove it")
    if not service.ports:
        problems.append("spec.ports: a LoadBalancer Service needs at least one port")
    if any(p.node_port == 0 for p in service.ports):
        problems.append("spec.ports: every port needs a nodePort (allocateLoadBalancerNodePorts)")
    for cidr in service.source_ranges:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            problems.append(f"spec.loadBalancerSourceRanges: {cidr!r} is not a CIDR")
    return problems


def _nlb_port_problems(service: ServiceView) -> list[str]:
    """A Network LB forwards TCP and UDP; one port number with both protocols becomes one
    TCP_UDP listener, whose target group needs the two ServicePorts on one nodePort."""
    problems = []
    protocols = {p.protocol for p in service.ports}
    if protocols - {"TCP", "UDP"}:
        problems.append(
            f"spec.ports: protocol {', '.join(sorted(protocols - {'TCP', 'UDP'}))} is not "
            "supported by a Network Load Balancer; allowed: TCP, UDP"
        )
    by_port: dict[int, set[int]] = {}
    for p in service.ports:
        by_port.setdefault(p.port, set()).add(p.node_port)
    for port, node_ports in sorted(by_port.items()):
        if len(node_ports) > 1:
            problems.append(
                f"spec.ports: port {port} is both TCP and UDP (one TCP_UDP listener), so both "
                f"need the same nodePort; got {', '.join(map(str, sorted(node_ports)))}"
            )
    return problems
