"""The driver's one frozen settings object, built by the CLI."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from k8s_aws.cloud.session import AwsSettings

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
    modification_window: float = 2.0  # modifications of one volume merged within it
    refused_modification_backoff: float = 300.0  # no AWS call for that long after a refusal
    reserved_attachments: int = 1  # the root volume
    workers: int = 16

    @property
    def controller(self) -> bool:
        return self.mode in ("controller", "all")

    @property
    def node(self) -> bool:
        return self.mode in ("node", "all")
