"""`k8s-aws gc` planned without AWS: only ours (owned AND an identity tag), only ownerless,
in dependency order, volumes and snapshots apart."""

from __future__ import annotations

import pytest

from k8s_aws.model.gc import ClusterOwners, Found, Kind
from k8s_aws.ops.gc_plan import find_leaks, owners_of, to_delete

C = "kubernetes.io/cluster/c1"
SVC = "kubernetes.io/service-name"
OWNED = (C, "owned")
BACKEND = (("k8s-aws/role", "lb-backends"), OWNED)
NONE = ClusterOwners(frozenset(), frozenset(), frozenset())


def _f(kind: Kind, id_: str, *tags: tuple[str, str], state: str = "") -> Found:
    return Found(kind, id_, id_, tags, state=state)


@pytest.mark.parametrize(
    ("found", "listed"),
    [
        (_f(Kind.CLASSIC_LB, "a", OWNED, (SVC, "ns/web")), True),
        (_f(Kind.CLASSIC_LB, "a", (C, "shared"), (SVC, "ns/web")), False),
        (_f(Kind.CLASSIC_LB, "a", OWNED), False),
        (_f(Kind.VOLUME, "vol-bosh", OWNED, ("director", "bosh"), ("deployment", "k8s")), False),
        (_f(Kind.VOLUME, "vol-1", OWNED, ("CSIVolumeName", "pvc-1"), state="available"), True),
        (_f(Kind.VOLUME, "vol-1", ("CSIVolumeName", "pvc-1")), False),
        (_f(Kind.SNAPSHOT, "snap-1", OWNED, ("CSIVolumeSnapshotName", "snapshot-1")), True),
        (_f(Kind.SECURITY_GROUP, "sg-b", *BACKEND), True),
        (_f(Kind.SECURITY_GROUP, "sg-node", OWNED, ("Name", "c1-node")), False),
        (_f(Kind.TARGET_GROUP, "arn:tg", (C, "owned"), (SVC, "ns/web")), True),
        (_f(Kind.CLASSIC_LB, "a", ("kubernetes.io/cluster/other", "owned"), (SVC, "ns/web")),
         False),
    ],
    ids=["owned-lb", "shared-lb", "cluster-tag-only-lb", "bosh-disk", "csi-volume",
         "volume-without-cluster-tag", "snapshot", "backend-group", "node-group",
         "target-group", "another-clusters"],
)
def test_only_ours_is_listed(found: Found, listed: bool) -> None:
    assert bool(find_leaks([found], "c1", None)) == listed
    assert bool(find_leaks([found], "c1", NONE)) == listed


def test_a_resource_whose_owner_lives_is_kept() -> None:
    owners = owners_of(
        services=[{"metadata": {"namespace": "ns", "name": "web"},
                   "spec": {"type": "LoadBalancer"}},
                  {"metadata": {"namespace": "ns", "name": "plain"}, "spec": {"type": "ClusterIP"}}],
        volumes=[{"metadata": {"name": "pvc-1"}, "spec": {"csi": {"volumeHandle": "vol-9"}}}],
        snapshots=[{"metadata": {"name": "snapcontent-1"},
                    "status": {"snapshotHandle": "snap-1"}}],
    )
    found = [
        _f(Kind.CLASSIC_LB, "web", OWNED, (SVC, "ns/web")),
        _f(Kind.CLASSIC_LB, "plain", OWNED, (SVC, "ns/plain")),
        _f(Kind.SECURITY_GROUP, "sg-b", *BACKEND),
        _f(Kind.VOLUME, "vol-9", OWNED, ("CSIVolumeName", "pvc-other"), state="available"),
        _f(Kind.VOLUME, "vol-2", OWNED, ("CSIVolumeName", "pvc-2"), state="available"),
        _f(Kind.SNAPSHOT, "snap-1", OWNED, ("CSIVolumeSnapshotName", "s")),
    ]
    leaked = [(leak.found.id, leak.owner) for leak in find_leaks(found, "c1", owners)]
    assert leaked == [("plain", "Service ns/plain"), ("vol-2", "PV pvc-2")]


def test_deletion_order_and_volumes_only_when_asked() -> None:
    found = [
        _f(Kind.SNAPSHOT, "snap-1", OWNED, ("CSIVolumeSnapshotName", "s")),
        _f(Kind.SECURITY_GROUP, "sg-f", OWNED, (SVC, "ns/web")),
        _f(Kind.VOLUME, "vol-1", OWNED, ("CSIVolumeName", "p"), state="available"),
        _f(Kind.TARGET_GROUP, "arn:tg", OWNED, (SVC, "ns/web")),
        _f(Kind.NETWORK_LB, "arn:lb", OWNED, (SVC, "ns/web")),
        Found(Kind.NODE_RULE, "sg-b", "rule on sg-n", BACKEND, group="sg-n"),
        _f(Kind.CLASSIC_LB, "clb", OWNED, (SVC, "ns/old")),
        _f(Kind.VOLUME, "vol-2", OWNED, ("CSIVolumeName", "q"), state="in-use"),
    ]
    leaks = find_leaks(found, "c1", None)
    assert [leak.found.kind for leak in leaks] == [
        Kind.NODE_RULE, Kind.CLASSIC_LB, Kind.NETWORK_LB, Kind.TARGET_GROUP,
        Kind.SECURITY_GROUP, Kind.VOLUME, Kind.VOLUME, Kind.SNAPSHOT]
    assert [leak.found.id for leak in to_delete(leaks, include_volumes=False)] == [
        "sg-b", "clb", "arn:lb", "arn:tg", "sg-f"]
    with_data = [leak.found.id for leak in to_delete(leaks, include_volumes=True)]
    assert with_data[-2:] == ["vol-1", "snap-1"]  # the attached vol-2 waits for a detach
    assert "detach" in next(leak.note for leak in leaks if leak.found.id == "vol-2")
