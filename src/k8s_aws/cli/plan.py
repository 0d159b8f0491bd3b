"""`k8s-aws plan`: the AWS actions a reconcile of each LoadBalancer Service would take now,
computed from a fresh look at AWS and applied nowhere."""

from __future__ import annotations

import asyncio
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import click

from k8s_aws.cli.controller_manager import load_cloud_config
from k8s_aws.cloud.errors import CloudError
from k8s_aws.cloud.instances import InstanceDirectory
from k8s_aws.cloud.lb_observer import LoadBalancerObserver
from k8s_aws.cloud.network import NetworkDirectory
from k8s_aws.cloud.nlb_observer import NetworkLoadBalancerReader
from k8s_aws.cloud.runner import Runner
from k8s_aws.cloud.session import AwsClients
from k8s_aws.controllers.bootstrap import resolve_aws
from k8s_aws.controllers.service_inputs import observe_and_plan
from k8s_aws.kube.client import api_client, node_lister
from k8s_aws.kube.informer import list_objects
from k8s_aws.kube.services import service_lister
from k8s_aws.loadbalancer.service import FINALIZER, ServiceView
from k8s_aws.loadbalancer.service_plan import PlannerSettings, ServicePlan


def render(key: str, planned: ServicePlan) -> str:
    lines = [f"{key}: {planned.kind}, {len(planned.plan.actions)} action(s)"]
    for note in planned.notes:
        lines.append(f"  ! {note.reason}: {note.message}")
    for action in planned.plan.to_json():
        details = ", ".join(f"{k}={json.dumps(v, default=list)}" for k, v in action.items()
                            if k != "op")
        lines.append(f"  {action['op']}: {details}")
    return "\n".join(lines)


async def _plans(
    kubeconfig: Path | None, aws: AwsClients, cluster: str, vpc: str,
    namespace: str | None, name: str | None,
) -> dict[str, ServicePlan]:
    with ThreadPoolExecutor(max_workers=8) as executor:
        run = Runner(executor)
        ec2 = aws.client("ec2")
        observer = LoadBalancerObserver(
            aws.client("elb"), ec2, run, cluster, InstanceDirectory(ec2, executor),
            NetworkDirectory(ec2, run), vpc,
            nlb=NetworkLoadBalancerReader(aws.client("elbv2"), run, cluster),
        )
        settings = PlannerSettings(cluster, vpc)
        async with await api_client(kubeconfig) as api:
            services = await list_objects(service_lister(api))
            nodes = await list_objects(node_lister(api))
        chosen = {}
        for key, raw in sorted(services.items()):
            view = ServiceView.of(raw)
            if (namespace and view.namespace != namespace) or (name and view.name != name):
                continue
            if view.type == "LoadBalancer" or FINALIZER in view.finalizers:
                chosen[key] = await observe_and_plan(observer, settings, raw, services, nodes)
        return chosen


@click.command("plan")
@click.argument("service", required=False)
@click.option("--namespace", "-n", default=None, help="Only Services in this namespace.")
@click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--cluster-name", default="")
@click.option("--region", default="")
@click.option("--cloud-config", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
def plan(
    service: str | None, namespace: str | None, kubeconfig: Path | None, cluster_name: str,
    region: str, cloud_config: Path | None, output: str,
) -> None:
    """Show what the service controller would change in AWS now; change nothing."""
    config = load_cloud_config(cloud_config)
    try:
        placement, settings = resolve_aws(region, cluster_name, config, "k8s-aws-plan")
        aws = AwsClients(settings)
        plans = asyncio.run(_plans(kubeconfig, aws, placement.cluster_name, config.vpc,
                                   namespace, service))
    except CloudError as exc:
        raise click.ClickException(str(exc)) from None
    if service and not plans:
        raise click.ClickException(f"no LoadBalancer Service named {service!r}")
    if output == "json":
        document: dict[str, Any] = {
            key: {"kind": p.kind, "actions": p.plan.to_json(), "refusal": p.plan.refusal,
                  "notes": [n.__dict__ for n in p.notes]}
            for key, p in plans.items()
        }
        json.dump(document, sys.stdout, indent=2, default=list)
        sys.stdout.write("\n")
    else:
        click.echo("\n".join(render(k, p) for k, p in plans.items()) or "no LoadBalancer Services")
