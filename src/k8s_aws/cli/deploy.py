"""`k8s-aws deploy manifests`: the in-cluster pieces as one multi-document YAML."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from k8s_aws.cli.operator_common import fail
from k8s_aws.deploy.csi_sidecars import REGISTRAR_IMAGE
from k8s_aws.deploy.inputs import (
    DEFAULT_KUBELET_DIR,
    DEFAULT_NAMESPACE,
    DeployInputError,
    DeploySettings,
)
from k8s_aws.deploy.render import render
from k8s_aws.ops.iam_policy import PolicyInputError, validate_cluster_name

F = TypeVar("F", bound=Callable[..., Any])


class OneLineErrors(click.Command):
    """A bad option value is one line on stderr and exit 2, as every other refusal here
    (click's own would add a usage block)."""

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            fail(exc.format_message())


def image_options(function: F) -> F:
    """The options both `deploy manifests` and `bosh ops-file` render from."""
    for option in reversed([
        click.option("--registrar-image", default=REGISTRAR_IMAGE, show_default=True,
                     help="node-driver-registrar image of the node plugin."),
        click.option("--csi-replicas", type=int, default=2, show_default=True,
                     help="Replicas of the CSI controller and the snapshot-controller."),
        click.option("--kubelet-dir", default=DEFAULT_KUBELET_DIR, show_default=True,
                     help="The kubelet's --root-dir on the nodes."),
    ]):
        function = option(function)
    return function


def settings(image: str, cluster_name: str, namespace: str, registrar_image: str,
             csi_replicas: int, kubelet_dir: str) -> DeploySettings:
    """Checked settings: the release's cluster name rule, then the renderer's own."""
    validate_cluster_name(cluster_name)
    return DeploySettings(image, cluster_name, namespace, registrar_image, csi_replicas,
                          kubelet_dir).checked()


def write_atomically(path: Path, text: str) -> None:
    """All or nothing: a reader never sees half a file, a failure leaves none."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@click.group("deploy")
def deploy() -> None:
    """What runs inside the cluster, rendered for kubectl apply."""


@deploy.command("manifests", cls=OneLineErrors)
@click.option("--image", required=True, help="The k8s-aws image, e.g. REGISTRY/k8s-aws:VERSION.")
@click.option("--cluster-name", required=True, help="The release's cluster.name.")
@click.option("--namespace", default=DEFAULT_NAMESPACE, show_default=True)
@image_options
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to FILE instead of stdout.")
def manifests(image: str, cluster_name: str, namespace: str, registrar_image: str,
              csi_replicas: int, kubelet_dir: str, output: Path | None) -> None:
    """Print the controller-manager, the EBS CSI controller and node plugin, their RBAC,
    the CSIDriver and a gp3 StorageClass as one multi-document YAML."""
    try:
        text = render(settings(image, cluster_name, namespace, registrar_image, csi_replicas,
                               kubelet_dir))
    except (DeployInputError, PolicyInputError) as exc:
        fail(exc)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        write_atomically(output, text)
    except OSError as exc:
        fail(f"-o {output}: {exc.strerror or exc}", code=1)
