"""What kubelet and node-driver-registrar do for the EBS CSI driver on each node, for the
sandbox's kubelet-less Nodes: a CSINode listing `ebs.csi.aws.com` with the node id the driver's
NodeGetInfo would give (the instance id), its topology keys and its attach limit, owned by
the Node (so it goes when the Node goes), and the Node labelled with every topology key.

csi-provisioner reads the CSINode's topology keys and the Node's labels to build a claim's
accessibility requirements; csi-attacher maps a Node to the instance id through it; the
scheduler counts the allocatable attachments.
"""

from __future__ import annotations

from typing import Any

from k8s_aws.deploy.csi_sidecars import DRIVER_NAME
from k8s_aws.volumes.attachlimits import type_limit, volumes_available
from k8s_aws.volumes.topology import ZONE_KEYS, accessible_topology

# kubelet lists the in-tree plugins it hands to CSI drivers; KCM's attach-detach controller
# attaches a migrated (`awsElasticBlockStore`) volume through CSI only on nodes listing it.
MIGRATED_PLUGINS_ANNOTATION = "storage.alpha.kubernetes.io/migrated-plugins"
AWS_EBS_IN_TREE = "kubernetes.io/aws-ebs"


def attach_limit(instance_type: str) -> int | None:
    """The driver's `max_volumes_per_node` on a fresh instance: one interface, the root disk."""
    limit = type_limit(instance_type)
    return None if limit is None else volumes_available(limit, interfaces=1, ebs_devices=1)


def csinode_manifest(node_name: str, node_uid: str, instance_id: str,
                     instance_type: str) -> dict[str, Any]:
    driver: dict[str, Any] = {
        "name": DRIVER_NAME,
        "nodeID": instance_id,
        "topologyKeys": list(ZONE_KEYS),
    }
    count = attach_limit(instance_type)
    if count is not None:
        driver["allocatable"] = {"count": count}
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "CSINode",
        "metadata": {
            "name": node_name,
            "annotations": {MIGRATED_PLUGINS_ANNOTATION: AWS_EBS_IN_TREE},
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": node_uid}
            ],
        },
        "spec": {"drivers": [driver]},
    }


def needs_labels(labels: dict[str, str], zone: str) -> dict[str, str]:
    """The topology labels the Node lacks (or has with another value)."""
    return {k: v for k, v in accessible_topology(zone).items() if labels.get(k) != v}
