"""The emulated account's network, laid out like a real cluster's VPC (pure data, no I/O).

Per availability zone: a public subnet (routed to the internet gateway, role tag `elb`) and a
private one (role tag `internal-elb`). Cluster-tag values differ on purpose, as in real
accounts: the public subnets and the last private one are `shared` (made by hand), the other
private subnets `owned`.
"""

from __future__ import annotations

from dataclasses import dataclass

from k8s_aws.model.cluster_tag import cluster_tag_key

VPC_CIDR = "10.0.0.0/16"
ROLE_ELB = "kubernetes.io/role/elb"
ROLE_INTERNAL_ELB = "kubernetes.io/role/internal-elb"


@dataclass(frozen=True)
class SubnetLayout:
    name: str
    zone: str
    cidr: str
    public: bool
    tags: dict[str, str]


def subnet_layout(cluster: str, zones: list[str]) -> list[SubnetLayout]:
    if len(zones) < 2:
        raise ValueError(f"a cluster VPC needs at least two availability zones, got {zones}")
    subnets = []
    for index, zone in enumerate(zones):
        subnets.append(
            SubnetLayout(
                name=f"{cluster}-public-{zone}",
                zone=zone,
                cidr=f"10.0.{index}.0/24",
                public=True,
                tags={cluster_tag_key(cluster): "shared", ROLE_ELB: "1"},
            )
        )
        owned = index < len(zones) - 1
        subnets.append(
            SubnetLayout(
                name=f"{cluster}-private-{zone}",
                zone=zone,
                cidr=f"10.0.{16 * (index + 1)}.0/20",
                public=False,
                tags={
                    cluster_tag_key(cluster): "owned" if owned else "shared",
                    ROLE_INTERNAL_ELB: "1",
                },
            )
        )
    return subnets


# How the stand-in kubelets name their Nodes: as the BOSH release's kubelet with
# `cloud-provider.type: external` does (`<BOSH instance id>.k8s`), or by the VM's private DNS
# name as kubeadm-style installers do.
NODE_NAMING = ("bosh", "private-dns")
DIRECTOR = "sandbox-director"


def bosh_vm_tags(
    cluster: str, instance_group: str, index: int, vm_id: str, created_at: str
) -> dict[str, str]:
    """Every tag the BOSH director puts on a VM it creates (`vm_id` is the instance's UUID,
    stable across recreates), plus the deployment's `tags` (the cluster tag)."""
    return {
        "Name": f"{instance_group}/{index}",
        "director": DIRECTOR,
        "deployment": cluster,
        "instance_group": instance_group,
        "job": instance_group,
        "index": str(index),
        "id": vm_id,
        "name": f"{instance_group}/{vm_id}",
        "created_at": created_at,
        cluster_tag_key(cluster): "owned",
    }
