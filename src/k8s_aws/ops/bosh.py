"""BOSH files for the Kubernetes release on AWS, generated (pure YAML text): an ops file for
the deployment and one for the cloud config.

Checked against the release's job specs: only properties the target job declares are set
(the kubelet job declares no `cloud-provider.*`: it gets the type from the control job's
`cloud-provider` link). The cluster tag's key contains the cluster name, which makes it
awkward to merge by hand. Deployment tags land on every VM *and* persistent disk BOSH
manages, so they default to `shared`: k8s-aws never changes or deletes a resource on the
cluster tag alone. Every string is written so YAML 1.1 (BOSH's gopkg.in/yaml.v2) reads it as a
string: a cluster named `n` or `yes` would otherwise become a boolean.
"""

from __future__ import annotations

import re
from typing import Any

from k8s_aws.deploy.yamltext import comment, dump
from k8s_aws.ops.iam_policy import PolicyInputError, tag_key, validate_cluster_name

DEFAULT_PROFILE = "kubernetes-cloud-provider"
CONTROL_EXTENSION = "k8s-aws-control"
WORKER_EXTENSION = "kubelet"  # the release's manifests attach it to every kubelet group
TAG_VALUES = ("shared", "owned")
DEFAULT_CONTROL_GROUP = "control"  # hugernetes, prodernetes; the single-group ones use `k8s`
# The API server reaches kubelets by the first of these a Node has: the kubelet's serving
# certificate covers its IP and the node name (Hostname), not the private DNS name.
KUBELET_ADDRESS_TYPES = "InternalIP,Hostname"
PROFILE_NAME_RE = re.compile(r"^[\w+=,.@-]{1,128}$")
GROUP_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


def _dump(data: Any, header: str) -> str:
    return comment(header) + dump(data)


def _escape(key: str) -> str:
    """A map key as one go-patch path token (`~` is `~0`, `/` is `~1`, `:` is `~7`)."""
    return key.replace("~", "~0").replace("/", "~1").replace(":", "~7")


def _metadata_options() -> dict[str, Any]:
    # IMDSv2 only; one hop: a pod on the pod network cannot reach instance credentials.
    return {"http_tokens": "required", "http_put_response_hop_limit": 1}


def check_profile(flag: str, name: str) -> None:
    if not PROFILE_NAME_RE.match(name):
        raise PolicyInputError(
            f"{flag} {name!r} is not an instance profile name: 1-128 of letters, digits "
            "and +=,.@_-"
        )


def cloud_config(
    profile: str = DEFAULT_PROFILE, worker_profile: str = "", single_profile: bool = False
) -> str:
    """An ops file for the operator's cloud config, merged into its vm_extensions."""
    check_profile("--profile", profile)
    if worker_profile:
        check_profile("--worker-profile", worker_profile)
    kubelet = f"/vm_extensions?/name={WORKER_EXTENSION}/cloud_properties?"
    ops: list[dict[str, Any]] = [
        {"type": "replace", "path": f"{kubelet}/metadata_options",
         "value": _metadata_options()},
    ]
    if single_profile or worker_profile:
        ops.append({"type": "replace", "path": f"{kubelet}/iam_instance_profile",
                    "value": profile if single_profile else worker_profile})
    else:
        ops.append({"type": "remove",
                    "path": f"/vm_extensions/name={WORKER_EXTENSION}?/cloud_properties"
                            "/iam_instance_profile"})
    if not single_profile:
        ops.insert(0, {
            "type": "replace", "path": f"/vm_extensions?/name={CONTROL_EXTENSION}?",
            "value": {"name": CONTROL_EXTENSION, "cloud_properties": {
                "iam_instance_profile": profile, "metadata_options": _metadata_options()}},
        })
    if single_profile:
        roles = (f"{WORKER_EXTENSION} (every kubelet VM) gets the controllers' profile\n"
                 f"{profile}: any pod on host network there can use its credentials.")
    else:
        worker = f"the read-only profile {worker_profile}" if worker_profile else (
            "no profile (one it had is removed)")
        roles = (f"{CONTROL_EXTENSION} gives control VMs the controllers' profile {profile}\n"
                 "(they run there on the host network, so one IMDS hop is enough); "
                 f"{WORKER_EXTENSION} gives\nevery kubelet VM {worker}.")
    header = (
        "k8s-aws: an ops file for your cloud config (bosh update-cloud-config CLOUD.yml -o\n"
        "THIS.yml). It merges into the `kubelet` vm_extension that the release's\n"
        "manifests/cloud-config/k8s.yml already defines (a second `kubelet` would make the\n"
        "director refuse: Duplicate vm extension name), or adds it, keeping its other\n"
        f"cloud_properties. {roles}\n"
        "IMDSv2 is required everywhere, with one hop."
    )
    return _dump(ops, header)


