"""EBS volumes, attachments and snapshots as the CSI driver needs them, independent of
boto3's response shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NewType

from k8s_aws.model.tags import Tagged

VolumeId = NewType("VolumeId", str)
SnapshotId = NewType("SnapshotId", str)


@dataclass(frozen=True)
class AttachmentRecord:
    instance_id: str
    device: str
    state: str  # attaching | attached | detaching | detached


@dataclass(frozen=True)
class VolumeRecord(Tagged):
    id: VolumeId
    state: str  # creating | available | in-use | deleting | deleted | error
    size_gib: int
    zone: str
    volume_type: str
    iops: int = 0
    throughput: int = 0
    encrypted: bool = False
    snapshot_id: str = ""
    attachments: tuple[AttachmentRecord, ...] = ()
    tags: tuple[tuple[str, str], ...] = field(default=())

    def attachment_to(self, instance_id: str) -> AttachmentRecord | None:
        return next((a for a in self.attachments if a.instance_id == instance_id), None)


@dataclass(frozen=True)
class SnapshotRecord(Tagged):
    id: SnapshotId
    volume_id: str
    state: str  # pending | completed | error
    size_gib: int
    created: float  # Unix seconds
    tags: tuple[tuple[str, str], ...] = field(default=())


@dataclass(frozen=True)
class ModificationRecord:
    volume_id: VolumeId
    state: str  # modifying | optimizing | completed | failed
    target_size_gib: int
    target_type: str = ""
    target_iops: int = 0
    target_throughput: int = 0


@dataclass(frozen=True)
class InstanceTypeRecord:
    """What limits EBS attachments on a type (DescribeInstanceTypes EbsInfo)."""

    name: str
    max_attachments: int  # 0: unknown
    shared_with_interfaces: bool  # AttachmentLimitType "shared" (most Nitro types)
