"""EBS volumes for the CSI driver: create, batched describes, attach, detach, modify.

Reads by id and by `CSIVolumeName` go through batchers (one DescribeVolumes per up to 500
keys arriving together, filtered so an unknown key is just absent instead of failing the
call). Waits (available after create, attached, detached) share one poller: one
DescribeVolumes per tick covers every volume waiting on any state, and a wait's first look
is scheduled at the completion time learned from recent waits of its kind (`WAIT_KINDS`).
Every record read or answered is remembered (`known`) for callers that may trust a recent
view and re-read on refusal. Every error leaves here translated (errors.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from k8s_aws.cloud.errors import NotFound
from k8s_aws.cloud.runner import Runner
from k8s_aws.model.volume import (
    AttachmentRecord,
    InstanceTypeRecord,
    ModificationRecord,
    VolumeId,
    VolumeRecord,
)
from k8s_aws.support.batcher import Batcher
from k8s_aws.support.poller import Ewma, SharedPoller

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.literals import InstanceTypeType
    from mypy_boto3_ec2.type_defs import FilterTypeDef, VolumeModificationTypeDef, VolumeTypeDef

MAX_VOLUME_BATCH = 500
NAME_TAG = "CSIVolumeName"
# Wait kind -> (first guess, floor, cap) of the seconds until the state changes.
WAIT_KINDS: dict[str, tuple[float, float, float]] = {
    "create": (0.5, 0.1, 5.0), "attach": (0.3, 0.1, 5.0), "detach": (0.3, 0.1, 5.0),
    "other": (0.25, 0.1, 5.0),
}
# A wait's first look may come late by a share of its expected time (`tick_slack`, so waits
# due close together share one DescribeVolumes), at least TICK_LAG_MIN seconds.
TICK_LAG_MIN = 0.1
KNOWN_TTL = 60.0


def volume_record(raw: Mapping[str, Any]) -> VolumeRecord:
    return VolumeRecord(
        id=VolumeId(raw["VolumeId"]),
        state=raw.get("State", ""),
        size_gib=int(raw.get("Size", 0)),
        zone=raw.get("AvailabilityZone", ""),
        volume_type=raw.get("VolumeType", ""),
        iops=int(raw.get("Iops") or 0),
        throughput=int(raw.get("Throughput") or 0),
        encrypted=bool(raw.get("Encrypted")),
        snapshot_id=raw.get("SnapshotId") or "",
        attachments=tuple(
            AttachmentRecord(a.get("InstanceId", ""), a.get("Device", ""), a.get("State", ""))
            for a in raw.get("Attachments", [])
        ),
        tags=tuple((t["Key"], t["Value"]) for t in raw.get("Tags", [])),
    )


@dataclass(frozen=True)
class CreateRequest:
    zone: str
    size_gib: int
    volume_type: str
    tags: dict[str, str]
    client_token: str
    iops: int | None = None
    throughput: int | None = None
    encrypted: bool = False
    kms_key_id: str = ""
    snapshot_id: str = ""


class EbsVolumes:
    def __init__(self, ec2: EC2Client, executor: ThreadPoolExecutor, batch_idle: float = 0.05,
                 batch_max_wait: float = 0.5, tick_slack: float = 1.25) -> None:
        self._ec2 = ec2
        self._known: dict[VolumeId, tuple[float, VolumeRecord]] = {}
        self._poller: SharedPoller[VolumeId, VolumeRecord] = SharedPoller(
            self._describe_ids, lag=TICK_LAG_MIN, max_keys=MAX_VOLUME_BATCH)
        self._slack = tick_slack
        self._expected = {kind: Ewma(*guess) for kind, guess in WAIT_KINDS.items()}
        self._run = Runner(executor)
        self._by_id: Batcher[VolumeId, VolumeRecord] = Batcher(
            self._describe_ids, MAX_VOLUME_BATCH, batch_idle, batch_max_wait)
        self._by_name: Batcher[str, VolumeRecord] = Batcher(
            self._describe_names, MAX_VOLUME_BATCH, batch_idle, batch_max_wait)
        self._types: dict[str, InstanceTypeRecord] = {}
        self._types_lock = asyncio.Lock()

    async def _describe(self, filters: list[FilterTypeDef]) -> list[VolumeRecord]:
        def run() -> list[VolumeTypeDef]:
            pages = self._ec2.get_paginator("describe_volumes").paginate(Filters=filters)
            return [v for page in pages for v in page["Volumes"]]

        records = [volume_record(v) for v in await self._run("ec2", "DescribeVolumes", run)]
        for record in records:
            self._remember(record)
        return records

    def _remember(self, record: VolumeRecord) -> None:
        now = time.monotonic()
        self._known[record.id] = (now, record)
        if len(self._known) > 4 * MAX_VOLUME_BATCH:
            self._known = {k: v for k, v in self._known.items() if now - v[0] <= KNOWN_TTL}

    def known(self, volume_id: str, max_age: float) -> VolumeRecord | None:
        """The volume as last read or answered, if at most `max_age` seconds ago; no call.
        Only for a caller that re-reads (`get`) when AWS refuses what this view suggested."""
        entry = self._known.get(VolumeId(volume_id))
        if entry is None or time.monotonic() - entry[0] > min(max_age, KNOWN_TTL):
            return None
        return entry[1]

    def expected(self, kind: str) -> float:
        """Seconds a wait of this kind is expected to take (learned; for logs and tests)."""
        return self._expected[kind].value

    async def wait(self, volume_id: str, done: Callable[[VolumeRecord | None], bool], *,
                   kind: str, timeout: float, what: str) -> VolumeRecord | None:
        """Until `done(record)` (None: the volume is gone), first looked at when waits of
        `kind` usually end, sharing each DescribeVolumes with every other wait."""
        expected = self._expected[kind]
        return await self._poller.wait(
            VolumeId(volume_id), done, first_wait=expected.value, timeout=timeout, what=what,
            slack=max(TICK_LAG_MIN, self._slack * expected.value), learned=expected.observe)

    async def _describe_ids(self, ids: list[VolumeId]) -> dict[VolumeId, VolumeRecord]:
        # Only well-formed ids reach EC2: a malformed one would fail the whole batch.
        valid = [i for i in ids if i.startswith("vol-")]
        if not valid:
            return {}
        return {v.id: v for v in await self._describe([{"Name": "volume-id", "Values": valid}])}

    async def _describe_names(self, names: list[str]) -> dict[str, VolumeRecord]:
        found: dict[str, VolumeRecord] = {}
        for volume in await self._describe([{"Name": f"tag:{NAME_TAG}", "Values": names}]):
            name = volume.tag(NAME_TAG) or ""
            if volume.state not in ("deleting", "deleted") and name not in found:
                found[name] = volume
        return found

    async def get(self, volume_id: str) -> VolumeRecord | None:
        return await self._by_id.get(VolumeId(volume_id))

    async def find_by_name(self, name: str) -> VolumeRecord | None:
        """The live volume tagged `CSIVolumeName=name` (how a retried create finds its own)."""
        return await self._by_name.get(name)

    async def create(self, request: CreateRequest) -> VolumeRecord:
        params: dict[str, Any] = {
            "AvailabilityZone": request.zone,
            "Size": request.size_gib,
            "VolumeType": request.volume_type,
            "ClientToken": request.client_token,
            "TagSpecifications": [{
                "ResourceType": "volume",
                "Tags": [{"Key": k, "Value": v} for k, v in request.tags.items()],
            }],
        }
        if request.iops is not None:
            params["Iops"] = request.iops
        if request.throughput is not None:
            params["Throughput"] = request.throughput
        if request.encrypted:
            params["Encrypted"] = True
        if request.kms_key_id:
            params["KmsKeyId"] = request.kms_key_id
        if request.snapshot_id:
            params["SnapshotId"] = request.snapshot_id
        raw = await self._run("ec2", "CreateVolume",
                         lambda: self._ec2.create_volume(**params))
        record = volume_record(raw)
        self._remember(record)
        return record

    async def delete(self, volume_id: str) -> bool:
        """False when the volume was already gone."""
        self._known.pop(VolumeId(volume_id), None)
        try:
            await self._run("ec2", "DeleteVolume",
                       lambda: self._ec2.delete_volume(VolumeId=volume_id))
        except NotFound:
            return False
        return True

    async def attach(self, volume_id: str, instance_id: str, device: str) -> str:
        self._known.pop(VolumeId(volume_id), None)
        raw = await self._run("ec2", "AttachVolume", lambda: self._ec2.attach_volume(
            VolumeId=volume_id, InstanceId=instance_id, Device=device))
        return str(raw.get("State", ""))

    async def detach(self, volume_id: str, instance_id: str) -> None:
        self._known.pop(VolumeId(volume_id), None)
        await self._run("ec2", "DetachVolume", lambda: self._ec2.detach_volume(
            VolumeId=volume_id, InstanceId=instance_id))

    async def modify(self, volume_id: str, size_gib: int | None = None,
                     volume_type: str | None = None, iops: int | None = None,
                     throughput: int | None = None) -> ModificationRecord:
        self._known.pop(VolumeId(volume_id), None)
        params: dict[str, Any] = {"VolumeId": volume_id}
        for key, value in (("Size", size_gib), ("VolumeType", volume_type), ("Iops", iops),
                           ("Throughput", throughput)):
            if value is not None:
                params[key] = value
        raw = await self._run("ec2", "ModifyVolume",
                         lambda: self._ec2.modify_volume(**params))
        return _modification(raw["VolumeModification"])

    async def modification(self, volume_id: str) -> ModificationRecord | None:
        def run() -> list[VolumeModificationTypeDef]:
            answer = self._ec2.describe_volumes_modifications(
                Filters=[{"Name": "volume-id", "Values": [volume_id]}])
            return list(answer.get("VolumesModifications", []))

        found = await self._run("ec2", "DescribeVolumesModifications", run)
        latest = sorted(found, key=lambda m: str(m.get("StartTime", "")))
        return _modification(latest[-1]) if latest else None

    async def instance_type(self, name: str) -> InstanceTypeRecord:
        """EBS attachment facts of an instance type; read once (they never change)."""
        async with self._types_lock:
            return await self._instance_type(name)

    async def _instance_type(self, name: str) -> InstanceTypeRecord:
        if name not in self._types:
            raw = await self._run("ec2", "DescribeInstanceTypes",
                             lambda: self._ec2.describe_instance_types(
                                 InstanceTypes=[cast("InstanceTypeType", name)]))
            found = raw.get("InstanceTypes", [])
            ebs = found[0].get("EbsInfo", {}) if found else {}
            self._types[name] = InstanceTypeRecord(
                name=name,
                max_attachments=int(ebs.get("MaximumEbsAttachments", 0) or 0),
                shared_with_interfaces=ebs.get("AttachmentLimitType", "shared") == "shared",
            )
        return self._types[name]


def _modification(raw: Mapping[str, Any]) -> ModificationRecord:
    return ModificationRecord(
        volume_id=VolumeId(raw.get("VolumeId", "")),
        state=raw.get("ModificationState", ""),
        target_size_gib=int(raw.get("TargetSize") or 0),
        target_type=raw.get("TargetVolumeType", ""),
        target_iops=int(raw.get("TargetIops") or 0),
        target_throughput=int(raw.get("TargetThroughput") or 0),
    )
