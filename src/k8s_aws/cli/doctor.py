"""`k8s-aws doctor`: one PASS / WARN / FAIL line per check of the set-up, the fix under each
FAIL; exit 1 on any FAIL. Changes nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import click

from k8s_aws.cli.doctor_facts import Gathered, gather
from k8s_aws.cli.operator_common import fail
from k8s_aws.cloud.errors import CloudError
from k8s_aws.cloud.operations import FEATURES
from k8s_aws.cloud.operator_session import operator_clients, resolve_region
from k8s_aws.model.doctor import Check, Status
from k8s_aws.ops import doctor_checks as aws_checks
from k8s_aws.ops.doctor_cluster import csi_checks, node_checks
from k8s_aws.ops.iam_policy import PolicyInputError, PolicyRequest, generate, validate_cluster_name


def _controller_profile(found: Gathered, profile: str) -> str:
    """--profile, else this VM's (on a control VM), else the control Nodes' instances'."""
    if profile:
        return profile
    candidates = [found.aws.instances.get(found.aws.imds)] if found.aws.imds else []
    if found.cluster:
        candidates += [found.aws.instances.get(found.node_instances.get(n.name, ""))
                       for n in found.cluster.nodes if n.control]
    arns = [i.profile_arn for i in candidates if i is not None and i.profile_arn]
    return arns[0].rsplit("/", 1)[-1] if arns else ""


def checks(found: Gathered, profile: str, features: tuple[str, ...]) -> list[Check]:
    facts = found.aws
    result = aws_checks.identity_checks(facts)
    result += aws_checks.instance_tag_checks(facts, found.node_instances)
    result += aws_checks.subnet_checks(
        facts, {i.zone for n, i_id in found.node_instances.items()
                if (i := facts.instances.get(i_id)) is not None})
    chosen = _controller_profile(found, profile)
    if chosen:
        wanted = generate(PolicyRequest(facts.cluster, features=features))
        result.append(aws_checks.policy_check(facts, chosen, wanted))
    else:
        result.append(Check("controller-policy", Status.WARN, "no controllers' profile found "
                            "(not on a control VM, no control Node): pass --profile NAME"))
    if found.cluster is None:
        result.append(Check("cluster", Status.WARN, "no --kubeconfig: Node, CSI and worker "
                            "checks skipped"))
        return [*result, aws_checks.disk_check(facts)]
    if found.cluster.error:
        result.append(Check("cluster", Status.FAIL, found.cluster.error,
                            "pass a --kubeconfig whose API server is reachable"))
        return [*result, aws_checks.disk_check(facts)]
    result += node_checks(found.cluster)
    result += csi_checks(found.cluster)
    workers = [facts.instances[found.node_instances[n.name]] for n in found.cluster.nodes
               if not n.control and found.node_instances.get(n.name) in facts.instances]
    result += aws_checks.worker_checks(facts, workers)
    return [*result, aws_checks.disk_check(facts)]


@click.command("doctor")
@click.option("--cluster-name", default="", help="Else the kubernetes.io/cluster/<name> tag of "
              "this instance.")
@click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The cluster's kubeconfig: Node, CSI and worker checks need it.")
@click.option("--profile", default="", help="The controllers' instance profile [default: this "
              "VM's, else the control Nodes' VMs'].")
@click.option("--features", default=",".join(FEATURES), show_default=True,
              help="Features the controllers run (what their policy must grant).")
@click.option("--region", default="", help="AWS region; else AWS_REGION, else IMDS.")
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def doctor(cluster_name: str, kubeconfig: Path | None, profile: str, features: str, region: str,
           output: str) -> None:
    """Check every requirement of the set-up; exit 1 on any FAIL."""
    chosen = tuple(f.strip() for f in features.split(",") if f.strip())
    try:
        if cluster_name:
            validate_cluster_name(cluster_name)
        generate(PolicyRequest(cluster_name or "x", features=chosen))  # --features
        where, source = resolve_region(region)
        aws = operator_clients(where, "doctor")
        found = gather(aws, where, cluster_name, kubeconfig, profile)
    except (PolicyInputError, CloudError) as exc:
        fail(exc)
    found = replace(found, aws=replace(found.aws, region_source=source))
    results = checks(found, profile, chosen)
    if output == "json":
        click.echo(json.dumps({"checks": [c.to_json() for c in results]}, indent=2))
    else:
        for check in results:
            click.echo(f"{check.status.value} {check.name}: {check.message}")
            if check.fix:
                click.echo(f"     fix: {check.fix}")
    if any(c.status is Status.FAIL for c in results):
        raise SystemExit(1)
