"""How a Node is mapped to its instance, whatever the installer named it.

In order: providerID; an `i-` name; the BOSH director's `id` tag for the release's
`<instance uuid>.k8s` names; the private DNS name for any other name; and, after either of
the last two finds nothing, the kubelet's node IPs (`alpha.kubernetes.io/provided-node-ip`,
InternalIP addresses) as private IPs. A lookup is an EC2 filter and its values, so the
directory can batch one DescribeInstances per filter for a whole fleet.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from k8s_aws.model.instance import InstanceId, InstanceRecord
from k8s_aws.nodes.providerid import is_instance_id, parse_provider_id

US_EAST_1 = "us-east-1"
PROVIDED_NODE_IP = "alpha.kubernetes.io/provided-node-ip"
BOSH_ID_TAG = "id"
# The release's kubelet names its node `<spec.id>.k8s` unless the cloud provider is `aws`.
BOSH_NODE_NAME_RE = re.compile(
    r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.k8s$"
)
# An instance in one of these states can still be a Node's; shutting-down or terminated never.
LIVE_STATES = frozenset({"pending", "running", "stopping", "stopped"})


class Method(Enum):
    """The EC2 DescribeInstances filter each lookup method uses."""

    INSTANCE_ID = "instance-id"
    BOSH_ID = f"tag:{BOSH_ID_TAG}"
    PRIVATE_DNS = "private-dns-name"
    PRIVATE_IP = "private-ip-address"


_SAYS = {
    Method.INSTANCE_ID: "instance id",
    Method.BOSH_ID: f"BOSH director tag {BOSH_ID_TAG}=",
    Method.PRIVATE_DNS: "private DNS name",
    Method.PRIVATE_IP: "private IP",
}


@dataclass(frozen=True)
class Lookup:
    method: Method
    values: tuple[str, ...]  # any one of them identifies the instance

    def describe(self) -> str:
        joined = " or ".join(self.values)
        if self.method is Method.BOSH_ID:
            return f"{_SAYS[self.method]}{joined}"
        return f"{_SAYS[self.method]} {joined}"


@dataclass(frozen=True)
class Found:
    instance: InstanceRecord
    lookup: Lookup


@dataclass(frozen=True)
class Ambiguous:
    instances: tuple[InstanceId, ...]
    lookup: Lookup


@dataclass(frozen=True)
class NotFound:
    tried: tuple[Lookup, ...]


Match = Found | Ambiguous | NotFound


def private_dns_variants(name: str, region: str) -> tuple[str, ...]:
    """us-east-1 names its hosts `ip-a-b-c-d.ec2.internal`, other regions
    `ip-a-b-c-d.<region>.compute.internal`; accept either spelling there, and a bare host."""
    host = name.split(".", 1)[0]
    if region == US_EAST_1:
        variants = [name, f"{host}.ec2.internal", f"{host}.{US_EAST_1}.compute.internal"]
    else:
        variants = [name, f"{host}.{region}.compute.internal"]
    return tuple(dict.fromkeys(variants))


def bosh_instance_id(node_name: str) -> str | None:
    """The BOSH instance uuid in a `<uuid>.k8s` node name, else None."""
    match = BOSH_NODE_NAME_RE.match(node_name)
    return match.group(1) if match else None


def node_ipv4s(provided_node_ip: str, internal_ips: Iterable[str]) -> tuple[str, ...]:
    """The kubelet's IPv4s: its --node-ip (may be `v4,v6`) first, then its InternalIPs."""
    found: list[str] = []
    for raw in [*provided_node_ip.split(","), *internal_ips]:
        value = raw.strip()
        try:
            if value and ipaddress.ip_address(value).version == 4:
                found.append(value)
        except ValueError:
            continue  # not an IP: nothing to look up by
    return tuple(dict.fromkeys(found))


def by_name(node_name: str, region: str) -> Lookup | None:
    """The name-derived lookup: None for a name that is an instance id (no filter needed)."""
    if is_instance_id(node_name):
        return None
    uuid = bosh_instance_id(node_name)
    if uuid is not None:
        return Lookup(Method.BOSH_ID, (uuid,))
    return Lookup(Method.PRIVATE_DNS, private_dns_variants(node_name, region))


def instance_lookups(
    node_name: str, provider_id: str, region: str, node_ips: tuple[str, ...] = ()
) -> tuple[Lookup, ...]:
    """The lookups to try in order; the first that finds anything decides."""
    if provider_id:
        return (Lookup(Method.INSTANCE_ID, (parse_provider_id(provider_id),)),)
    if is_instance_id(node_name):
        return (Lookup(Method.INSTANCE_ID, (node_name,)),)
    chain = [by_name(node_name, region)]
    if node_ips:
        chain.append(Lookup(Method.PRIVATE_IP, node_ips))
    return tuple(lookup for lookup in chain if lookup is not None)


def choose(lookup: Lookup, records: Iterable[InstanceRecord]) -> Found | Ambiguous | None:
    """Exactly one live instance is a match; several are a mistake to report, never to guess
    at. By instance id the one record is returned whatever its state (the callers decide what
    a terminated instance means); by any other method only live instances count."""
    unique = {r.id: r for r in records}
    if lookup.method is not Method.INSTANCE_ID:
        unique = {i: r for i, r in unique.items() if r.state in LIVE_STATES}
    if len(unique) == 1:
        return Found(next(iter(unique.values())), lookup)
    if len(unique) > 1:
        return Ambiguous(tuple(sorted(unique)), lookup)
    return None


def refusal(node_name: str, region: str, match: Match, retry: float) -> tuple[str, str]:
    """(reason, message) of the Warning for a match that must not initialize a Node: several
    live instances, none, or only a terminated one (by instance id)."""
    again = f"retrying in {retry:.0f}s"
    if isinstance(match, Ambiguous):
        return "AmbiguousInstance", (
            f"node {node_name} matches {len(match.instances)} live instances by "
            f"{match.lookup.describe()} ({', '.join(match.instances)}); not initializing it: "
            f"give each VM its own identity; {again}"
        )
    tried = match.tried if isinstance(match, NotFound) else (match.lookup,)
    return "InstanceNotFound", (
        f"no live EC2 instance found for node {node_name} in {region} (tried "
        f"{'; '.join(t.describe() for t in tried)}); {again}"
    )
