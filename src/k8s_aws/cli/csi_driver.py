"""`k8s-aws csi-driver`: flags -> one frozen settings object -> the CSI gRPC server."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import click

from k8s_aws.cloud.errors import NotConfigured
from k8s_aws.cloud.metadata import LocalInstance, read_local_instance
from k8s_aws.cloud.session import AwsSettings
from k8s_aws.host.resolver import SearchDirs
from k8s_aws.support import logs
from k8s_aws.volumes.csi.server import serve
from k8s_aws.volumes.csi.settings import DRIVER_NAME, MODES, DriverSettings

APP_ID = "k8s-aws-csi-driver"


def _socket_path(endpoint: str) -> Path:
    if not endpoint.startswith("unix://"):
        raise click.BadParameter(f"{endpoint!r}: expected unix:///PATH/csi.sock",
                                 param_hint="--endpoint")
    path = endpoint[len("unix://"):]
    if not path.startswith("/"):
        raise click.BadParameter(f"{endpoint!r}: the socket path must be absolute",
                                 param_hint="--endpoint")
    return Path(path)


def _tags(value: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in filter(None, (p.strip() for p in value.split(","))):
        key, sep, tag_value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r}: expected key=value", param_hint="--extra-tags")
        pairs.append((key, tag_value))
    return tuple(pairs)


@click.command("csi-driver")
@click.option("--endpoint", default="unix:///var/lib/csi/sockets/pluginproxy/csi.sock",
              show_default=True, help="unix:///PATH of the CSI socket.")
@click.option("--mode", type=click.Choice(MODES), default="all", show_default=True)
@click.option("--driver-name", default=DRIVER_NAME, show_default=True)
@click.option("--cluster-name", default="", help="Tags volumes kubernetes.io/cluster/<name>.")
@click.option("--region", default="", help="AWS region; else AWS_REGION, else IMDS.")
@click.option("--node-id", default="", help="This node's instance id; else IMDS.")
@click.option("--zone", default="", help="Zone for volumes without topology; else IMDS.")
@click.option("--extra-tags", default="", help="key=value,... added to every volume.")
@click.option("--call-log", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Append every AWS call as a JSON line to this file.")
@click.option("--attach-timeout", type=click.FloatRange(1), default=120.0, show_default=True)
@click.option("--modification-window", type=click.FloatRange(0), default=2.0,
              show_default=True, help="Seconds within which modifications of a volume merge.")
@click.option("--wait-slack", type=click.FloatRange(0), default=1.25, show_default=True,
              help="How late a wait's first look at AWS may come, as a share of the time"
                   " such waits took recently: more shares more DescribeVolumes, answers"
                   " later.")
@click.option("--device-by-id-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("/dev/disk/by-id"), show_default=True,
              help="Where the node finds nvme-Amazon_Elastic_Block_Store_vol* links.")
@click.option("--device-dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("/dev"), show_default=True,
              help="Where the node finds attached devices by name (xvdaa, sdf...).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", show_default=True)
def csi_driver(*, endpoint: str, mode: str, driver_name: str, cluster_name: str, region: str,
               node_id: str, zone: str, extra_tags: str, call_log: Path | None,
               attach_timeout: float, modification_window: float, wait_slack: float,
               device_by_id_dir: Path,
               device_dir: Path, log_level: str) -> None:
    """The EBS CSI driver (controller and node services over gRPC)."""
    socket_path = _socket_path(endpoint)
    tags = _tags(extra_tags)
    logs.configure(log_level)
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "")
    local: LocalInstance | None = None
    # The controller needs a region (and a default zone) now; the node service reads IMDS
    # itself, retrying, and never exits for want of it.
    if mode != "node" and not (region and zone):
        try:
            local = read_local_instance()
        except NotConfigured as exc:
            if not region:
                raise click.ClickException(f"--region not set, and {exc}") from None
    settings = DriverSettings(
        socket_path=socket_path,
        mode=mode,
        driver_name=driver_name,
        cluster_name=cluster_name,
        node_id=node_id,
        zone=zone or (local.zone if local else ""),
        device_dirs=SearchDirs(by_id=device_by_id_dir, dev=device_dir),
        aws=AwsSettings(region=region or (local.region if local else ""), app_id=APP_ID),
        extra_tags=tags,
        call_log=call_log,
        attach_timeout=attach_timeout,
        modification_window=modification_window,
        wait_slack=wait_slack,
    )
    raise SystemExit(asyncio.run(serve(settings)))
