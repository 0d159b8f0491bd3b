"""The reference provider's Service annotations, parsed once into frozen typed values.

Nothing below this module reads a raw annotation. Every problem is collected (not just the
first) so one Warning Event names all of them, each with the annotation and allowed values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from k8s_aws.loadbalancer.annotation_reader import (
    PREFIX,
    AnnotationProblem,
    InvalidAnnotations,
    Reader,
)
from k8s_aws.loadbalancer.nlb_annotations import (
    ALPN_POLICIES,
    NLB_HEALTH_PROTOCOLS,
    check_nlb_tls,
    ipv4_only,
    nlb_scheme,
    static_addresses,
    success_codes,
    target_group_attributes,
)
from k8s_aws.model.cluster_tag import CLUSTER_TAG_PREFIX
from k8s_aws.model.loadbalancer import OUR_TAG_PREFIX, SERVICE_NAME_TAG, reserved_tag

__all__ = ["PREFIX", "AnnotationProblem", "InvalidAnnotations", "LoadBalancerSettings",
           "classify", "parse_annotations"]

BACKEND_PROTOCOLS = ("http", "https", "ssl", "tcp")
HEALTH_PROTOCOLS = ("TCP", "HTTP", "HTTPS", "SSL")
ACCESS_LOG_INTERVALS = (5, 60)
SKIPPED_TYPES = ("external", "nlb-ip")  # another controller (AWS LB Controller) owns these
SG_ID_RE = re.compile(r"^sg-[0-9a-f]{8,17}$")

KNOWN_SUFFIXES = frozenset({
    "type", "internal", "proxy-protocol", "access-log-enabled", "access-log-emit-interval",
    "access-log-s3-bucket-name", "access-log-s3-bucket-prefix", "connection-draining-enabled",
    "connection-draining-timeout", "connection-idle-timeout",
    "cross-zone-load-balancing-enabled", "extra-security-groups", "security-groups", "ssl-cert",
    "ssl-ports", "ssl-negotiation-policy", "backend-protocol", "additional-resource-tags",
    "healthcheck-protocol", "healthcheck-port", "healthcheck-path",
    "healthcheck-healthy-threshold", "healthcheck-unhealthy-threshold", "healthcheck-interval",
    "healthcheck-timeout", "target-group-attributes", "eip-allocations",
    "private-ipv4-addresses", "target-node-labels", "subnets", "scheme", "nlb-target-type",
    "ip-address-type", "manage-backend-security-group-rules",
    "alpn-policy", "name", "load-balancer-attributes", "healthcheck-success-codes",
})
NLB_ONLY = frozenset({"target-group-attributes", "eip-allocations", "private-ipv4-addresses"})
# Known (other controllers act on them) but not acted on for a Classic ELB: each one present
# gets a Warning Event naming it, so `scheme: internal` is never silently internet-facing.
CLASSIC_UNSUPPORTED = {
    "scheme": "use aws-load-balancer-internal: \"true\" for an internal Classic ELB",
    "name": "a Classic ELB is named after the Service UID",
    "ip-address-type": "a Classic ELB is IPv4 only",
    "load-balancer-attributes": "use the connection-*, cross-zone-* and access-log-* annotations",
    "healthcheck-success-codes": "a Classic ELB health check takes no success codes",
    "alpn-policy": "applies to NLB TLS listeners only",
    "nlb-target-type": "applies to Network Load Balancers only",
    "manage-backend-security-group-rules": "k8s-aws always manages the backend rule",
}
# Known but not acted on for a Network LB: each one present gets a Warning naming it.
NLB_UNSUPPORTED = {
    "access-log-emit-interval": "a Network Load Balancer has no access log interval",
    "connection-draining-enabled": "applies to Classic ELBs; NLBs drain by deregistration_delay",
    "connection-draining-timeout": "applies to Classic ELBs; NLBs drain by deregistration_delay",
    "connection-idle-timeout": "applies to Classic ELBs only",
    "ip-address-type": "dualstack: NLBs are created IPv4 only by k8s-aws for now",
    "name": "a Network Load Balancer is named after the Service UID",
    "load-balancer-attributes": "k8s-aws sets the NLB attributes it manages from "
                                "cross-zone-load-balancing-enabled and access-log-*",
    "nlb-target-type": "k8s-aws registers instance targets only",
    "manage-backend-security-group-rules": "k8s-aws always manages the backend rule",
}
CLASSIC = "classic"
NLB = "nlb"
EXTERNAL = "external"
LB_TYPES = (CLASSIC, NLB, EXTERNAL)


def classify(annotations: Mapping[str, str]) -> str:
    """The load balancer family a Service asks for (`aws-load-balancer-type`), read here only:
    classic (no or any other value: the reference provider's behaviour), nlb, or external
    (another controller, the AWS Load Balancer Controller, owns `external` and `nlb-ip`)."""
    raw = (annotations.get(PREFIX + "type") or "").strip().lower()
    if raw == NLB:
        return NLB
    return EXTERNAL if raw in SKIPPED_TYPES else CLASSIC


@dataclass(frozen=True)
class HealthCheckOverrides:
    protocol: str | None = None
    port: int | None = None  # None: the default port ("traffic-port")
    path: str | None = None
    healthy_threshold: int | None = None
    unhealthy_threshold: int | None = None
    interval: int | None = None
    timeout: int | None = None
    success_codes: str | None = None  # NLB HTTP(S) checks: healthcheck-success-codes


@dataclass(frozen=True)
class AccessLogs:
    enabled: bool = False
    emit_interval: int = 60
    bucket: str = ""
    prefix: str = ""


@dataclass(frozen=True)
class LoadBalancerSettings:
    lb_type: str = "classic"  # classic | nlb | external
    internal: bool = False
    cross_zone: bool = False
    draining_enabled: bool = False
    draining_timeout: int = 300
    idle_timeout: int = 60
    access_logs: AccessLogs = field(default_factory=AccessLogs)
    proxy_protocol: bool = False
    ssl_cert: str | None = None
    ssl_ports: frozenset[str] | None = None  # None: every port
    ssl_policy: str | None = None
    backend_protocol: str | None = None
    extra_security_groups: tuple[str, ...] = ()
    security_groups: tuple[str, ...] = ()
    additional_tags: tuple[tuple[str, str], ...] = ()
    health_check: HealthCheckOverrides = field(default_factory=HealthCheckOverrides)
    target_node_labels: tuple[tuple[str, str], ...] = ()
    subnets: tuple[str, ...] = ()
    alpn_policy: str | None = None  # NLB TLS listeners
    target_group_attributes: tuple[tuple[str, str], ...] = ()  # NLB, proxy-protocol included
    eip_allocations: tuple[str, ...] = ()  # NLB, internet-facing: one per subnet
    private_ipv4_addresses: tuple[str, ...] = ()  # NLB, internal: one per subnet
    # Present annotations this LB type does not act on: (annotation, why/what instead).
    unsupported: tuple[tuple[str, str], ...] = ()


def _family(r: Reader, annotations: Mapping[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(LB type, the present annotations it does not act on); unknown ones are problems."""
    for suffix in r.values:
        if suffix not in KNOWN_SUFFIXES:
            r.problem(suffix, "unknown annotation; see the aws-load-balancer-* annotations")
    lb_type = classify(annotations)
    if lb_type == NLB:
        return lb_type, tuple(
            (PREFIX + suffix, NLB_UNSUPPORTED[suffix])
            for suffix in sorted(NLB_UNSUPPORTED.keys() & r.values.keys())
            if not (suffix == "ip-address-type" and ipv4_only(r))  # ipv4 is what we do
        )
    if lb_type != CLASSIC:
        return lb_type, ()
    for suffix in sorted(NLB_ONLY & r.values.keys()):
        r.problem(suffix, "applies to Network Load Balancers only (type: nlb)")
    return lb_type, tuple(
        (PREFIX + suffix, CLASSIC_UNSUPPORTED[suffix])
        for suffix in sorted(CLASSIC_UNSUPPORTED.keys() & r.values.keys())
    )


def _access_logs(r: Reader) -> AccessLogs:
    interval = r.integer("access-log-emit-interval", 5, 60)
    if interval is not None and interval not in ACCESS_LOG_INTERVALS:
        r.problem("access-log-emit-interval", f"invalid value {interval}; allowed: 5, 60")
    enabled = r.boolean("access-log-enabled", False)
    bucket = r.text("access-log-s3-bucket-name") or ""
    if enabled and not bucket:
        r.problem("access-log-s3-bucket-name", "required when access-log-enabled is true")
    return AccessLogs(
        enabled=enabled,
        emit_interval=interval if interval in ACCESS_LOG_INTERVALS else 60,
        bucket=bucket,
        prefix=r.text("access-log-s3-bucket-prefix") or "",
    )


def _health_overrides(r: Reader) -> HealthCheckOverrides:
    port_text = r.text("healthcheck-port")
    port = None
    if port_text is not None and port_text != "traffic-port":
        port = r.integer("healthcheck-port", 1, 65535)
    path = r.text("healthcheck-path")
    if path is not None and not path.startswith("/"):
        r.problem("healthcheck-path", f"invalid value {path!r}; must start with /")
    health = HealthCheckOverrides(
        protocol=r.choice("healthcheck-protocol", HEALTH_PROTOCOLS),
        port=port,
        path=path,
        healthy_threshold=r.integer("healthcheck-healthy-threshold", 2, 10),
        unhealthy_threshold=r.integer("healthcheck-unhealthy-threshold", 2, 10),
        interval=r.integer("healthcheck-interval", 5, 300),
        timeout=r.integer("healthcheck-timeout", 2, 60),
    )
    if health.interval and health.timeout and health.timeout >= health.interval:
        r.problem("healthcheck-timeout", "must be less than healthcheck-interval")
    return health


def _additional_tags(r: Reader) -> tuple[tuple[str, str], ...]:
    """`additional-resource-tags`, none of them a tag k8s-aws decides (the reference provider
    also keeps its ownership tags over the user's)."""
    tags = r.pairs("additional-resource-tags")
    for key, _ in tags:
        if reserved_tag(key):
            r.problem("additional-resource-tags", f"tag key {key!r} is reserved: k8s-aws sets "
                      f"the {CLUSTER_TAG_PREFIX}*, {SERVICE_NAME_TAG} and {OUR_TAG_PREFIX}* "
                      "tags that make a load balancer its own")
    return tags


def parse_annotations(annotations: Mapping[str, str]) -> LoadBalancerSettings:
    """Typed settings from a Service's annotations, or InvalidAnnotations naming every problem."""
    r = Reader(annotations)
    lb_type, unsupported = _family(r, annotations)
    internal_text = r.text("internal") or ""
    internal = internal_text.lower() not in ("", "false")
    eips: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    if lb_type == NLB:
        internal = nlb_scheme(r, internal)
        eips, addresses = static_addresses(r, internal)
        check_nlb_tls(r)
    proxy = r.text("proxy-protocol")
    if proxy is not None and proxy != "*":
        r.problem("proxy-protocol", f"invalid value {proxy!r}; allowed: *")
    ssl_ports_text = r.text("ssl-ports")
    ssl_ports = None if ssl_ports_text in (None, "*") else frozenset(r.items("ssl-ports"))
    for suffix in ("security-groups", "extra-security-groups"):
        for group in r.items(suffix):
            if not SG_ID_RE.match(group):
                r.problem(suffix, f"invalid security group id {group!r}; expected sg-<hex>")
    access_logs = _access_logs(r)
    health = _health_overrides(r)
    if lb_type == NLB:
        health = replace(health, success_codes=success_codes(r, health.protocol))
    if lb_type == NLB and health.protocol not in (None, *NLB_HEALTH_PROTOCOLS):
        r.problem("healthcheck-protocol", f"invalid value {health.protocol!r} for a Network "
                  f"Load Balancer; allowed: {', '.join(NLB_HEALTH_PROTOCOLS)}")
    ssl_cert = r.text("ssl-cert") or None
    if ssl_cert is not None and not ssl_cert.startswith("arn:"):
        r.problem("ssl-cert", f"invalid value {ssl_cert!r}; expected an ACM or IAM certificate ARN")
    settings = LoadBalancerSettings(
        lb_type=lb_type,
        internal=internal,
        cross_zone=r.boolean("cross-zone-load-balancing-enabled", False),
        draining_enabled=r.boolean("connection-draining-enabled", False),
        draining_timeout=r.integer("connection-draining-timeout", 1, 3600) or 300,
        idle_timeout=r.integer("connection-idle-timeout", 1, 4000) or 60,
        access_logs=access_logs,
        proxy_protocol=proxy == "*",
        ssl_cert=ssl_cert,
        ssl_ports=ssl_ports,
        ssl_policy=r.text("ssl-negotiation-policy") or None,
        backend_protocol=r.choice("backend-protocol", BACKEND_PROTOCOLS),
        extra_security_groups=r.items("extra-security-groups"),
        security_groups=r.items("security-groups"),
        additional_tags=_additional_tags(r),
        health_check=health,
        target_node_labels=r.pairs("target-node-labels"),
        subnets=r.items("subnets"),
        alpn_policy=r.choice("alpn-policy", ALPN_POLICIES) if lb_type == NLB else None,
        target_group_attributes=(target_group_attributes(r, proxy == "*") if lb_type == NLB
                                 else ()),
        eip_allocations=eips,
        private_ipv4_addresses=addresses,
        unsupported=unsupported,
    )
    if r.problems:
        raise InvalidAnnotations(r.problems)
    return settings
