"""`k8s-aws gc`, planned: which tagged resources are ours and leaked, in deletion order. Pure.

Ours means the cluster tag `owned` AND one of our identity tags (DESIGN: "What is ours"): a
`shared` resource, or one with the cluster tag alone (a BOSH persistent disk carries the
deployment's tags), is never listed. Leaked means its Kubernetes owner is gone, or the whole
cluster is (`--cluster-gone`).
"""

from __future__ import annotations

from typing import Any

from k8s_aws.model.gc import ORDER, ClusterOwners, Found, Kind, Leak
from k8s_aws.model.loadbalancer import (
    BACKEND_ROLE,
    BACKEND_ROLE_TAG,
    CLUSTER_TAG_PREFIX,
    SERVICE_NAME_TAG,
)
from k8s_aws.volumes.tags import SNAPSHOT_NAME_TAG, VOLUME_NAME_TAG


def owners_of(services: list[dict[str, Any]], volumes: list[dict[str, Any]],
              snapshots: list[dict[str, Any]]) -> ClusterOwners:
    """From raw API objects: LoadBalancer Services, PVs and VolumeSnapshotContents."""
    return ClusterOwners(
        services=frozenset(
            f"{s['metadata']['namespace']}/{s['metadata']['name']}" for s in services
            if s.get("spec", {}).get("type") == "LoadBalancer"
        ),
        volumes=frozenset(
            name for pv in volumes for name in (
                pv["metadata"]["name"], pv.get("spec", {}).get("csi", {}).get("volumeHandle"))
            if name
        ),
        snapshots=frozenset(
            name for c in snapshots for name in (
                c["metadata"]["name"], c.get("status", {}).get("snapshotHandle"),
                c.get("spec", {}).get("source", {}).get("snapshotHandle"))
            if name
        ),
    )


def _owner(found: Found) -> str | None:
    """The identity tag's owner, or None when the resource is not ours."""
    if found.kind in (Kind.CLASSIC_LB, Kind.NETWORK_LB, Kind.TARGET_GROUP,
                      Kind.SECURITY_GROUP) and found.tag(SERVICE_NAME_TAG):
        return f"Service {found.tag(SERVICE_NAME_TAG)}"
    if found.kind in (Kind.SECURITY_GROUP, Kind.NODE_RULE) and (
            found.tag(BACKEND_ROLE_TAG) == BACKEND_ROLE):
        return "the cluster's LoadBalancer Services"
    if found.kind is Kind.VOLUME and found.tag(VOLUME_NAME_TAG):
        return f"PV {found.tag(VOLUME_NAME_TAG)}"
    if found.kind is Kind.SNAPSHOT and found.tag(SNAPSHOT_NAME_TAG):
        return f"VolumeSnapshotContent {found.tag(SNAPSHOT_NAME_TAG)}"
    return None


def _alive(found: Found, owners: ClusterOwners) -> bool:
    if found.tag(SERVICE_NAME_TAG) and found.kind is not Kind.NODE_RULE:
        return found.tag(SERVICE_NAME_TAG) in owners.services
    if found.kind in (Kind.SECURITY_GROUP, Kind.NODE_RULE):
        return bool(owners.services)  # the backend group serves every LB of the cluster
    if found.kind is Kind.VOLUME:
        return bool({found.id, found.tag(VOLUME_NAME_TAG)} & owners.volumes)
    return bool({found.id, found.tag(SNAPSHOT_NAME_TAG)} & owners.snapshots)


def ours(found: Found, cluster: str) -> bool:
    return found.tag(CLUSTER_TAG_PREFIX + cluster) == "owned" and _owner(found) is not None


def find_leaks(found: list[Found], cluster: str, owners: ClusterOwners | None) -> list[Leak]:
    """Ours and ownerless (every one of ours when `owners` is None: the cluster is gone), in
    deletion order; an attached volume is listed with what must happen first."""
    leaks = []
    for item in found:
        owner = _owner(item)
        if owner is None or not ours(item, cluster):
            continue
        if owners is not None and _alive(item, owners):
            continue
        note = ""
        if item.kind is Kind.VOLUME and item.state not in ("available", ""):
            note = f"volume is {item.state}: detach it first (its node may still use it)"
        leaks.append(Leak(item, owner, note))
    leaks.sort(key=lambda leak: (ORDER.index(leak.found.kind), leak.found.id))
    return leaks


def to_delete(leaks: list[Leak], include_volumes: bool) -> list[Leak]:
    """What `--delete` removes: never data without --include-volumes, never a noted leak."""
    return [leak for leak in leaks
            if not leak.note and (include_volumes or not leak.found.kind.is_data)]
