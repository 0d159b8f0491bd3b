"""Service + settings + network facts -> the desired Network LB (pure).

One target group of type instance per Service port (a port both TCP and UDP is one TCP_UDP
group and listener) on the NodePort. The NLB gets its own frontend group and the cluster's
one backend group, so node groups keep the single rule admitting the backend group.
"""

from __future__ import annotations

import ipaddress

from k8s_aws.loadbalancer.annotations import PREFIX, HealthCheckOverrides, LoadBalancerSettings
from k8s_aws.loadbalancer.backends import Backend
from k8s_aws.loadbalancer.service import ServicePort, ServiceView, load_balancer_name
from k8s_aws.model.loadbalancer import (
    DesiredGroup,
    IngressRule,
    frontend_group_name,
    service_tags,
)
from k8s_aws.model.network import SubnetRecord
from k8s_aws.model.nlb import (
    KUBE_PROXY_HEALTH_PORT,
    DesiredNetworkLB,
    NlbListener,
    TargetGroupSpec,
    TargetHealthCheck,
    target_group_name,
)

DEFAULT_SOURCE = "0.0.0.0/0"
DEFAULT_SSL_POLICY = "ELBSecurityPolicy-2016-08"  # the reference's, for TLS listeners
CLIENT_PROTOCOLS = {"TCP": ("tcp",), "TLS": ("tcp",), "UDP": ("udp",), "TCP_UDP": ("tcp", "udp")}
TRAFFIC_PORT = "traffic-port"
# The reference's NLB health check defaults, in this one place.
TCP_CHECK = TargetHealthCheck("TCP", TRAFFIC_PORT, "", 3, 3, 30, 10)
# externalTrafficPolicy Local: kube-proxy's healthCheckNodePort says which nodes have pods.
LOCAL_CHECK_THRESHOLD, LOCAL_CHECK_INTERVAL, HTTP_CHECK_TIMEOUT = 2, 10, 6
HTTP_SUCCESS_CODES = "200-399"  # AWS's default for an NLB target group's HTTP(S) check


def _default_check(service: ServiceView, protocol: str) -> TargetHealthCheck:
    if service.external_traffic_policy == "Local" and service.health_check_node_port:
        return TargetHealthCheck("HTTP", str(service.health_check_node_port), "/healthz",
                                 LOCAL_CHECK_THRESHOLD, LOCAL_CHECK_THRESHOLD,
                                 LOCAL_CHECK_INTERVAL, HTTP_CHECK_TIMEOUT)
    if protocol == "UDP":
        # A TCP check on a UDP-only NodePort never passes: ask kube-proxy, which serves
        # /healthz on every node and says whether the node forwards Service traffic.
        return TargetHealthCheck("HTTP", str(KUBE_PROXY_HEALTH_PORT), "/healthz",
                                 TCP_CHECK.healthy_threshold, TCP_CHECK.unhealthy_threshold,
                                 TCP_CHECK.interval, HTTP_CHECK_TIMEOUT)
    return TCP_CHECK


def _health_check(
    service: ServiceView, protocol: str, o: HealthCheckOverrides
) -> TargetHealthCheck:
    base = _default_check(service, protocol)
    check_protocol = o.protocol or base.protocol
    http = check_protocol in ("HTTP", "HTTPS")
    path = (o.path or base.path or "/") if http else ""
    return TargetHealthCheck(
        protocol=check_protocol,
        port=str(o.port) if o.port else base.port,
        path=path,
        healthy_threshold=o.healthy_threshold or base.healthy_threshold,
        unhealthy_threshold=o.unhealthy_threshold or base.unhealthy_threshold,
        interval=o.interval or base.interval,
        timeout=o.timeout or (HTTP_CHECK_TIMEOUT if http else base.timeout),
        success_codes=(o.success_codes or HTTP_SUCCESS_CODES) if http else "",
    )


def _tls_wanted(port: int, names: set[str], s: LoadBalancerSettings) -> bool:
    """ssl-cert with ssl-ports (names or numbers; absent or `*`: every port)."""
    return bool(s.ssl_cert) and (
        s.ssl_ports is None or str(port) in s.ssl_ports or bool(names & s.ssl_ports))


def nlb_tls_problems(service: ServiceView, s: LoadBalancerSettings) -> list[str]:
    """TLS terminates TCP only: a UDP (or TCP_UDP) port chosen by ssl-ports is bad input."""
    return [
        f"{PREFIX}ssl-ports: port {port} is {protocol}; TLS listeners need TCP ports (name "
        "the TCP ports in ssl-ports)"
        for port, protocol, _, names in _port_groups(service)
        if protocol != "TCP" and _tls_wanted(port, names, s)
    ]


def _listener(
    port: int, protocol: str, names: set[str], tg: str, s: LoadBalancerSettings
) -> tuple[NlbListener, str]:
    """(the listener, its target group's protocol)."""
    if protocol != "TCP" or not _tls_wanted(port, names, s):
        return NlbListener(port, protocol, tg), protocol
    backend = "TLS" if s.backend_protocol == "ssl" else "TCP"
    return NlbListener(port, "TLS", tg, s.ssl_cert or "", s.ssl_policy or DEFAULT_SSL_POLICY,
                       "" if s.alpn_policy in (None, "None") else s.alpn_policy), backend


