"""Which subnets a load balancer goes into: discovered by cluster and role tags, one per zone.

A subnet is a candidate when it carries this cluster's tag (owned or shared) or no cluster tag
at all. Public means routed to an internet gateway. Internet-facing LBs use public subnets
only. Per zone the tie-break is: role tag, then cluster tag, then the smallest id. An existing
LB keeps its subnets while they remain valid, so tagging more subnets later moves nothing.
"""

from __future__ import annotations

from k8s_aws.model.cluster_tag import CLUSTER_TAG_PREFIX, cluster_tag_key
from k8s_aws.model.network import SubnetRecord

ROLE_ELB = "kubernetes.io/role/elb"
ROLE_INTERNAL_ELB = "kubernetes.io/role/internal-elb"


class NoSubnets(ValueError):
    """No usable subnet: the message says which tags to set."""


def is_candidate(subnet: SubnetRecord, cluster: str) -> bool:
    cluster_tags = [k for k, _ in subnet.tags if k.startswith(CLUSTER_TAG_PREFIX)]
    return (not cluster_tags or cluster_tag_key(cluster) in cluster_tags) and (
        subnet.zone_type == "availability-zone"
    )


def _rank(subnet: SubnetRecord, cluster: str, internal: bool) -> tuple[int, int, str]:
    role = ROLE_INTERNAL_ELB if internal else ROLE_ELB
    return (
        0 if subnet.tag(role) not in (None, "0") else 1,
        0 if subnet.tag(cluster_tag_key(cluster)) is not None else 1,
        subnet.id,
    )


def select_subnets(
    subnets: list[SubnetRecord], cluster: str, internal: bool, current: tuple[str, ...] = ()
) -> tuple[str, ...]:
    usable = [
        s for s in subnets
        if is_candidate(s, cluster) and (internal or s.public)
    ]
    by_id = {s.id: s for s in usable}
    if current and all(s in by_id for s in current):
        return tuple(sorted(current))
    best: dict[str, SubnetRecord] = {}
    for subnet in usable:
        chosen = best.get(subnet.zone)
        if chosen is None or _rank(subnet, cluster, internal) < _rank(chosen, cluster, internal):
            best[subnet.zone] = subnet
    if not best:
        kind = "any" if internal else "a public (routed to an internet gateway)"
        role = ROLE_INTERNAL_ELB if internal else ROLE_ELB
        raise NoSubnets(
            f"no {kind} subnet found for cluster {cluster}: tag subnets "
            f"{cluster_tag_key(cluster)}=shared|owned and {role}=1, or set the "
            "aws-load-balancer-subnets annotation"
        )
    return tuple(sorted(s.id for s in best.values()))


def subnets_by_annotation(
    subnets: list[SubnetRecord], wanted: tuple[str, ...]
) -> tuple[str, ...]:
    """Subnets named by id or Name tag in the `subnets` annotation."""
    found = []
    for item in wanted:
        match = next((s for s in subnets if item in (s.id, s.name)), None)
        if match is None:
            raise NoSubnets(
                "service.beta.kubernetes.io/aws-load-balancer-subnets: no subnet with id or "
                f"Name {item!r} in the cluster's VPC"
            )
        found.append(match.id)
    return tuple(sorted(set(found)))
