"""The reference provider's Service annotations, parsed once into frozen typed values.

Nothing below this module reads a raw annotation. Every problem is collected (not just the
first) so one Warning Event names all of them, each with the annotation and allowed values.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

PREFIX = "service.beta.kubernetes.io/aws-load-balancer-"
BOOL_VALUES = {"true": True, "false": False}
BACKEND_PROTOCOLS = ("http", "https", "ssl", "tcp")
HEALTH_PROTOCOLS = ("TCP", "HTTP", "HTTPS", "SSL")
ACCESS_LOG_INTERVALS = (5, 60)
SKIPPED_TYPES = ("external", "nlb-ip")  # another controller (AWS LB Controller) owns these
SG_ID_RE = re.compile(r"^sg-[0-9a-f]{8,17}$")
EIP_ALLOCATION_RE = re.compile(r"^eipalloc-[0-9a-f]{8,17}$")
TAG_KEY_RE = re.compile(r"^[\w .:/=+\-@]{1,128}$")

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
    "ip-address-type": "NLBs are created IPv4 only by k8s-aws for now",
    "name": "a Network Load Balancer is named after the Service UID",
    "load-balancer-attributes": "NLB attributes are not supported by k8s-aws yet",
    "healthcheck-success-codes": "NLB health check success codes are not supported yet",
    "nlb-target-type": "k8s-aws registers instance targets only",
    "manage-backend-security-group-rules": "k8s-aws always manages the backend rule",
}
NLB_HEALTH_PROTOCOLS = ("TCP", "HTTP", "HTTPS")
# target-group-attributes keys and how each value is checked ("bool" or (low, high)).
TARGET_GROUP_ATTRIBUTES: dict[str, str | tuple[int, int]] = {
    "preserve_client_ip.enabled": "bool",
    "proxy_protocol_v2.enabled": "bool",
    "deregistration_delay.timeout_seconds": (0, 3600),
    "deregistration_delay.connection_termination.enabled": "bool",
    "stickiness.enabled": "bool",
    "connection_termination.enabled": "bool",
}
PROXY_PROTOCOL_V2 = "proxy_protocol_v2.enabled"
NLB_BACKEND_PROTOCOLS = ("ssl", "tcp")
ALPN_POLICIES = ("HTTP1Only", "HTTP2Only", "HTTP2Optional", "HTTP2Preferred", "None")
# An ACM certificate or an IAM server certificate: what a TLS listener accepts.
CERTIFICATE_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:(acm:[a-z0-9-]+:\d{12}:certificate/[\w-]+"
    r"|iam::\d{12}:server-certificate/[\w+=,.@/-]+)$")
SCHEMES = ("internal", "internet-facing")
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
class AnnotationProblem:
    annotation: str
    message: str

    def __str__(self) -> str:
        return f"{self.annotation}: {self.message}"


class InvalidAnnotations(ValueError):
    def __init__(self, problems: list[AnnotationProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class HealthCheckOverrides:
    protocol: str | None = None
    port: int | None = None  # None: the default port ("traffic-port")
    path: str | None = None
    healthy_threshold: int | None = None
    unhealthy_threshold: int | None = None
    interval: int | None = None
    timeout: int | None = None


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


class _Reader:
    """Reads annotations by suffix, recording problems instead of raising at the first."""

    def __init__(self, annotations: Mapping[str, str]) -> None:
        self.values = {k[len(PREFIX):]: v for k, v in annotations.items() if k.startswith(PREFIX)}
        self.problems: list[AnnotationProblem] = []

    def problem(self, suffix: str, message: str) -> None:
        self.problems.append(AnnotationProblem(PREFIX + suffix, message))

    def text(self, suffix: str) -> str | None:
        value = self.values.get(suffix)
        return value.strip() if value is not None else None

    def boolean(self, suffix: str, default: bool) -> bool:
        value = self.text(suffix)
        if value is None:
            return default
        if value.lower() not in BOOL_VALUES:
            self.problem(suffix, f"invalid value {value!r}; allowed: true, false")
            return default
        return BOOL_VALUES[value.lower()]

    def integer(self, suffix: str, low: int, high: int) -> int | None:
        value = self.text(suffix)
        if value is None:
            return None
        if not value.isdigit() or not low <= int(value) <= high:
            self.problem(suffix, f"invalid value {value!r}; allowed: an integer {low}-{high}")
            return None
        return int(value)

    def choice(self, suffix: str, allowed: tuple[str, ...], fold: bool = True) -> str | None:
        value = self.text(suffix)
        if value is None:
            return None
        match = next((a for a in allowed if (a.lower() == value.lower() if fold else a == value)),
                     None)
        if match is None:
            self.problem(suffix, f"invalid value {value!r}; allowed: {', '.join(allowed)}")
        return match

    def items(self, suffix: str) -> tuple[str, ...]:
        value = self.text(suffix)
        return tuple(v.strip() for v in value.split(",") if v.strip()) if value else ()

    def pairs(self, suffix: str) -> tuple[tuple[str, str], ...]:
        result = []
        for item in self.items(suffix):
            key, sep, val = item.partition("=")
            if not sep or not key.strip() or not TAG_KEY_RE.match(key.strip()):
                self.problem(suffix, f"invalid entry {item!r}; expected key=value[,key=value]")
                continue
            result.append((key.strip(), val.strip()))
        return tuple(result)


def _family(r: _Reader, annotations: Mapping[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """(LB type, the present annotations it does not act on); unknown ones are problems."""
    for suffix in r.values:
        if suffix not in KNOWN_SUFFIXES:
            r.problem(suffix, "unknown annotation; see the aws-load-balancer-* annotations")
    lb_type = classify(annotations)
    if lb_type == NLB:
        return lb_type, tuple(
            (PREFIX + suffix, NLB_UNSUPPORTED[suffix])
            for suffix in sorted(NLB_UNSUPPORTED.keys() & r.values.keys())
        )
    if lb_type != CLASSIC:
        return lb_type, ()
    for suffix in sorted(NLB_ONLY & r.values.keys()):
        r.problem(suffix, "applies to Network Load Balancers only (type: nlb)")
    return lb_type, tuple(
        (PREFIX + suffix, CLASSIC_UNSUPPORTED[suffix])
        for suffix in sorted(CLASSIC_UNSUPPORTED.keys() & r.values.keys())
    )


def _access_logs(r: _Reader) -> AccessLogs:
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


def _health_overrides(r: _Reader) -> HealthCheckOverrides:
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


def _nlb_scheme(r: _Reader, internal: bool) -> bool:
    """`scheme` (the AWS LB Controller's name) next to the reference's `internal`: both may
    be given only if they agree."""
    scheme = r.choice("scheme", SCHEMES)
    if scheme is None:
        return internal
    if r.text("internal") is not None and (scheme == "internal") != internal:
        r.problem("scheme", f"{scheme!r} contradicts aws-load-balancer-internal")
    return scheme == "internal"


def _nlb_tls(r: _Reader) -> None:
    """What a Network LB's TLS listeners accept: a certificate ARN, ssl or tcp to targets."""
    cert = r.text("ssl-cert")
    if cert and not CERTIFICATE_ARN_RE.match(cert):
        r.problem("ssl-cert", f"invalid value {cert!r}; expected an ACM certificate ARN "
                  "(arn:aws:acm:<region>:<account>:certificate/<id>) or an IAM server "
                  "certificate ARN")
    backend = r.text("backend-protocol")
    if backend is not None and backend.lower() not in NLB_BACKEND_PROTOCOLS:
        r.problem("backend-protocol", f"invalid value {backend!r} for a Network Load "
                  f"Balancer; allowed: {', '.join(NLB_BACKEND_PROTOCOLS)}")


def _target_group_attributes(r: _Reader, proxy: bool) -> tuple[tuple[str, str], ...]:
    """`k=v` pairs of known keys with checked values; `proxy-protocol: *` is proxy protocol v2
    on every target group (and must not contradict an explicit proxy_protocol_v2.enabled)."""
    found: dict[str, str] = {}
    for key, value in r.pairs("target-group-attributes"):
        rule = TARGET_GROUP_ATTRIBUTES.get(key)
        bad = f"{key}: invalid value {value!r}; allowed: "
        if rule is None:
            r.problem("target-group-attributes", f"unknown attribute {key!r}; allowed: "
                      f"{', '.join(TARGET_GROUP_ATTRIBUTES)}")
        elif rule == "bool" and value.lower() not in BOOL_VALUES:
            r.problem("target-group-attributes", bad + "true, false")
        elif isinstance(rule, tuple) and not (value.isdigit() and rule[0] <= int(value) <= rule[1]):
            r.problem("target-group-attributes", bad + f"an integer {rule[0]}-{rule[1]}")
        else:
            found[key] = value.lower()
    if proxy:
        if found.get(PROXY_PROTOCOL_V2) == "false":
            r.problem("proxy-protocol", f"contradicts target-group-attributes {PROXY_PROTOCOL_V2}")
        found[PROXY_PROTOCOL_V2] = "true"
    return tuple(sorted(found.items()))


def _static_addresses(r: _Reader, internal: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(eip-allocations, private-ipv4-addresses): ids and IPv4s, each for its scheme only.
    Their count and subnets are checked against the chosen subnets by the planner."""
    eips = r.items("eip-allocations")
    for eip in eips:
        if not EIP_ALLOCATION_RE.match(eip):
            r.problem("eip-allocations", f"invalid allocation id {eip!r}; expected eipalloc-<hex>")
    if eips and internal:
        r.problem("eip-allocations", "applies to internet-facing load balancers only")
    addresses = r.items("private-ipv4-addresses")
    for address in addresses:
        try:
            ipaddress.IPv4Address(address)
        except ValueError:
            r.problem("private-ipv4-addresses", f"invalid value {address!r}; expected IPv4s")
    if addresses and not internal:
        r.problem("private-ipv4-addresses", "applies to internal load balancers only")
    return eips, addresses


def parse_annotations(annotations: Mapping[str, str]) -> LoadBalancerSettings:
    """Typed settings from a Service's annotations, or InvalidAnnotations naming every problem."""
    r = _Reader(annotations)
    lb_type, unsupported = _family(r, annotations)
    internal_text = r.text("internal") or ""
    internal = internal_text.lower() not in ("", "false")
    eips: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    if lb_type == NLB:
        internal = _nlb_scheme(r, internal)
        eips, addresses = _static_addresses(r, internal)
        _nlb_tls(r)
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
        additional_tags=r.pairs("additional-resource-tags"),
        health_check=health,
        target_node_labels=r.pairs("target-node-labels"),
        subnets=r.items("subnets"),
        alpn_policy=r.choice("alpn-policy", ALPN_POLICIES) if lb_type == NLB else None,
        target_group_attributes=(_target_group_attributes(r, proxy == "*") if lb_type == NLB
                                 else ()),
        eip_allocations=eips,
        private_ipv4_addresses=addresses,
        unsupported=unsupported,
    )
    if r.problems:
        raise InvalidAnnotations(r.problems)
    return settings
