"""How a Node is mapped to its instance: by providerID, by an `i-` name, else by private DNS."""

from __future__ import annotations

from dataclasses import dataclass

from k8s_aws.model.instance import InstanceId
from k8s_aws.nodes.providerid import is_instance_id, parse_provider_id

US_EAST_1 = "us-east-1"


@dataclass(frozen=True)
class ByInstanceId:
    instance_id: InstanceId


@dataclass(frozen=True)
class ByPrivateDns:
    names: tuple[str, ...]  # each is a private-dns-name the instance may carry


InstanceLookup = ByInstanceId | ByPrivateDns


def private_dns_variants(name: str, region: str) -> tuple[str, ...]:
    """us-east-1 names its hosts `ip-a-b-c-d.ec2.internal`, other regions
    `ip-a-b-c-d.<region>.compute.internal`; accept either spelling there, and a bare host."""
    host = name.split(".", 1)[0]
    if region == US_EAST_1:
        variants = [name, f"{host}.ec2.internal", f"{host}.{US_EAST_1}.compute.internal"]
    else:
        variants = [name, f"{host}.{region}.compute.internal"]
    return tuple(dict.fromkeys(variants))


def instance_lookup(node_name: str, provider_id: str, region: str) -> InstanceLookup:
    if provider_id:
        return ByInstanceId(parse_provider_id(provider_id))
    if is_instance_id(node_name):
        return ByInstanceId(InstanceId(node_name))
    return ByPrivateDns(private_dns_variants(node_name, region))
