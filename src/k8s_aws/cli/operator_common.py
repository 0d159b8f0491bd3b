"""What the operator's commands share: one readable error line, comma-or-repeat lists."""

from __future__ import annotations

import sys
from typing import NoReturn

import click

from k8s_aws.cloud.doctor_reads import instances
from k8s_aws.cloud.errors import NotConfigured
from k8s_aws.cloud.session import AwsClients
from k8s_aws.config.cluster import AmbiguousCluster, cluster_name_from_tags
from k8s_aws.model.doctor import InstanceFacts


def fail(error: Exception | str, code: int = 2) -> NoReturn:
    """A user mistake or a missing setting: one line, no traceback. Exit 2 for bad input and
    missing configuration (nothing was changed), 1 for a failure while acting."""
    text = str(error).strip()
    click.echo(f"Error: {text.splitlines()[0] if text else type(error).__name__}", err=True)
    sys.exit(code)


def given(parameter: str) -> bool:
    """The user set this option of the running command (not its default): a flag that only
    matters with another one is refused alone instead of being ignored."""
    source = click.get_current_context().get_parameter_source(parameter)
    return source not in (None, click.core.ParameterSource.DEFAULT)


def split_list(*values: str) -> tuple[str, ...]:
    """`a,b` and repeated flags alike, in order, without empties or repeats."""
    items = [item.strip() for value in values for item in value.split(",")]
    return tuple(dict.fromkeys(item for item in items if item))


def resolve_cluster(aws: AwsClients, flag: str, own_instance: str,
                    own: InstanceFacts | None = None) -> tuple[str, str]:
    """The cluster name and where it came from: the flag, else this VM's cluster tag (as
    the controllers find it); NotConfigured when neither says. `own`: this VM's instance
    when the caller has already read it (no second DescribeInstances)."""
    if flag:
        return flag, "--cluster-name"
    if own is None and own_instance:
        own = instances(aws.client("ec2"), [own_instance]).get(own_instance)
    try:
        name = cluster_name_from_tags(own.tags) if own else None
    except AmbiguousCluster as exc:
        raise NotConfigured(str(exc)) from None
    if not name:
        raise NotConfigured("cluster name not resolved: pass --cluster-name (the release's "
                            "cluster.name), or run on a VM tagged kubernetes.io/cluster/<name>")
    return name, f"the tags of this instance {own_instance}"
