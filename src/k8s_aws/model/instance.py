"""An EC2 instance as the node controllers need it, independent of boto3's response shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NewType

from k8s_aws.model.tags import Tagged

InstanceId = NewType("InstanceId", str)


@dataclass(frozen=True)
class InterfaceRecord:
    device_index: int
    private_ipv4s: tuple[str, ...]  # primary first
    ipv6s: tuple[str, ...] = ()


@dataclass(frozen=True)
class InstanceRecord(Tagged):
    id: InstanceId
    state: str
    instance_type: str
    zone: str
    private_dns: str = ""
    public_dns: str = ""
    public_ipv4: str = ""
    interfaces: tuple[InterfaceRecord, ...] = ()
    tags: tuple[tuple[str, str], ...] = field(default=())
    vpc_id: str = ""
    security_groups: tuple[str, ...] = ()
    # (device name, volume id) of the block device mappings; the root device's name.
    block_devices: tuple[tuple[str, str], ...] = field(default=())
    root_device: str = ""
