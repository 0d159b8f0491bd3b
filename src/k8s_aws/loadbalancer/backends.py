"""Which nodes stand behind a load balancer, and which security group of each node gets the
single rule admitting the cluster's load balancers."""

from __future__ import annotations

from dataclasses import dataclass

from k8s_aws.model.cluster_tag import cluster_tag_key
from k8s_aws.model.ids import SecurityGroupId
from k8s_aws.model.instance import InstanceRecord
from k8s_aws.model.network import GroupRecord

EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"
AUTOSCALER_TAINT = "ToBeDeletedByClusterAutoscaler"


@dataclass(frozen=True)
class BackendNode:
    name: str
    provider_id: str
    labels: tuple[tuple[str, str], ...]
    taint_keys: tuple[str, ...]
    deleting: bool
    instance_id: str = ""  # from the providerID; "" when it names no instance


def eligible(node: BackendNode, target_labels: tuple[tuple[str, str], ...]) -> bool:
    labels = dict(node.labels)
    return (
        not node.deleting
        and bool(node.provider_id)
        and EXCLUDE_LABEL not in labels
        and AUTOSCALER_TAINT not in node.taint_keys
        and all(labels.get(k) == v for k, v in target_labels)
    )


def node_security_group(
    groups: list[GroupRecord], cluster: str
) -> tuple[str | None, str | None]:
    """(group id, warning). The cluster-tagged group, else the only group; several tagged
    groups are resolved deterministically (smallest id) with a warning instead of failing."""
    tag = cluster_tag_key(cluster)
    tagged = sorted(g.id for g in groups if any(k == tag for k, _ in g.tags))
    if len(tagged) == 1:
        return tagged[0], None
    if len(tagged) > 1:
        return tagged[0], (
            f"instance has {len(tagged)} security groups tagged {tag} ({', '.join(tagged)}); "
            f"using {tagged[0]}: tag only one"
        )
    if len(groups) == 1:
        return groups[0].id, None
    return None, (
        f"instance has {len(groups)} security groups and none tagged {tag}: tag the one that "
        "should admit load balancer traffic"
    )


@dataclass(frozen=True)
class Backend:
    instance_id: str
    node_group: str | None


def backends_of(
    nodes: tuple[BackendNode, ...],
    target_labels: tuple[tuple[str, str], ...],
    instances: tuple[InstanceRecord, ...],
    groups: tuple[GroupRecord, ...],
    cluster: str,
) -> tuple[list[Backend], list[str]]:
    """(backends, warnings): the eligible nodes' instances that AWS knows, each with the node
    group that gets the backend rule."""
    by_id: dict[str, InstanceRecord] = {str(r.id): r for r in instances}
    group_by_id = {g.id: g for g in groups}
    backends, warnings = [], []
    for node in nodes:
        record = by_id.get(node.instance_id) if node.instance_id else None
        if record is None or not eligible(node, target_labels):
            continue
        group, warning = node_security_group(
            [group_by_id[SecurityGroupId(g)] for g in record.security_groups
             if g in group_by_id], cluster
        )
        if warning:
            warnings.append(f"instance {record.id}: {warning}")
        backends.append(Backend(record.id, group))
    return backends, warnings
