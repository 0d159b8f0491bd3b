"""`k8s-aws controller-manager`: flags -> one frozen settings object -> run."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import uuid
from pathlib import Path

import click

from k8s_aws.cloud.errors import CloudError
from k8s_aws.config.cloudconfig import (
    CloudConfig,
    CloudConfigError,
    ignored_settings,
    parse_cloud_config,
)
from k8s_aws.controllers.bootstrap import resolve_aws
from k8s_aws.controllers.manager import ControllerManager
from k8s_aws.controllers.settings import (
    ControllerManagerSettings,
    InvalidControllers,
    parse_controllers,
)
from k8s_aws.kube.leader import LeaderElectionSettings
from k8s_aws.support import logs

CLUSTER_NAME_PATTERN = r"^[a-zA-Z][a-zA-Z0-9._-]*$"


def _bind_address(value: str) -> tuple[str, int | None]:
    if value == "0":
        return "", None
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise click.BadParameter(
            f"{value!r}: expected HOST:PORT (e.g. 127.0.0.1:10258) or 0 to disable",
            param_hint="--metrics-bind-address",
        )
    return host or "0.0.0.0", int(port)


def load_cloud_config(path: Path | None) -> CloudConfig:
    if path is None:
        return CloudConfig()
    try:
        return parse_cloud_config(path.read_text())
    except OSError as exc:
        raise click.ClickException(f"--cloud-config {path}: {exc.strerror}") from None
    except CloudConfigError as exc:
        raise click.ClickException(f"--cloud-config {path}: {exc}") from None


@click.command("controller-manager")
@click.option("--cluster-name", default="",
              help="Cluster name (the kubernetes.io/cluster/<name> tag).")
@click.option("--kubeconfig", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Kubeconfig; in-cluster service account when omitted.")
@click.option("--cloud-config", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The reference provider's cloud config ([Global], [ServiceOverride \"N\"]).")
@click.option("--region", default="", help="AWS region; else the cloud config, else IMDS.")
@click.option("--controllers", "controllers_spec", default="*", show_default=True,
              help="Controllers to run: *, names, -name to disable.")
@click.option("--leader-elect/--no-leader-elect", default=True, show_default=True)
@click.option("--leader-elect-lease-duration", type=click.IntRange(1), default=15,
              show_default=True)
@click.option("--leader-elect-renew-deadline", type=click.FloatRange(1), default=10.0,
              show_default=True)
@click.option("--leader-elect-retry-period", type=click.FloatRange(1), default=2.0,
              show_default=True)
@click.option("--leader-elect-resource-name", default="k8s-aws-controller-manager",
              show_default=True)
@click.option("--leader-elect-resource-namespace", default="kube-system", show_default=True)
@click.option("--metrics-bind-address", default="127.0.0.1:10258", show_default=True,
              help="HOST:PORT for /healthz, /readyz and /metrics; 0 disables.")
@click.option("--call-log", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Append every AWS call as a JSON line to this file.")
@click.option("--node-monitor-period", type=click.FloatRange(0.1), default=5.0,
              show_default=True, help="Seconds between looks at NotReady nodes.")
@click.option("--service-drift-period", type=click.FloatRange(1), default=600.0,
              show_default=True,
              help="Seconds between whole-fleet drift checks of load balancers (SIGUSR1: now).")
@click.option("--workers", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", show_default=True)
def controller_manager(
    *,
    cluster_name: str, kubeconfig: Path | None, cloud_config: Path | None, region: str,
    controllers_spec: str, leader_elect: bool, leader_elect_lease_duration: int,
    leader_elect_renew_deadline: float, leader_elect_retry_period: float,
    leader_elect_resource_name: str, leader_elect_resource_namespace: str,
    metrics_bind_address: str, call_log: Path | None, node_monitor_period: float,
    service_drift_period: float, workers: int, log_level: str,
) -> None:
    """The external cloud controller manager: nodes and Services of type LoadBalancer."""
    if cluster_name and not re.match(CLUSTER_NAME_PATTERN, cluster_name):
        raise click.BadParameter(f"{cluster_name!r} must match {CLUSTER_NAME_PATTERN}",
                                 param_hint="--cluster-name")
    if leader_elect_renew_deadline >= leader_elect_lease_duration:
        raise click.BadParameter("must be shorter than --leader-elect-lease-duration",
                                 param_hint="--leader-elect-renew-deadline")
    if leader_elect_renew_deadline <= 1.2 * leader_elect_retry_period:
        raise click.BadParameter("must be more than 1.2 x --leader-elect-retry-period",
                                 param_hint="--leader-elect-renew-deadline")
    try:
        controllers = parse_controllers(controllers_spec)
    except InvalidControllers as exc:
        raise click.ClickException(str(exc)) from None
    metrics_host, metrics_port = _bind_address(metrics_bind_address)
    config = load_cloud_config(cloud_config)
    logs.configure(log_level)
    for reason in ignored_settings(config):
        logging.getLogger("k8s_aws.cloudconfig").warning("cloud config key not acted on: %s",
                                                          reason)
    try:
        placement, aws = resolve_aws(region, cluster_name, config, "k8s-aws-controller-manager")
    except CloudError as exc:
        raise click.ClickException(str(exc)) from None
    settings = ControllerManagerSettings(
        cluster_name=placement.cluster_name,
        region=placement.region,
        kubeconfig=kubeconfig,
        controllers=controllers,
        aws=aws,
        identity=f"{socket.gethostname()}_{uuid.uuid4()}",
        leader_elect=leader_elect,
        leader=LeaderElectionSettings(
            name=leader_elect_resource_name,
            namespace=leader_elect_resource_namespace,
            lease_duration=leader_elect_lease_duration,
            renew_deadline=leader_elect_renew_deadline,
            retry_period=leader_elect_retry_period,
        ),
        metrics_host=metrics_host,
        metrics_port=metrics_port,
        call_log=call_log,
        ip_families=config.node_ip_families,
        workers=workers,
        node_monitor_period=node_monitor_period,
        vpc_id=config.vpc,
        service_drift_period=service_drift_period,
    )
    raise SystemExit(asyncio.run(ControllerManager(settings).run()))
