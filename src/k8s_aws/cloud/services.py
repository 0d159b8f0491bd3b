"""The cloud services the CSI driver uses, as Protocols: the boto3-backed classes of cloud/
implement them, and unit tests may put in-memory fakes (tests/fakes/) in their place.

Every method raises only our errors (cloud/errors.py). A fake must behave as the real one
does, error kinds included: tests/fidelity/test_ebs_contract.py runs the same cases
against both.
"""

from __future__ import annotations

from typing import Protocol

from k8s_aws.cloud.ebs import CreateRequest
from k8s_aws.model.instance import InstanceId, InstanceRecord
from k8s_aws.model.volume import (
    InstanceTypeRecord,
    ModificationRecord,
    SnapshotRecord,
    VolumeRecord,
)


class VolumeService(Protocol):
    """EBS volumes: reads (a gone volume is None), create by client token, attach, modify."""

    async def get(self, volume_id: str) -> VolumeRecord | None: ...

    async def find_by_name(self, name: str) -> VolumeRecord | None: ...

    async def create(self, request: CreateRequest) -> VolumeRecord: ...

    async def delete(self, volume_id: str) -> bool: ...

    async def attach(self, volume_id: str, instance_id: str, device: str) -> str: ...

    async def detach(self, volume_id: str, instance_id: str) -> None: ...

    async def modify(self, volume_id: str, size_gib: int | None = None,
                     volume_type: str | None = None, iops: int | None = None,
                     throughput: int | None = None) -> ModificationRecord: ...

    async def modification(self, volume_id: str) -> ModificationRecord | None: ...

    async def instance_type(self, name: str) -> InstanceTypeRecord: ...


class SnapshotService(Protocol):
    async def get(self, snapshot_id: str) -> SnapshotRecord | None: ...

    async def find_by_name(self, name: str) -> SnapshotRecord | None: ...

    async def list_ours(self) -> list[SnapshotRecord]: ...

    async def create(self, volume_id: str, tags: dict[str, str]) -> SnapshotRecord: ...

    async def delete(self, snapshot_id: str) -> bool: ...


class InstanceLookup(Protocol):
    """Instances by id, from a cache at most `max_age` seconds old (0: read now)."""

    async def get(self, instance_id: InstanceId,
                  max_age: float | None = None) -> InstanceRecord | None: ...

    def forget(self, instance_id: InstanceId | str) -> None: ...
