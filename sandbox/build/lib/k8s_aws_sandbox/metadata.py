"""The instance metadata tree of one emulated instance (pure: facts in, path lookups out)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Leaf = str | Callable[[], str]
Tree = Mapping[str, "Leaf | Tree"]


@dataclass(frozen=True)
class InstanceFacts:
    """What IMDS tells about an instance, read from the emulator at start-up."""

    instance_id: str
    instance_type: str
    image_id: str
    region: str
    zone: str
    zone_id: str
    private_ip: str
    private_dns: str
    mac: str
    interface_id: str
    subnet_id: str
    subnet_cidr: str
    vpc_id: str
    vpc_cidr: str
    security_group_ids: tuple[str, ...]
    security_group_names: tuple[str, ...]
    account_id: str
    role_name: str | None
    profile_arn: str | None
    launch_time: str


def identity_document(facts: InstanceFacts) -> str:
    return json.dumps(
        {
            "accountId": facts.account_id,
            "architecture": "x86_64",
            "availabilityZone": facts.zone,
            "billingProducts": None,
            "devpayProductCodes": None,
            "marketplaceProductCodes": None,
            "imageId": facts.image_id,
            "instanceId": facts.instance_id,
            "instanceType": facts.instance_type,
            "kernelId": None,
            "pendingTime": facts.launch_time,
            "privateIp": facts.private_ip,
            "ramdiskId": None,
            "region": facts.region,
            "version": "2017-09-30",
        },
        indent=2,
    )


def metadata_tree(facts: InstanceFacts, credentials: Callable[[], str]) -> Tree:
    interface: Tree = {
        "device-number": "0",
        "interface-id": facts.interface_id,
        "local-hostname": facts.private_dns,
        "local-ipv4s": facts.private_ip,
        "mac": facts.mac,
        "owner-id": facts.account_id,
        "security-group-ids": "\n".join(facts.security_group_ids),
        "security-groups": "\n".join(facts.security_group_names),
        "subnet-id": facts.subnet_id,
        "subnet-ipv4-cidr-block": facts.subnet_cidr,
        "vpc-id": facts.vpc_id,
        "vpc-ipv4-cidr-block": facts.vpc_cidr,
        "vpc-ipv4-cidr-blocks": facts.vpc_cidr,
    }
    meta: dict[str, Leaf | Tree] = {
        "ami-id": facts.image_id,
        "hostname": facts.private_dns,
        "instance-id": facts.instance_id,
        "instance-type": facts.instance_type,
        "local-hostname": facts.private_dns,
        "local-ipv4": facts.private_ip,
        "mac": facts.mac,
        "network": {"interfaces": {"macs": {facts.mac: interface}}},
        "placement": {
            "availability-zone": facts.zone,
            "availability-zone-id": facts.zone_id,
            "region": facts.region,
        },
        "services": {"domain": "amazonaws.com", "partition": "aws"},
    }
    if facts.role_name and facts.profile_arn:
        meta["iam"] = {
            "info": json.dumps(
                {
                    "Code": "Success",
                    "LastUpdated": facts.launch_time,
                    "InstanceProfileArn": facts.profile_arn,
                    "InstanceProfileId": "AIPA" + facts.instance_id[2:].upper(),
                },
                indent=2,
            ),
            "security-credentials": {facts.role_name: credentials},
        }
    return {
        "meta-data": meta,
        "dynamic": {"instance-identity": {"document": identity_document(facts)}},
    }


def lookup(tree: Tree, path: str) -> str | None:
    """Text served for `path` under /latest/, or None (404).

    A directory lists its entries, sub-directories with a trailing slash; a leaf is served
    with or without a trailing slash (botocore asks for `placement/availability-zone/`).
    """
    node: Leaf | Tree = tree
    for part in [p for p in path.split("/") if p]:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    if isinstance(node, Mapping):
        return "\n".join(k + "/" if isinstance(v, Mapping) else k for k, v in node.items())
    return node() if callable(node) else node
