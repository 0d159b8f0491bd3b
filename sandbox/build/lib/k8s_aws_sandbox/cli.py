"""`k8s-aws sandbox up|status|down`."""

from __future__ import annotations

import re
from pathlib import Path

import click

from k8s_aws.support.deadline import DeadlineExceeded
from k8s_aws_sandbox import binaries
from k8s_aws_sandbox.control import down, status
from k8s_aws_sandbox.layout import NODE_NAMING
from k8s_aws_sandbox.summary import summary
from k8s_aws_sandbox.up import SandboxError, SandboxOptions, up

DEFAULT_DIR = Path(".sandbox")
CLUSTER_NAME_PATTERN = r"^[a-zA-Z][a-zA-Z0-9._-]*$"

dir_option = click.option(
    "--dir",
    "directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DIR,
    show_default=True,
    help="Directory holding the sandbox's state, logs, kubeconfig and aws.env.",
)


@click.group()
def sandbox() -> None:
    """A whole cluster on this machine: Kubernetes, emulated AWS, IMDS and fake nodes."""


@sandbox.command("up")
@click.option("--nodes", type=click.IntRange(0, 5000), default=3, show_default=True)
@dir_option
@click.option("--region", default="us-west-2", show_default=True)
@click.option("--cluster-name", default="sandbox", show_default=True)
@click.option("--ready-timeout", type=click.FloatRange(1), default=180.0, show_default=True)
@click.option("--without-controllers", is_flag=True,
              help="Start no k8s-aws controller (to run one by hand).")
@click.option("--iam-enforcement", is_flag=True,
              help="Have the emulator enforce IAM: controllers hold only the generated policy.")
@click.option("--node-naming", type=click.Choice(NODE_NAMING), default=NODE_NAMING[0],
              show_default=True,
              help="bosh: the BOSH release's <instance id>.k8s Nodes, control VM included; "
                   "private-dns: worker Nodes named by private DNS, with their node IP.")
def up_command(
    nodes: int, directory: Path, region: str, cluster_name: str, ready_timeout: float,
    without_controllers: bool, iam_enforcement: bool, node_naming: str,
) -> None:
    """Build what is missing, start everything, return once all nodes are Ready."""
    if not re.match(CLUSTER_NAME_PATTERN, cluster_name):
        raise click.BadParameter(
            f"{cluster_name!r} must match {CLUSTER_NAME_PATTERN}", param_hint="--cluster-name"
        )
    options = SandboxOptions(
        dir=directory, nodes=nodes, region=region, cluster=cluster_name,
        ready_timeout=ready_timeout, controllers=not without_controllers,
        iam_enforcement=iam_enforcement, node_naming=node_naming,
    )
    try:
        state = up(options)
    except (SandboxError, binaries.BuildError, DeadlineExceeded) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(summary(state))


@sandbox.command("status")
@dir_option
def status_command(directory: Path) -> None:
    """Show which sandbox processes run and how many nodes are Ready; exit 1 if unhealthy."""
    current = status(directory)
    if not current.processes:
        raise click.ClickException(f"no sandbox in {directory}")
    for name, alive in current.processes.items():
        click.echo(f"{name:<24} {'running' if alive else 'DEAD'}")
    ready = "API server not answering" if current.ready_nodes is None else current.ready_nodes
    click.echo(f"{'nodes Ready':<24} {ready}/{current.total_nodes}")
    if not current.healthy:
        raise SystemExit(1)


@sandbox.command("down")
@dir_option
def down_command(directory: Path) -> None:
    """Stop every process the sandbox started, even after a crash of `up`."""
    stopped = down(directory)
    click.echo(f"stopped {len(stopped)} processes" + (f": {', '.join(stopped)}" if stopped else ""))
