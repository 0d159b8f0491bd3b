"""What a Node gets from its instance when the cloud controller initializes it."""

from __future__ import annotations

from dataclasses import dataclass

from k8s_aws.model.instance import InstanceRecord
from k8s_aws.nodes.providerid import format_provider_id

UNINITIALIZED_TAINT = "node.cloudprovider.kubernetes.io/uninitialized"
LABEL_INSTANCE_TYPE = "node.kubernetes.io/instance-type"
LABEL_ZONE = "topology.kubernetes.io/zone"
LABEL_REGION = "topology.kubernetes.io/region"
LABEL_ZONE_ID = "topology.k8s.aws/zone-id"
LABEL_BETA_INSTANCE_TYPE = "beta.kubernetes.io/instance-type"
LABEL_BETA_ZONE = "failure-domain.beta.kubernetes.io/zone"
LABEL_BETA_REGION = "failure-domain.beta.kubernetes.io/region"


@dataclass(frozen=True)
class NodeAddress:
    type: str
    address: str


@dataclass(frozen=True)
class NodeInitialization:
    provider_id: str
    labels: dict[str, str]
    addresses: tuple[NodeAddress, ...]


def node_addresses(
    instance: InstanceRecord, ip_families: tuple[str, ...] = ("ipv4",), node_name: str = ""
) -> tuple[NodeAddress, ...]:
    """InternalIP for every private IPv4 of each interface by device index (primary first),
    IPv6 as InternalIP when enabled, then ExternalIP, InternalDNS (the private DNS name),
    Hostname, ExternalDNS. Hostname is the Node's own name, which the kubelet's serving
    certificate covers (the BOSH release's `<id>.k8s`); the private DNS name only when the
    Node has no name to give (never, for a real Node)."""
    addresses: list[NodeAddress] = []
    interfaces = sorted(instance.interfaces, key=lambda i: i.device_index)
    for family in ip_families:
        for interface in interfaces:
            ips = interface.private_ipv4s if family == "ipv4" else interface.ipv6s
            addresses += [NodeAddress("InternalIP", ip) for ip in ips]
    if instance.public_ipv4 and "ipv4" in ip_families:
        addresses.append(NodeAddress("ExternalIP", instance.public_ipv4))
    if instance.private_dns:
        addresses.append(NodeAddress("InternalDNS", instance.private_dns))
    if node_name or instance.private_dns:
        addresses.append(NodeAddress("Hostname", node_name or instance.private_dns))
    if instance.public_dns:
        addresses.append(NodeAddress("ExternalDNS", instance.public_dns))
    return tuple(dict.fromkeys(addresses))


def node_labels(instance: InstanceRecord, region: str, zone_id: str | None) -> dict[str, str]:
    labels = {
        LABEL_INSTANCE_TYPE: instance.instance_type,
        LABEL_BETA_INSTANCE_TYPE: instance.instance_type,
        LABEL_ZONE: instance.zone,
        LABEL_BETA_ZONE: instance.zone,
        LABEL_REGION: region,
        LABEL_BETA_REGION: region,
    }
    if zone_id:
        labels[LABEL_ZONE_ID] = zone_id
    return labels


def plan_initialization(
    instance: InstanceRecord,
    region: str,
    zone_id: str | None,
    ip_families: tuple[str, ...] = ("ipv4",),
    node_name: str = "",
) -> NodeInitialization:
    return NodeInitialization(
        provider_id=format_provider_id(instance.zone, instance.id),
        labels=node_labels(instance, region, zone_id),
        addresses=node_addresses(instance, ip_families, node_name),
    )
