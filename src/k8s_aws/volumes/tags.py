"""Tags on the volumes and snapshots the driver creates: identity (`CSIVolumeName`), cluster
ownership, the reference's extra metadata, and the StorageClass's tagSpecification_N."""

from __future__ import annotations

from k8s_aws.model.cluster_tag import cluster_tag_key
from k8s_aws.volumes.errors import ParameterError
from k8s_aws.volumes.parameters import VolumeParameters, render_template

VOLUME_NAME_TAG = "CSIVolumeName"
SNAPSHOT_NAME_TAG = "CSIVolumeSnapshotName"
DRIVER_TAG = "ebs.csi.aws.com/cluster"
PVC_NAME_TAG = "kubernetes.io/created-for/pvc/name"
PVC_NAMESPACE_TAG = "kubernetes.io/created-for/pvc/namespace"
PV_NAME_TAG = "kubernetes.io/created-for/pv/name"


def cluster_tags(cluster: str) -> dict[str, str]:
    if not cluster:
        return {}
    return {cluster_tag_key(cluster): "owned", "KubernetesCluster": cluster}


def volume_tags(name: str, cluster: str, params: VolumeParameters,
                extra: dict[str, str] | None = None) -> dict[str, str]:
    """Identity and ownership last, so a tagSpecification can never overwrite them."""
    fields = {"PVCName": params.pvc_name, "PVCNamespace": params.pvc_namespace,
              "PVName": params.pv_name}
    tags = {k: render_template(v, fields) for k, v in params.tag_templates}
    tags.update(extra or {})
    if params.pvc_name:
        tags[PVC_NAME_TAG] = params.pvc_name
    if params.pvc_namespace:
        tags[PVC_NAMESPACE_TAG] = params.pvc_namespace
    if params.pv_name:
        tags[PV_NAME_TAG] = params.pv_name
    if cluster:
        tags.setdefault("Name", f"{cluster}-dynamic-{name}")
    tags.update(cluster_tags(cluster))
    tags[DRIVER_TAG] = "true"
    tags[VOLUME_NAME_TAG] = name
    return tags


# csi-snapshotter --extra-create-metadata: CreateSnapshot parameter -> tag (the reference's).
SNAPSHOT_METADATA = {
    "csi.storage.k8s.io/volumesnapshot/name": "kubernetes.io/created-for/volumesnapshot/name",
    "csi.storage.k8s.io/volumesnapshot/namespace":
        "kubernetes.io/created-for/volumesnapshot/namespace",
    "csi.storage.k8s.io/volumesnapshotcontent/name":
        "kubernetes.io/created-for/volumesnapshotcontent/name",
}


def snapshot_metadata_tags(parameters: dict[str, str]) -> dict[str, str]:
    """The extra-metadata tags; any other VolumeSnapshotClass parameter is refused by name,
    never accepted and ignored."""
    unknown = sorted(set(parameters) - set(SNAPSHOT_METADATA))
    if unknown:
        raise ParameterError(unknown[0], "unknown VolumeSnapshotClass parameter; the driver "
                             f"takes none (only {', '.join(SNAPSHOT_METADATA)} from the sidecar)")
    return {SNAPSHOT_METADATA[k]: v for k, v in parameters.items()}


def snapshot_tags(name: str, cluster: str, extra: dict[str, str] | None = None
                  ) -> dict[str, str]:
    tags = dict(extra or {})
    tags.update(cluster_tags(cluster))
    if cluster:
        tags["Name"] = f"{cluster}-dynamic-{name}"
    tags[DRIVER_TAG] = "true"
    tags[SNAPSHOT_NAME_TAG] = name
    return tags


def is_ours(tags: dict[str, str], cluster: str) -> bool:
    """Ours to delete: the identity tag and, with a cluster name, the cluster's `owned` tag."""
    if VOLUME_NAME_TAG not in tags and SNAPSHOT_NAME_TAG not in tags:
        return False
    return not cluster or tags.get(cluster_tag_key(cluster)) == "owned"
