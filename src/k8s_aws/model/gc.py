"""What `k8s-aws gc` finds in AWS and what it knows of the cluster (plain data)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from k8s_aws.model.tags import Tagged, Tags

__all__ = ["Tags"]  # and the records below; re-exported for cloud


class Kind(enum.Enum):
    """In deletion order: rules before the group they name, load balancers before their
    target groups and security groups, volumes and snapshots last."""

    NODE_RULE = "node-group-rule"
    CLASSIC_LB = "classic-load-balancer"
    NETWORK_LB = "network-load-balancer"
    TARGET_GROUP = "target-group"
    SECURITY_GROUP = "security-group"
    VOLUME = "volume"
    SNAPSHOT = "snapshot"

    @property
    def is_data(self) -> bool:
        """Volumes and snapshots may be data a user meant to keep (Retain, a PV deleted by
        hand): listed apart, deleted only with --include-volumes."""
        return self in (Kind.VOLUME, Kind.SNAPSHOT)


ORDER = tuple(Kind)


@dataclass(frozen=True)
class Found(Tagged):
    """A resource carrying this cluster's tag. `id` is what the delete call takes (a name
    for a Classic ELB, an ARN for ELBv2, an id for EC2); `group` is the node group a rule
    sits on; `state` a volume's (only `available` ones can be deleted)."""

    kind: Kind
    id: str
    name: str
    tags: Tags
    group: str = ""
    state: str = ""


@dataclass(frozen=True)
class ClusterOwners:
    """The Kubernetes owners still alive (None: the cluster is gone, nothing is owned)."""

    services: frozenset[str]  # namespace/name of every Service of type LoadBalancer
    volumes: frozenset[str]  # PV names and their CSI volume handles
    snapshots: frozenset[str]  # VolumeSnapshotContent names and snapshot handles


@dataclass(frozen=True)
class Leak:
    found: Found
    owner: str  # what it belonged to, e.g. "Service default/web", "PV pvc-1"
    note: str = ""  # why it cannot be deleted now (a volume in use), else empty
