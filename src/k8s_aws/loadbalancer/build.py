"""Service + settings + network facts -> the desired Classic ELB (pure)."""

from __future__ import annotations

import ipaddress

from k8s_aws.loadbalancer.annotations import LoadBalancerSettings
from k8s_aws.loadbalancer.backends import Backend
from k8s_aws.loadbalancer.service import ServiceView, load_balancer_name
from k8s_aws.model.loadbalancer import (
    Attributes,
    DesiredGroup,
    DesiredLoadBalancer,
    HealthCheck,
    IngressRule,
    Listener,
    frontend_group_name,
    service_tags,
)

DEFAULT_SOURCE = "0.0.0.0/0"
# The Classic ELB health check's defaults (the reference provider's), in this one place;
# the target (protocol, port, path) follows the Service in `_health_check`.
HEALTHY_THRESHOLD = 2
UNHEALTHY_THRESHOLD = 6
INTERVAL = 10
TIMEOUT = 5


def _listener(port: int, node_port: int, port_name: str, s: LoadBalancerSettings) -> Listener:
    ssl = bool(s.ssl_cert) and (
        s.ssl_ports is None or str(port) in s.ssl_ports or port_name in s.ssl_ports
    )
    backend = s.backend_protocol
    if ssl:
        assert s.ssl_cert is not None
        if backend in ("http", "https"):
            return Listener(port, "HTTPS", node_port, backend.upper(), s.ssl_cert)
        return Listener(port, "SSL", node_port, "SSL" if backend == "ssl" else "TCP", s.ssl_cert)
    if backend == "http":
        return Listener(port, "HTTP", node_port, "HTTP")
    return Listener(port, "TCP", node_port, "SSL" if backend in ("ssl", "https") else "TCP")


def _health_check(service: ServiceView, s: LoadBalancerSettings) -> HealthCheck:
    o = s.health_check
    first = service.ports[0].node_port
    if service.external_traffic_policy == "Local" and service.health_check_node_port:
        protocol, port, path = "HTTP", service.health_check_node_port, "/healthz"
    elif s.backend_protocol in ("https", "ssl"):
        protocol, port, path = "SSL", first, ""
    else:
        protocol, port, path = "TCP", first, ""
    protocol = o.protocol or protocol
    port = o.port or port
    path = (o.path or path or "/") if protocol in ("HTTP", "HTTPS") else ""
    return HealthCheck(
        target=f"{protocol}:{port}{path}",
        healthy_threshold=o.healthy_threshold or HEALTHY_THRESHOLD,
        unhealthy_threshold=o.unhealthy_threshold or UNHEALTHY_THRESHOLD,
        interval=o.interval or INTERVAL,
        timeout=o.timeout or TIMEOUT,
    )


def _frontend_rules(
    listeners: tuple[Listener, ...], ranges: tuple[str, ...]
) -> frozenset[IngressRule]:
    rules = set()
    for cidr in ranges or (DEFAULT_SOURCE,):
        normalized = str(ipaddress.ip_network(cidr, strict=False))
        for listener in listeners:
            rules.add(IngressRule("tcp", listener.lb_port, listener.lb_port, normalized))
        if ipaddress.ip_network(normalized).version == 4:
            # Path MTU discovery: ICMP "fragmentation needed" (type 3, code 4).
            rules.add(IngressRule("icmp", 3, 4, normalized))
    return frozenset(rules)


__all__ = ["Backend", "build_load_balancer"]


def build_load_balancer(
    service: ServiceView,
    settings: LoadBalancerSettings,
    cluster: str,
    subnets: tuple[str, ...],
    backends: list[Backend],
) -> DesiredLoadBalancer:
    name = load_balancer_name(service.uid)
    tag_tuple = service_tags(cluster, service.key, settings.additional_tags)
    listeners = tuple(
        sorted(_listener(p.port, p.node_port, p.name, settings) for p in service.ports)
    )
    user_groups = tuple(dict.fromkeys(settings.security_groups + settings.extra_security_groups))
    frontend = None
    if not settings.security_groups:
        frontend = DesiredGroup(
            name=frontend_group_name(name),
            description=f"Security group for Kubernetes ELB {name} ({service.key})",
            rules=_frontend_rules(listeners, service.source_ranges),
            tags=tag_tuple,
        )
    ssl_ports = frozenset(
        listener.lb_port for listener in listeners if listener.protocol in ("SSL", "HTTPS")
    )
    a = settings.access_logs
    return DesiredLoadBalancer(
        service=service.key,
        name=name,
        internal=settings.internal,
        subnets=subnets,
        frontend_group=frontend,
        user_groups=user_groups,
        listeners=listeners,
        health_check=_health_check(service, settings),
        attributes=Attributes(
            cross_zone=settings.cross_zone,
            draining_enabled=settings.draining_enabled,
            draining_timeout=settings.draining_timeout,
            idle_timeout=settings.idle_timeout,
            access_log_enabled=a.enabled,
            access_log_interval=a.emit_interval,
            access_log_bucket=a.bucket,
            access_log_prefix=a.prefix,
        ),
        tags=tag_tuple,
        instances=frozenset(b.instance_id for b in backends),
        proxy_protocol_ports=(
            frozenset(lst.instance_port for lst in listeners) if settings.proxy_protocol
            else frozenset()
        ),
        ssl_policy=settings.ssl_policy if ssl_ports else None,
        ssl_policy_ports=ssl_ports if settings.ssl_policy else frozenset(),
        node_groups=frozenset(b.node_group for b in backends if b.node_group),
    )
