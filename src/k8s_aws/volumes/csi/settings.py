"""The driver's one frozen settings object, built by the CLI."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from k8s_aws.cloud.session import AwsSettings
from k8s_aws.host.resolver import SearchDirs

DRIVER_NAME = "ebs.csi.aws.com"
MODES = ("controller", "node", "all")


@dataclass(frozen=True)
class DriverSettings:
    socket_path: Path
    mode: str
    aws: AwsSettings
    driver_name: str = DRIVER_NAME
    cluster_name: str = ""
    node_id: str = ""  # EC2 instance id (IMDS or --node-id)
    zone: str = ""  # where volumes go without topology: the driver's own zone
    instance_type: str = ""
    extra_tags: tuple[tuple[str, str], ...] = ()
    call_log: Path | None = None
    create_timeout: float = 120.0
    attach_timeout: float = 120.0
    modify_timeout: float = 120.0
    # Before re-reading a volume just seen creating/attaching/detaching: an at-once re-read
    # only costs a DescribeVolumes.
    poll_first_wait: float = 0.25
    modification_window: float = 2.0  # modifications of one volume merged within it
    # A wait's first look may come this share of its expected time late (shared ticks).
    wait_slack: float = 1.25
    refused_modification_backoff: float = 300.0  # no AWS call for that long after a refusal
    workers: int = 16
    device_dirs: SearchDirs = field(default_factory=SearchDirs)  # where the node looks
    imds_retry_max: float = 60.0  # back-off ceiling while IMDS does not answer

    @property
    def controller(self) -> bool:
        return self.mode in ("controller", "all")

    @property
    def node(self) -> bool:
        return self.mode in ("node", "all")
