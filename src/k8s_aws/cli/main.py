"""The `k8s-aws` command."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

import click

from k8s_aws import __version__
from k8s_aws.support import netguard

# Each command's module is imported only when that command runs: the controller-manager
# process then never loads the CSI driver's gRPC and protobuf stack, the sandbox's
# cryptography or the planner's printers (about 25 MB of RSS; see docs/benchmarks.md).
# Commands of other distributions (the sandbox's) come from the `k8s_aws.commands` entry points.
COMMANDS = {
    "bosh": "k8s_aws.cli.operator:bosh",
    "controller-manager": "k8s_aws.cli.controller_manager:controller_manager",
    "csi-driver": "k8s_aws.cli.csi_driver:csi_driver",
    "deploy": "k8s_aws.cli.deploy:deploy",
    "doctor": "k8s_aws.cli.doctor:doctor",
    "gc": "k8s_aws.cli.gc:gc",
    "iam-policy": "k8s_aws.cli.operator:iam_policy",
    "plan": "k8s_aws.cli.plan:plan",
    "setup": "k8s_aws.cli.setup:setup",
}


PLUGIN_GROUP = "k8s_aws.commands"
# Commands another distribution provides, and the one to install for each.
PLUGIN_PACKAGES = {"sandbox": "k8s-aws-sandbox"}


def _plugins() -> dict[str, str]:
    return {ep.name: ep.value for ep in entry_points(group=PLUGIN_GROUP)}


class LazyGroup(click.Group):
    """A group whose subcommands are imported by name, on use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *_plugins()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name) or _plugins().get(cmd_name)
        if target is None:
            package = PLUGIN_PACKAGES.get(cmd_name)
            if package is not None:
                raise click.ClickException(
                    f"'k8s-aws {cmd_name}' comes with the {package} package, which is not "
                    f"installed here: pip install {package}"
                )
            return None
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(version=__version__, prog_name="k8s-aws")
def cli() -> None:
    """AWS integration for self-managed Kubernetes on EC2."""


def main() -> None:
    # K8S_AWS_LOOPBACK_ONLY=1 refuses any connection off 127.0.0.0/8 (sandbox and tests).
    netguard.install_if_requested()
    cli()


if __name__ == "__main__":
    main()
