"""BOSH configuration for the Kubernetes release on AWS, generated (pure YAML text).

The cluster tag's key contains the cluster name, which makes it awkward to merge by hand:
generate it. Deployment tags land on every VM *and* persistent disk BOSH manages, so they
default to `shared`: k8s-aws never changes or deletes a resource on the cluster tag alone.
"""

from __future__ import annotations

from typing import Any

import yaml

from k8s_aws.ops.iam_policy import CLUSTER_NAME_RE, PolicyInputError, tag_key

DEFAULT_PROFILE = "kubernetes-cloud-provider"
CONTROL_EXTENSION = "k8s-aws-control"
WORKER_EXTENSION = "kubelet"  # the release's example manifests attach it to kubelet groups
TAG_VALUES = ("shared", "owned")
CONTROL_GROUP = "control"
NODE_GROUP = "node"


def _dump(data: Any, header: str) -> str:
    comment = "".join(f"# {line}\n".replace("# \n", "#\n") for line in header.splitlines())
    return comment + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def _metadata_options() -> dict[str, Any]:
    # IMDSv2 only; one hop: a pod on the pod network cannot reach instance credentials.
    return {"http_tokens": "required", "http_put_response_hop_limit": 1}


def cloud_config(
    profile: str = DEFAULT_PROFILE, worker_profile: str = "", single_profile: bool = False
) -> str:
    """vm_extensions for the cloud config: the controllers' profile on control VMs only."""
    if single_profile:
        extensions = [{
            "name": WORKER_EXTENSION,
            "cloud_properties": {"iam_instance_profile": profile,
                                 "metadata_options": _metadata_options()},
        }]
        header = (
            "k8s-aws: vm_extensions, the release's simple layout (one profile on every\n"
            "kubelet VM). Any pod on host network there can use the controllers' credentials."
        )
        return _dump({"vm_extensions": extensions}, header)
    worker: dict[str, Any] = {"metadata_options": _metadata_options()}
    if worker_profile:
        worker["iam_instance_profile"] = worker_profile
    extensions = [
        {
            "name": CONTROL_EXTENSION,
            "cloud_properties": {"iam_instance_profile": profile,
                                 "metadata_options": _metadata_options()},
        },
        {"name": WORKER_EXTENSION, "cloud_properties": worker},
    ]
    header = (
        f"k8s-aws: vm_extensions. {CONTROL_EXTENSION} gives control VMs the controllers'\n"
        "profile (the controllers run there on the host network, so one IMDS hop is enough);\n"
        f"{WORKER_EXTENSION} gives worker VMs {'a read-only' if worker_profile else 'no'} "
        "profile. IMDSv2 is required everywhere."
    )
    return _dump({"vm_extensions": extensions}, header)


def _escape(key: str) -> str:
    """A map key as one go-patch path segment (`/` is written `~1`, `~` is `~0`)."""
    return key.replace("~", "~0").replace("/", "~1")


def ops_file(cluster: str, tag_value: str = "shared", single_profile: bool = False) -> str:
    """An ops file for the Kubernetes BOSH release: external cloud provider, cluster name,
    and the deployment's cluster tag."""
    if not CLUSTER_NAME_RE.match(cluster):
        raise PolicyInputError(
            f"--cluster-name {cluster!r} is invalid: it must match {CLUSTER_NAME_RE.pattern}"
        )
    if tag_value not in TAG_VALUES:
        raise PolicyInputError(
            f"--tag-value {tag_value!r} is unknown; allowed: {', '.join(TAG_VALUES)}"
        )
    control = f"/instance_groups/name={CONTROL_GROUP}/jobs/name=control/properties"
    ops: list[dict[str, Any]] = [
        {"type": "replace", "path": f"{control}/cloud-provider?/type", "value": "external"},
        {"type": "replace", "path": f"{control}/cluster?/name", "value": cluster},
    ]
    for group in (CONTROL_GROUP, NODE_GROUP):
        ops.append({
            "type": "replace",
            "path": f"/instance_groups/name={group}/jobs/name=kubelet/properties"
                    "/cloud-provider?/type",
            "value": "external",
        })
    if not single_profile:
        ops.append({
            "type": "replace",
            "path": f"/instance_groups/name={CONTROL_GROUP}/vm_extensions/-",
            "value": CONTROL_EXTENSION,
        })
    ops.append({
        "type": "replace", "path": f"/tags?/{_escape(tag_key(cluster))}", "value": tag_value,
    })
    header = (
        "k8s-aws: the Kubernetes BOSH release on AWS with the external cloud controller manager.\n"
        f"Cluster tag {tag_key(cluster)}={tag_value} on the deployment: BOSH copies deployment\n"
        "tags onto every VM and every persistent disk it manages (etcd's too), so `shared` is\n"
        "the safe default; k8s-aws changes or deletes only what carries `owned` AND its own\n"
        "identity tags."
    )
    return _dump(ops, header)