def _port_groups(service: ServiceView) -> list[tuple[int, str, int, set[str]]]:
    """(port, protocol, nodePort, port names): TCP and UDP on one port make one TCP_UDP."""
    by_port: dict[int, list[ServicePort]] = {}
    for p in service.ports:
        by_port.setdefault(p.port, []).append(p)
    result = []
    for port, ports in sorted(by_port.items()):
        protocols = {p.protocol for p in ports}
        protocol = "TCP_UDP" if protocols == {"TCP", "UDP"} else ports[0].protocol
        result.append((port, protocol, ports[0].node_port, {p.name for p in ports if p.name}))
    return result


def _frontend_rules(
    listeners: tuple[NlbListener, ...], ranges: tuple[str, ...]
) -> frozenset[IngressRule]:
    rules = set()
    for cidr in ranges or (DEFAULT_SOURCE,):
        normalized = str(ipaddress.ip_network(cidr, strict=False))
        for listener in listeners:
            for proto in CLIENT_PROTOCOLS[listener.protocol]:
                rules.add(IngressRule(proto, listener.port, listener.port, normalized))
        if ipaddress.ip_network(normalized).version == 4:
            rules.add(IngressRule("icmp", 3, 4, normalized))  # path MTU discovery
    return frozenset(rules)


def subnet_mappings(
    settings: LoadBalancerSettings, subnets: tuple[SubnetRecord, ...]
) -> tuple[tuple[tuple[str, str, str], ...], str | None]:
    """Static addresses paired with the chosen subnets in subnet id order: (mappings,
    problem). One per subnet, and a private IP inside its subnet's CIDR."""
    eips, addresses = settings.eip_allocations, settings.private_ipv4_addresses
    if not eips and not addresses:
        return (), None
    ordered = sorted(subnets, key=lambda s: s.id)
    suffix, given = (("eip-allocations", eips) if eips
                     else ("private-ipv4-addresses", addresses))
    if len(given) != len(ordered):
        return (), (f"{PREFIX}{suffix}: {len(given)} given for {len(ordered)} subnets "
                    f"({', '.join(s.id for s in ordered)}); allowed: exactly one per subnet")
    for subnet, address in zip(ordered, addresses, strict=False):
        if subnet.cidr and ipaddress.ip_address(address) not in ipaddress.ip_network(
                subnet.cidr):
            return (), (f"{PREFIX}private-ipv4-addresses: {address} is not inside subnet "
                        f"{subnet.id} ({subnet.cidr}); give them in subnet id order")
    return tuple((s.id, eips[i] if eips else "", addresses[i] if addresses else "")
                 for i, s in enumerate(ordered)), None


def build_network_lb(
    service: ServiceView, settings: LoadBalancerSettings, cluster: str,
    subnets: tuple[str, ...], backends: list[Backend],
    mappings: tuple[tuple[str, str, str], ...] = (),
) -> DesiredNetworkLB:
    name = load_balancer_name(service.uid)
    tag_tuple = service_tags(cluster, service.key, settings.additional_tags)
    groups, listeners = [], []
    for port, protocol, node_port, names in _port_groups(service):
        tls = protocol == "TCP" and _tls_wanted(port, names, settings)
        backend = "TLS" if tls and settings.backend_protocol == "ssl" else protocol
        tg = target_group_name(cluster, service.namespace, service.name, port, node_port,
                               backend)
        listener, backend = _listener(port, protocol, names, tg, settings)
        check_protocol = "UDP" if protocol == "UDP" else "TCP"
        groups.append(TargetGroupSpec(
            tg, backend, node_port,
            _health_check(service, check_protocol, settings.health_check), tag_tuple,
            settings.target_group_attributes))
        listeners.append(listener)
    frontend = None
    if not settings.security_groups:
        frontend = DesiredGroup(
            name=frontend_group_name(name),
            description=f"Security group for Kubernetes NLB {name} ({service.key})",
            rules=_frontend_rules(tuple(listeners), service.source_ranges),
            tags=tag_tuple,
        )
    return DesiredNetworkLB(
        service=service.key, name=name, internal=settings.internal, subnets=subnets,
        frontend_group=frontend,
        user_groups=tuple(dict.fromkeys(settings.security_groups
                                        + settings.extra_security_groups)),
        listeners=tuple(listeners), target_groups=tuple(groups), tags=tag_tuple,
        instances=frozenset(b.instance_id for b in backends),
        node_groups=frozenset(b.node_group for b in backends if b.node_group),
        subnet_mappings=mappings,
        attributes=_attributes(settings),
    )


def _attributes(s: LoadBalancerSettings) -> tuple[tuple[str, str], ...]:
    logs = s.access_logs
    return tuple(sorted({
        "access_logs.s3.enabled": str(logs.enabled).lower(),
        "access_logs.s3.bucket": logs.bucket if logs.enabled else "",
        "access_logs.s3.prefix": logs.prefix if logs.enabled else "",
        "load_balancing.cross_zone.enabled": str(s.cross_zone).lower(),
    }.items()))
