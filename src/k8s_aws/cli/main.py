"""The `k8s-aws` command."""

from __future__ import annotations

import importlib

import click

from k8s_aws.support import netguard

# Each command's module is imported only when that command runs: the controller-manager
# process then never loads the CSI driver's gRPC and protobuf stack, the sandbox's
# cryptography or the planner's printers (about 25 MB of RSS; see docs/benchmarks.md).
COMMANDS = {
    "bosh": "k8s_aws.cli.operator:bosh",
    "controller-manager": "k8s_aws.cli.controller_manager:controller_manager",
    "csi-driver": "k8s_aws.cli.csi_driver:csi_driver",
    "deploy": "k8s_aws.cli.deploy:deploy",
    "doctor": "k8s_aws.cli.doctor:doctor",
    "gc": "k8s_aws.cli.gc:gc",
    "iam-policy": "k8s_aws.cli.operator:iam_policy",
    "plan": "k8s_aws.cli.plan:plan",
    "sandbox": "k8s_aws.cli.sandbox:sandbox",
    "setup": "k8s_aws.cli.setup:setup",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported by name, on use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="k8s-aws")
def cli() -> None:
    """AWS integration for self-managed Kubernetes on EC2."""


def main() -> None:
    # K8S_AWS_LOOPBACK_ONLY=1 refuses any connection off 127.0.0.0/8 (sandbox and tests).
    netguard.install_if_requested()
    cli()


if __name__ == "__main__":
    main()
