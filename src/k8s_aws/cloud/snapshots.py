"""EBS snapshots for the CSI driver: create, delete, batched describe by id and by
`CSIVolumeSnapshotName`, and the list of the driver's snapshots."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from k8s_aws.cloud.errors import NotFound
from k8s_aws.cloud.runner import Runner
from k8s_aws.model.volume import SnapshotId, SnapshotRecord
from k8s_aws.support.batcher import Batcher

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import FilterTypeDef, SnapshotTypeDef

NAME_TAG = "CSIVolumeSnapshotName"
MAX_BATCH = 200


def snapshot_record(raw: Mapping[str, Any]) -> SnapshotRecord:
    started = raw.get("StartTime")
    return SnapshotRecord(
        id=SnapshotId(raw["SnapshotId"]),
        volume_id=raw.get("VolumeId", ""),
        state=raw.get("State", ""),
        size_gib=int(raw.get("VolumeSize", 0)),
        created=started.timestamp() if started is not None else 0.0,
        tags=tuple((t["Key"], t["Value"]) for t in raw.get("Tags", [])),
    )


class EbsSnapshots:
    def __init__(self, ec2: EC2Client, executor: ThreadPoolExecutor, batch_idle: float = 0.05,
                 batch_max_wait: float = 0.5) -> None:
        self._ec2 = ec2
        self._run = Runner(executor)
        self._by_id: Batcher[str, SnapshotRecord] = Batcher(
            self._describe_ids, MAX_BATCH, batch_idle, batch_max_wait)
        self._by_name: Batcher[str, SnapshotRecord] = Batcher(
            self._describe_names, MAX_BATCH, batch_idle, batch_max_wait)

    async def describe(self, filters: list[FilterTypeDef]) -> list[SnapshotRecord]:
        def run() -> list[SnapshotTypeDef]:
            pages = self._ec2.get_paginator("describe_snapshots").paginate(
                OwnerIds=["self"], Filters=filters)
            return [s for page in pages for s in page["Snapshots"]]

        raw = await self._run("ec2", "DescribeSnapshots", run)
        return [snapshot_record(s) for s in raw]

    async def _describe_ids(self, ids: list[str]) -> dict[str, SnapshotRecord]:
        valid = [i for i in ids if i.startswith("snap-")]
        if not valid:
            return {}
        found = await self.describe([{"Name": "snapshot-id", "Values": valid}])
        return {s.id: s for s in found}

    async def _describe_names(self, names: list[str]) -> dict[str, SnapshotRecord]:
        found = await self.describe([{"Name": f"tag:{NAME_TAG}", "Values": names}])
        return {s.tag(NAME_TAG) or "": s for s in found}

    async def get(self, snapshot_id: str) -> SnapshotRecord | None:
        return await self._by_id.get(snapshot_id)

    async def find_by_name(self, name: str) -> SnapshotRecord | None:
        return await self._by_name.get(name)

    async def list_ours(self) -> list[SnapshotRecord]:
        return await self.describe([{"Name": "tag-key", "Values": [NAME_TAG]}])

    async def create(self, volume_id: str, tags: dict[str, str]) -> SnapshotRecord:
        raw = await self._run("ec2", "CreateSnapshot", lambda: self._ec2.create_snapshot(
            VolumeId=volume_id,
            TagSpecifications=[{"ResourceType": "snapshot",
                                "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
        ))
        return snapshot_record(raw)

    async def delete(self, snapshot_id: str) -> bool:
        try:
            await self._run("ec2", "DeleteSnapshot",
                       lambda: self._ec2.delete_snapshot(SnapshotId=snapshot_id))
        except NotFound:
            return False
        return True
