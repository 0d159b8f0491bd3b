"""`k8s-aws iam-policy` and `k8s-aws bosh ...`: the operator's set-up, generated."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
import yaml

from k8s_aws.cli.deploy import OneLineErrors, image_options, settings
from k8s_aws.cli.operator_common import given
from k8s_aws.cloud.operations import FEATURES
from k8s_aws.deploy.inputs import DEFAULT_NAMESPACE, DeployInputError
from k8s_aws.ops import bosh as bosh_config
from k8s_aws.ops import bosh_bootstrap
from k8s_aws.ops.iam_policy import ROLES, PolicyInputError, PolicyRequest, generate


def _fail(exc: PolicyInputError | DeployInputError) -> NoReturn:
    """Bad input: one line naming the flag and the allowed values, exit 2, no traceback."""
    click.echo(f"Error: {exc}", err=True)
    sys.exit(2)


@click.command("iam-policy")
@click.option("--cluster-name", required=True, help="The release's cluster.name.")
@click.option("--role", default="controller", show_default=True,
              help=f"Who holds the policy: {', '.join(ROLES)}.")
@click.option("--features", default=",".join(FEATURES), show_default=True,
              help="Comma-separated features the controllers run.")
@click.option("--kms-key", default="", help="KMS key ARN for encrypted volumes.")
def iam_policy(cluster_name: str, role: str, features: str, kms_key: str) -> None:
    """Print the least-privilege IAM policy for the controllers (or worker nodes)."""
    chosen = tuple(f.strip() for f in features.split(",") if f.strip())
    try:
        policy = generate(PolicyRequest(cluster_name, role, chosen, kms_key))
    except PolicyInputError as exc:
        _fail(exc)
    click.echo(json.dumps(policy, indent=2))


@click.group("bosh")
def bosh() -> None:
    """BOSH cloud-config and ops files for the Kubernetes release on AWS."""


@bosh.command("cloud-config")
@click.option("--profile", default=bosh_config.DEFAULT_PROFILE, show_default=True,
              help="Instance profile of the control VMs (the controllers').")
@click.option("--worker-profile", default="", help="Read-only profile for worker VMs.")
@click.option("--single-profile", is_flag=True,
              help="The release's simple layout: the profile on the kubelet extension.")
def cloud_config(profile: str, worker_profile: str, single_profile: bool) -> None:
    """Print an ops file for your cloud config: vm_extensions for control and kubelet VMs."""
    try:
        text = bosh_config.cloud_config(profile, worker_profile, single_profile)
    except PolicyInputError as exc:
        _fail(exc)
    click.echo(text, nl=False)


@bosh.command("ops-file", cls=OneLineErrors)
@click.option("--cluster-name", required=True, help="The release's cluster.name.")
@click.option("--tag-value", default="shared", show_default=True,
              help="Cluster tag value on the deployment: shared or owned.")
@click.option("--single-profile", is_flag=True,
              help="Matches `cloud-config --single-profile`: no control extension.")
@click.option("--control-group", default=bosh_config.DEFAULT_CONTROL_GROUP, show_default=True,
              help="Instance group running the control job (`k8s` in tinynetes, labernetes, "
                   "mirrornetes).")
@click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Your deployment manifest: the ops file is checked against its topology.")
@click.option("--image", default="",
              help="The k8s-aws image: its manifests go into the control job's bootstrap.")
@click.option("--bootstrap", "bootstrap_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Your current bootstrap YAML (with --image): kept, ours appended.")
@click.option("--namespace", default=DEFAULT_NAMESPACE, show_default=True,
              help="Namespace of the manifests (with --image).")
@image_options
def ops_file(cluster_name: str, tag_value: str, single_profile: bool, control_group: str,
             manifest_path: Path | None, image: str, bootstrap_path: Path | None,
             namespace: str, registrar_image: str, csi_replicas: int,
             kubelet_dir: str) -> None:
    """Print an ops file: external cloud provider, cluster name, the API server's kubelet
    address order, the deployment's cluster tag and (--image) k8s-aws's manifests."""
    try:
        manifest = _manifest(manifest_path) if manifest_path else None
        bootstrap = ""
        if image:
            chosen = settings(image, cluster_name, namespace, registrar_image, csi_replicas,
                              kubelet_dir)
            if manifest is not None:
                bosh_bootstrap.check_manifest(manifest, control_group, bootstrap_path is not None)
            theirs = _bootstrap(bootstrap_path) if bootstrap_path else ""
            bootstrap = bosh_bootstrap.merged(theirs, chosen, f"--bootstrap {bootstrap_path}")
        else:
            _nothing_without_image()
        text = bosh_config.ops_file(cluster_name, tag_value, single_profile, control_group,
                                    manifest, bootstrap)
    except (PolicyInputError, DeployInputError) as exc:
        _fail(exc)
    click.echo(text, nl=False)


def _nothing_without_image() -> None:
    """A manifests option without --image would be accepted and ignored: refuse it."""
    for parameter in ("bootstrap_path", "namespace", "registrar_image", "csi_replicas",
                      "kubelet_dir"):
        if given(parameter):
            flag = "--" + parameter.removesuffix("_path").replace("_", "-")
            raise PolicyInputError(f"{flag} is only for --image (the manifests in bootstrap)")


def _bootstrap(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise PolicyInputError(f"--bootstrap {path}: {exc.strerror or exc}") from None


def _manifest(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyInputError(f"--manifest {path}: cannot read it as YAML: "
                               f"{str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise PolicyInputError(f"--manifest {path}: not a deployment manifest (a YAML map)")
    return data
