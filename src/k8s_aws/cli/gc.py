"""`k8s-aws gc`: what the cluster created in AWS and no longer owns. A dry run by default."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import click

from k8s_aws.cli.operator_common import fail, given, resolve_cluster
from k8s_aws.cloud.errors import CloudError, NotConfigured
from k8s_aws.cloud.gc_delete import Deleted, delete_all
from k8s_aws.cloud.gc_inventory import inventory
from k8s_aws.cloud.metadata import read_local_instance
from k8s_aws.cloud.operator_session import operator_clients, resolve_region
from k8s_aws.kube.cluster_reads import read_owners
from k8s_aws.kube.errors import KubeError
from k8s_aws.model.gc import ClusterOwners, Leak
from k8s_aws.ops.gc_plan import find_leaks, owners_of, to_delete
from k8s_aws.ops.iam_policy import PolicyInputError, validate_cluster_name


def _own_instance() -> str:
    try:
        return read_local_instance().instance_id
    except NotConfigured:
        return ""


def _owners(kubeconfig: Path | None, cluster_gone: bool) -> ClusterOwners | None:
    if cluster_gone:
        return None
    if kubeconfig is None:
        raise PolicyInputError("pass --kubeconfig FILE to compare with the cluster, or "
                               "--cluster-gone after the cluster was deleted")
    objects = asyncio.run(read_owners(kubeconfig))
    return owners_of(objects.services, objects.persistent_volumes,
                     objects.snapshot_contents or [])


def _line(leak: Leak) -> str:
    found = leak.found
    name = f" ({found.name})" if found.name and found.name != found.id else ""
    note = f"  [{leak.note}]" if leak.note else ""
    return f"{found.kind.value} {found.id}{name} of {leak.owner}{note}"


def _json(leaks: list[Leak], results: list[Deleted]) -> str:
    outcome = {(r.found.kind, r.found.id, r.found.group): r.outcome for r in results}
    items: list[dict[str, Any]] = [
        {"kind": leak.found.kind.value, "id": leak.found.id, "name": leak.found.name,
         "group": leak.found.group, "owner": leak.owner, "data": leak.found.kind.is_data,
         "note": leak.note,
         "result": outcome.get((leak.found.kind, leak.found.id, leak.found.group), "")}
        for leak in leaks
    ]
    return json.dumps({"leaked": items}, indent=2)


@click.command("gc")
@click.option("--cluster-name", default="", help="The release's cluster.name [default: the "
              "kubernetes.io/cluster/<name> tag of this instance].")
@click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The cluster's kubeconfig: resources whose owner still exists are kept.")
@click.option("--cluster-gone", is_flag=True,
              help="The cluster was deleted (bosh delete-deployment): everything ours is leaked.")
@click.option("--delete", "delete", is_flag=True, help="Delete what is listed (else a dry run).")
@click.option("--include-volumes", is_flag=True,
              help="Also delete leaked volumes and snapshots (may be data someone kept).")
@click.option("--wait", type=click.FloatRange(0), default=300.0, show_default=True,
              help="Seconds to keep retrying a group still in use by a deleted LB.")
@click.option("--region", default="", help="AWS region; else AWS_REGION, else IMDS.")
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def gc(cluster_name: str, kubeconfig: Path | None, cluster_gone: bool, delete: bool,
       include_volumes: bool, wait: float, region: str, output: str) -> None:
    """List (and with --delete remove) the AWS resources this cluster created and no longer
    owns: cluster tag `owned` AND one of our identity tags, never `shared`."""
    try:
        if cluster_name:
            validate_cluster_name(cluster_name)
        if kubeconfig is not None and cluster_gone:
            raise PolicyInputError("--kubeconfig and --cluster-gone exclude each other")
        if not delete and given("wait"):
            raise PolicyInputError("--wait is only for --delete: a dry run deletes nothing "
                                   "and waits for nothing")
        aws = operator_clients(resolve_region(region)[0], "gc")
        cluster_name, _ = resolve_cluster(aws, cluster_name, _own_instance())
        owners = _owners(kubeconfig, cluster_gone)
        ec2, elb, elbv2 = aws.client("ec2"), aws.client("elb"), aws.client("elbv2")
        leaks = find_leaks(inventory(ec2, elb, elbv2, cluster_name), cluster_name, owners)
    except (PolicyInputError, CloudError, KubeError) as exc:
        fail(exc)
    chosen = to_delete(leaks, include_volumes)
    if output == "text":
        _print(leaks, delete, include_volumes)

    def report(result: Deleted) -> None:
        if output == "text":
            click.echo(f"{result.outcome}: {result.found.kind.value} {result.found.id}")

    found = [c.found for c in chosen]
    results = delete_all(ec2, elb, elbv2, cluster_name, found, wait, report) if delete else []
    if output == "json":
        click.echo(_json(leaks, results))
    if any(r.outcome.startswith("failed") for r in results):
        raise SystemExit(1)


def _print(leaks: list[Leak], delete: bool, include_volumes: bool) -> None:
    resources = [leak for leak in leaks if not leak.found.kind.is_data]
    data = [leak for leak in leaks if leak.found.kind.is_data]
    click.echo(f"leaked resources: {len(resources)}")
    for leak in resources:
        click.echo(f"  {_line(leak)}")
    click.echo(f"leaked volumes and snapshots (kept unless --include-volumes): {len(data)}")
    for leak in data:
        click.echo(f"  {_line(leak)}")
    if not delete:
        more = "" if include_volumes or not data else " --include-volumes"
        click.echo(f"dry run: nothing deleted; rerun with --delete{more} to delete")
