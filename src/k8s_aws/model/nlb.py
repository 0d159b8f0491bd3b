"""The desired and observed shapes of a Network Load Balancer, its listeners and its target
groups (plain data, shared by the planner and the AWS boundary)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from k8s_aws.model.ids import Arn, LoadBalancerName
from k8s_aws.model.tags import Tagged

if TYPE_CHECKING:
    from k8s_aws.model.loadbalancer import DesiredGroup

# Only letters and digits survive, as in the reference: a kept "-" at a cut gives "--", which
# AWS refuses in a target group name.
_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9]")
KUBE_PROXY_HEALTH_PORT = 10256  # kube-proxy's /healthz: answers on every node
# The load balancer attributes k8s-aws manages, with AWS's defaults (what a new NLB has).
DEFAULT_NLB_ATTRIBUTES = (
    ("access_logs.s3.bucket", ""), ("access_logs.s3.enabled", "false"),
    ("access_logs.s3.prefix", ""), ("load_balancing.cross_zone.enabled", "false"),
)


@dataclass(frozen=True, order=True)
class TargetHealthCheck:
    protocol: str  # TCP | HTTP | HTTPS
    port: str  # "traffic-port" or a port number
    path: str  # "" for TCP
    healthy_threshold: int
    unhealthy_threshold: int
    interval: int
    timeout: int
    success_codes: str = ""  # HTTP(S) only: the Matcher's HttpCode, AWS's default 200-399


@dataclass(frozen=True, order=True)
class TargetGroupSpec:
    """One target group of type instance: one Service port (or a TCP+UDP pair) on its
    NodePort. Name, protocol and port are immutable in AWS: a change is a new group."""

    name: str
    protocol: str  # TCP | UDP | TCP_UDP | TLS
    port: int  # the NodePort
    health_check: TargetHealthCheck
    tags: tuple[tuple[str, str], ...]
    attributes: tuple[tuple[str, str], ...] = ()  # only those the Service sets


@dataclass(frozen=True, order=True)
class NlbListener:
    port: int
    protocol: str  # TCP | UDP | TCP_UDP | TLS
    target_group: str  # the target group's name
    certificate: str = ""  # TLS only, as the next two
    ssl_policy: str = ""
    alpn: str = ""


@dataclass(frozen=True)
class DesiredNetworkLB:
    service: str  # namespace/name
    name: str
    internal: bool
    subnets: tuple[str, ...]
    frontend_group: DesiredGroup | None  # None when the user brings their own groups
    user_groups: tuple[str, ...]
    listeners: tuple[NlbListener, ...]
    target_groups: tuple[TargetGroupSpec, ...]
    tags: tuple[tuple[str, str], ...]
    instances: frozenset[str]
    node_groups: frozenset[str] = frozenset()
    # (subnet, Elastic IP allocation, private IPv4): static addresses, set at creation only.
    subnet_mappings: tuple[tuple[str, str, str], ...] = ()
    attributes: tuple[tuple[str, str], ...] = DEFAULT_NLB_ATTRIBUTES


@dataclass(frozen=True)
class ObservedTargetGroup:
    arn: Arn
    name: str
    protocol: str
    port: int
    health_check: TargetHealthCheck
    tags: tuple[tuple[str, str], ...]
    targets: frozenset[str]
    attributes: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, order=True)
class ObservedNlbListener:
    arn: Arn
    port: int
    protocol: str
    target_group_arn: str
    certificate: str = ""
    ssl_policy: str = ""
    alpn: str = ""


@dataclass(frozen=True)
class ObservedNetworkLB(Tagged):
    arn: Arn
    name: LoadBalancerName
    dns_name: str
    internal: bool
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    tags: tuple[tuple[str, str], ...]
    listeners: tuple[ObservedNlbListener, ...] = ()
    attributes: tuple[tuple[str, str], ...] = DEFAULT_NLB_ATTRIBUTES
    # (subnet, Elastic IP allocation, private IPv4) where AWS lists a static address
    addresses: tuple[tuple[str, str, str], ...] = ()


def target_group_name(
    cluster: str, namespace: str, name: str, port: int, node_port: int, protocol: str
) -> str:
    """The reference's form `k8s-<ns:8>-<name:8>-<hash:10>`: the hash covers what AWS cannot
    change on a target group (port, protocol, type), so a change makes a new group."""
    digest = hashlib.sha1(
        "\0".join((cluster, namespace, name, str(port), str(node_port), protocol, "instance"))
        .encode()
    ).hexdigest()
    ns, svc = _NAME_UNSAFE.sub("", namespace), _NAME_UNSAFE.sub("", name)
    return f"k8s-{ns[:8]}-{svc[:8]}-{digest[:10]}"