def control_group_of(manifest: dict[str, Any]) -> str:
    """The one instance group of a deployment manifest that runs the release's control job."""
    groups = manifest.get("instance_groups") or []
    name = manifest.get("name", "(unnamed)")
    running = [g.get("name") for g in groups
               if any(j.get("name") == "control" for j in g.get("jobs") or [])]
    if len(running) != 1:
        raise PolicyInputError(
            f"--manifest: deployment {name} has {len(running)} instance groups running the "
            f"control job ({', '.join(map(str, running)) or 'none'}); the ops file needs "
            "exactly one: pass --control-group NAME for yours"
        )
    return str(running[0])


def check_topology(manifest: dict[str, Any], control_group: str) -> None:
    """Refuse an ops file for `control_group` that this manifest's topology cannot take,
    naming the topology, why, and what to pass instead."""
    found = control_group_of(manifest)
    if found != control_group:
        groups = ", ".join(str(g.get("name")) for g in manifest.get("instance_groups") or [])
        raise PolicyInputError(
            f"--control-group {control_group!r} does not fit deployment "
            f"{manifest.get('name', '(unnamed)')}: it has no such instance group running the "
            f"control job (its groups: {groups}), so BOSH would refuse the ops file; pass "
            f"--control-group {found}"
        )


def _validate(cluster: str, tag_value: str, control_group: str) -> None:
    validate_cluster_name(cluster)  # the release's pattern, and short enough for the tag key
    if tag_value not in TAG_VALUES:
        raise PolicyInputError(
            f"--tag-value {tag_value!r} is unknown; allowed: {', '.join(TAG_VALUES)}"
        )
    if not GROUP_NAME_RE.match(control_group):
        raise PolicyInputError(
            f"--control-group {control_group!r} is not an instance group name: letters, "
            "digits and _.-"
        )


def ops_file(
    cluster: str,
    tag_value: str = "shared",
    single_profile: bool = False,
    control_group: str = DEFAULT_CONTROL_GROUP,
    manifest: dict[str, Any] | None = None,
    bootstrap: str = "",
) -> str:
    """An ops file for the Kubernetes BOSH release: external cloud provider, cluster name,
    the API server's kubelet address order, the deployment's cluster tag and, given
    `bootstrap` (bosh_bootstrap.merged), the control job's bootstrap manifests."""
    _validate(cluster, tag_value, control_group)
    if manifest is not None:
        check_topology(manifest, control_group)
    group = f"/instance_groups/name={control_group}"
    control = f"{group}/jobs/name=control/properties?"
    flag = {"kubelet-preferred-address-types": KUBELET_ADDRESS_TYPES}
    ops: list[dict[str, Any]] = [
        {"type": "replace", "path": f"{control}/cloud-provider/type", "value": "external"},
        {"type": "replace", "path": f"{control}/cluster/name", "value": cluster},
        {"type": "replace", "path": f"{control}/apiserver/flags/-", "value": flag},
    ]
    if bootstrap:
        ops.append({"type": "replace", "path": f"{control}/bootstrap", "value": bootstrap})
    if not single_profile:
        ops.append({"type": "replace", "path": f"{group}/vm_extensions?/-",
                    "value": CONTROL_EXTENSION})
    ops.append({
        "type": "replace", "path": f"/tags?/{_escape(tag_key(cluster))}", "value": tag_value,
    })
    others = (
        " (hugernetes, prodernetes);\n"
        "for tinynetes, labernetes and mirrornetes pass --control-group k8s"
        if control_group == DEFAULT_CONTROL_GROUP else ""
    )
    header = (
        "k8s-aws: the Kubernetes BOSH release on AWS with the external cloud controller manager.\n"
        f"For topologies whose control job runs in instance group {control_group}{others}.\n"
        "The kubelet job takes the cloud provider type from the control job's link. The API\n"
        f"server reaches kubelets by {KUBELET_ADDRESS_TYPES} (what their certificates cover;\n"
        "this flag comes last, so it wins over an earlier one).\n"
        f"Cluster tag {tag_key(cluster)}={tag_value} on the deployment: BOSH copies deployment\n"
        "tags onto every VM and every persistent disk it manages (etcd's too), so `shared` is\n"
        "the safe default; k8s-aws changes or deletes only what carries `owned` AND its own\n"
        "identity tags."
    )
    if bootstrap:
        header += (
            "\nThe control job's `bootstrap` (applied by its post-deploy) holds k8s-aws's\n"
            "manifests after the bootstrap you passed: this op replaces the property, so apply\n"
            "it after any ops file of yours that sets it, and pass that value as --bootstrap."
        )
    return _dump(ops, header)
