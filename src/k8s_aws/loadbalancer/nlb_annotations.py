"""The Network LB annotations: scheme, TLS listeners, target group attributes and static
addresses, parsed into typed values with every problem named (see annotation_reader)."""

from __future__ import annotations

import ipaddress
import re

from k8s_aws.loadbalancer.annotation_reader import BOOL_VALUES, Reader

EIP_ALLOCATION_RE = re.compile(r"^eipalloc-[0-9a-f]{8,17}$")
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


def nlb_scheme(r: Reader, internal: bool) -> bool:
    """`scheme` (the AWS LB Controller's name) next to the reference's `internal`: both may
    be given only if they agree."""
    scheme = r.choice("scheme", SCHEMES)
    if scheme is None:
        return internal
    if r.text("internal") is not None and (scheme == "internal") != internal:
        r.problem("scheme", f"{scheme!r} contradicts aws-load-balancer-internal")
    return scheme == "internal"


def check_nlb_tls(r: Reader) -> None:
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


def target_group_attributes(r: Reader, proxy: bool) -> tuple[tuple[str, str], ...]:
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


def static_addresses(r: Reader, internal: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
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


IP_ADDRESS_TYPES = ("ipv4", "dualstack")
SUCCESS_CODES_RE = re.compile(r"^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$")


def ipv4_only(r: Reader) -> bool:
    """`ip-address-type: ipv4` is what k8s-aws creates; dualstack is warned about."""
    return r.choice("ip-address-type", IP_ADDRESS_TYPES) == "ipv4"


def success_codes(r: Reader, protocol: str | None) -> str | None:
    """`healthcheck-success-codes` (HTTP codes 200-599: `200`, `200,202`, `200-399`) for an
    HTTP or HTTPS check, which must then be asked for by healthcheck-protocol."""
    value = r.text("healthcheck-success-codes")
    if value is None:
        return None
    codes = value.replace(" ", "")
    ranges = [part.split("-") for part in codes.split(",")] if SUCCESS_CODES_RE.match(codes) else []
    if not ranges or any(not 200 <= int(p[0]) <= int(p[-1]) <= 599 for p in ranges):
        r.problem("healthcheck-success-codes", f"invalid value {value!r}; allowed: HTTP codes "
                  "200-599 as 200, 200,202 or 200-399")
        return None
    if (protocol or "").upper() not in ("HTTP", "HTTPS"):
        r.problem("healthcheck-success-codes", "needs aws-load-balancer-healthcheck-protocol "
                  "HTTP or HTTPS (a TCP check has no status code)")
        return None
    return codes
