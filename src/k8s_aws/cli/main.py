"""The `k8s-aws` command."""

from __future__ import annotations

import click

from k8s_aws.cli.controller_manager import controller_manager
from k8s_aws.cli.csi_driver import csi_driver
from k8s_aws.cli.operator import bosh, iam_policy
from k8s_aws.cli.plan import plan
from k8s_aws.cli.sandbox import sandbox
from k8s_aws.support import netguard


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="k8s-aws")
def cli() -> None:
    """AWS integration for self-managed Kubernetes on EC2."""


cli.add_command(bosh)
cli.add_command(controller_manager)
cli.add_command(iam_policy)
cli.add_command(plan)
cli.add_command(csi_driver)
cli.add_command(sandbox)


def main() -> None:
    # K8S_AWS_LOOPBACK_ONLY=1 refuses any connection off 127.0.0.0/8 (sandbox and tests).
    netguard.install_if_requested()
    cli()


if __name__ == "__main__":
    main()
