"""In-memory EBS and EC2 instances behind the Protocols of k8s_aws.cloud.services, for unit
tests only (the emulator stays the reference: tests/fidelity/test_ebs_contract.py runs the
same cases against both).

What it keeps of AWS: a volume is `creating` and an attachment `attaching` / `detaching`
until time moves on (`advance()`, or every read with `auto_advance`); CreateVolume is
idempotent per client token, and the same token with other parameters is refused; the
refusals of AttachVolume, DetachVolume, DeleteVolume and ModifyVolume come in AWS's order,
as our error kinds with AWS's codes.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from k8s_aws.cloud.ebs import NAME_TAG, CreateRequest
from k8s_aws.cloud.errors import (
    Conflict,
    DeviceInUse,
    InUse,
    LimitExceeded,
    NotFound,
    RateWindowExceeded,
    TokenReused,
    WrongState,
)
from k8s_aws.cloud.snapshots import NAME_TAG as SNAPSHOT_NAME_TAG
from k8s_aws.model.instance import InstanceId, InstanceRecord
from k8s_aws.model.volume import (
    AttachmentRecord,
    InstanceTypeRecord,
    ModificationRecord,
    SnapshotId,
    SnapshotRecord,
    VolumeId,
    VolumeRecord,
)
from k8s_aws.support.deadline import DeadlineExceeded

# EBS attachment facts of the types the tests launch (DescribeInstanceTypes).
INSTANCE_TYPES = {
    "m5.large": InstanceTypeRecord("m5.large", 28, True),
    "t3.micro": InstanceTypeRecord("t3.micro", 28, True),
}
MODIFICATIONS_PER_WINDOW = 1


@dataclass
class _Instance:
    record: InstanceRecord
    devices: dict[str, str] = field(default_factory=dict)  # device -> volume id


class FakeEbs:
    """VolumeService and InstanceLookup over one in-memory account."""

    def __init__(self, auto_advance: bool = True) -> None:
        self.auto_advance = auto_advance
        self.volumes: dict[VolumeId, VolumeRecord] = {}
        self.instances: dict[InstanceId, _Instance] = {}
        self.modifications: dict[VolumeId, list[ModificationRecord]] = {}
        self.calls: list[str] = []
        self._tokens: dict[str, tuple[CreateRequest, VolumeId]] = {}
        self._pending: list[Callable[[], None]] = []
        self._ids = itertools.count(1)

    # -- the test's hands --------------------------------------------------------------
    def add_instance(self, zone: str, instance_type: str = "m5.large") -> InstanceId:
        instance_id = InstanceId(f"i-{next(self._ids):017x}")
        record = InstanceRecord(instance_id, "running", instance_type, zone,
                                block_devices=(("/dev/sda1", "vol-root"),),
                                root_device="/dev/sda1")
        self.instances[instance_id] = _Instance(record, {"/dev/sda1": "vol-root"})
        return instance_id

    def occupy(self, instance_id: InstanceId, count: int) -> None:
        """Give the instance `count` more attached volumes (devices /dev/xvdza, ...)."""
        instance = self.instances[instance_id]
        for index in range(count):
            letters = chr(ord("z") - index // 26) + chr(ord("a") + index % 26)
            instance.devices[f"/dev/xvd{letters}"] = f"vol-other{index}"
        self._refresh(instance)

    def advance(self) -> None:
        """Every state in transition reaches its end, as time passing does."""
        pending, self._pending = self._pending, []
        for step in pending:
            step()

    def _tick(self, operation: str) -> None:
        self.calls.append(operation)
        if self.auto_advance:
            self.advance()

    def _volume(self, volume_id: str, operation: str) -> VolumeRecord:
        volume = self.volumes.get(VolumeId(volume_id))
        if volume is None:
            raise NotFound(f"{operation}: InvalidVolume.NotFound: {volume_id}", operation,
                           "InvalidVolume.NotFound")
        return volume

    def _set(self, volume_id: VolumeId, **changes: Any) -> None:
        if volume_id in self.volumes:
            self.volumes[volume_id] = dataclasses.replace(self.volumes[volume_id], **changes)

    # -- VolumeService -----------------------------------------------------------------
    async def get(self, volume_id: str) -> VolumeRecord | None:
        self._tick("DescribeVolumes")
        return self.volumes.get(VolumeId(volume_id))

    def known(self, volume_id: str, max_age: float) -> VolumeRecord | None:
        """Nothing remembered: callers read."""
        return None

    async def wait(self, volume_id: str, done: Callable[[VolumeRecord | None], bool], *,
                   kind: str, timeout: float, what: str) -> VolumeRecord | None:
        """One read per look, as many looks as it takes (time passes with each read)."""
        for _ in range(100):
            volume = await self.get(volume_id)
            if done(volume):
                return volume
        raise DeadlineExceeded(f"timed out waiting for {what}")

    async def find_by_name(self, name: str) -> VolumeRecord | None:
        self._tick("DescribeVolumes")
        return next((v for v in self.volumes.values() if v.tag(NAME_TAG) == name), None)

    async def create(self, request: CreateRequest) -> VolumeRecord:
        self.calls.append("CreateVolume")
        if request.client_token in self._tokens:
            earlier, volume_id = self._tokens[request.client_token]
            if earlier != request:
                raise TokenReused("CreateVolume: IdempotentParameterMismatch: the client token"
                                  " was used with other parameters", "CreateVolume",
                                  "IdempotentParameterMismatch")
            if volume_id not in self.volumes:
                raise TokenReused("CreateVolume: IdempotentParameterMismatch: the client token"
                                  " belongs to a deleted volume", "CreateVolume",
                                  "IdempotentParameterMismatch")
            return self.volumes[volume_id]
        volume_id = VolumeId(f"vol-{next(self._ids):017x}")
        volume = VolumeRecord(
            volume_id, "creating", request.size_gib, request.zone, request.volume_type,
            iops=request.iops or 0, throughput=request.throughput or 0,
            encrypted=request.encrypted, snapshot_id=request.snapshot_id,
            tags=tuple(request.tags.items()))
        self.volumes[volume_id] = volume
        self._tokens[request.client_token] = (request, volume_id)
        self._pending.append(lambda: self._set(volume_id, state="available"))
        return volume

    async def delete(self, volume_id: str) -> bool:
        self.calls.append("DeleteVolume")
        volume = self.volumes.get(VolumeId(volume_id))
        if volume is None:
            return False
        if volume.attachments:
            raise InUse(f"DeleteVolume: VolumeInUse: {volume_id} is attached", "DeleteVolume",
                        "VolumeInUse")
        del self.volumes[volume.id]
        return True

    async def attach(self, volume_id: str, instance_id: str, device: str) -> str:
        self.calls.append("AttachVolume")
        volume = self._volume(volume_id, "AttachVolume")
        instance = self.instances.get(InstanceId(instance_id))
        if instance is None:
            raise NotFound(f"AttachVolume: InvalidInstanceID.NotFound: {instance_id}",
                           "AttachVolume", "InvalidInstanceID.NotFound")
        _attach_refusal(volume, instance, device)
        volume_key = volume.id
        self._set(volume_key, state="in-use",
                  attachments=(AttachmentRecord(instance_id, device, "attaching"),))
        instance.devices[device] = volume_id
        self._refresh(instance)
        self._pending.append(lambda: self._set_attachment(volume_key, "attached"))
        return "attaching"

    def _set_attachment(self, volume_id: VolumeId, state: str) -> None:
        volume = self.volumes.get(volume_id)
        if volume is None or not volume.attachments:
            return
        if state == "detached":
            self._set(volume_id, state="available", attachments=())
            return
        self._set(volume_id, attachments=(dataclasses.replace(volume.attachments[0],
                                                              state=state),))

    @staticmethod
    def _refresh(instance: _Instance) -> None:
        instance.record = dataclasses.replace(instance.record,
                                              block_devices=tuple(instance.devices.items()))

    async def detach(self, volume_id: str, instance_id: str) -> None:
        self.calls.append("DetachVolume")
        volume = self._volume(volume_id, "DetachVolume")
        if not volume.attachments:
            raise WrongState(f"DetachVolume: IncorrectState: Volume '{volume_id}' is in the"
                             f" '{volume.state}' state.", "DetachVolume", "IncorrectState")
        attachment = volume.attachments[0]
        self._set(volume.id, attachments=(dataclasses.replace(attachment, state="detaching"),))
        instance = self.instances.get(InstanceId(attachment.instance_id))

        def detached() -> None:
            self._set_attachment(volume.id, "detached")
            if instance is not None:
                instance.devices.pop(attachment.device, None)
                self._refresh(instance)

        self._pending.append(detached)

    async def modify(self, volume_id: str, size_gib: int | None = None,
                     volume_type: str | None = None, iops: int | None = None,
                     throughput: int | None = None) -> ModificationRecord:
        self.calls.append("ModifyVolume")
        volume = self._volume(volume_id, "ModifyVolume")
        history = self.modifications.setdefault(volume.id, [])
        if history and history[-1].state != "completed":
            raise WrongState(f"ModifyVolume: IncorrectModificationState: {volume_id} is being"
                             " modified", "ModifyVolume", "IncorrectModificationState")
        if len(history) >= MODIFICATIONS_PER_WINDOW:
            raise RateWindowExceeded(
                "ModifyVolume: VolumeModificationRateExceeded: wait between modifications",
                "ModifyVolume", "VolumeModificationRateExceeded")
        record = ModificationRecord(volume.id, "modifying", size_gib or volume.size_gib,
                                    volume_type or volume.volume_type, iops or 0,
                                    throughput or 0)
        history.append(record)

        def completed() -> None:
            history[-1] = dataclasses.replace(record, state="completed")
            self._set(volume.id, size_gib=record.target_size_gib,
                      volume_type=record.target_type)

        self._pending.append(completed)
        return record

    async def modification(self, volume_id: str) -> ModificationRecord | None:
        self._tick("DescribeVolumesModifications")
        history = self.modifications.get(VolumeId(volume_id), [])
        return history[-1] if history else None

    async def instance_type(self, name: str) -> InstanceTypeRecord:
        return INSTANCE_TYPES.get(name, InstanceTypeRecord(name, 0, True))

    # -- InstanceLookup ----------------------------------------------------------------
    async def get_instance(self, instance_id: InstanceId) -> InstanceRecord | None:
        instance = self.instances.get(instance_id)
        return instance.record if instance else None


def _attach_refusal(volume: VolumeRecord, instance: _Instance, device: str) -> None:
    """AWS's checks in AWS's order (see the emulator's ebs_rules.attach_refusal)."""
    where = ("AttachVolume",)
    if volume.state == "creating":
        raise WrongState(f"AttachVolume: IncorrectState: {volume.id} is not 'available'.",
                         *where, "IncorrectState")
    if volume.attachments:
        raise InUse(f"AttachVolume: VolumeInUse: {volume.id} is already attached",
                    *where, "VolumeInUse")
    if volume.zone != instance.record.zone:
        raise Conflict(f"AttachVolume: InvalidVolume.ZoneMismatch: {volume.id}", *where,
                       "InvalidVolume.ZoneMismatch")
    if device in instance.devices:
        raise DeviceInUse(f"AttachVolume: InvalidParameterValue: Attachment point {device} is"
                          " already in use",
                          *where, "InvalidParameterValue")
    limit = INSTANCE_TYPES.get(instance.record.instance_type)
    if limit is not None and len(instance.devices) + 1 >= limit.max_attachments:
        raise LimitExceeded(f"AttachVolume: AttachmentLimitExceeded: up to"
                            f" {limit.max_attachments} devices", *where,
                            "AttachmentLimitExceeded")


class FakeInstances:
    """InstanceLookup over a FakeEbs's instances (block devices follow its attachments)."""

    def __init__(self, ebs: FakeEbs) -> None:
        self._ebs = ebs

    async def get(self, instance_id: InstanceId,
                  max_age: float | None = None) -> InstanceRecord | None:
        self._ebs.calls.append("DescribeInstances")
        return await self._ebs.get_instance(instance_id)

    def forget(self, instance_id: InstanceId | str) -> None:
        """Nothing cached: every read is fresh."""

    def note_attached(self, instance_id: InstanceId | str, device: str, volume_id: str) -> None:
        """Nothing cached."""

    def note_detached(self, instance_id: InstanceId | str, volume_id: str) -> None:
        """Nothing cached."""


class FakeSnapshots:
    """SnapshotService: `pending` until the FakeEbs advances, then `completed`."""

    def __init__(self, ebs: FakeEbs) -> None:
        self._ebs = ebs
        self.snapshots: dict[str, SnapshotRecord] = {}

    async def get(self, snapshot_id: str) -> SnapshotRecord | None:
        self._ebs._tick("DescribeSnapshots")
        return self.snapshots.get(snapshot_id)

    async def find_by_name(self, name: str) -> SnapshotRecord | None:
        return next((s for s in self.snapshots.values() if s.tag(SNAPSHOT_NAME_TAG) == name),
                    None)

    async def list_ours(self) -> list[SnapshotRecord]:
        return [s for s in self.snapshots.values() if s.tag(SNAPSHOT_NAME_TAG) is not None]

    async def create(self, volume_id: str, tags: dict[str, str]) -> SnapshotRecord:
        volume = self._ebs._volume(volume_id, "CreateSnapshot")
        snapshot_id = SnapshotId(f"snap-{len(self.snapshots) + 1:017x}")
        record = SnapshotRecord(snapshot_id, volume_id, "pending", volume.size_gib, 0.0,
                                tuple(tags.items()))
        self.snapshots[snapshot_id] = record
        self._ebs._pending.append(lambda: self.snapshots.__setitem__(
            snapshot_id, dataclasses.replace(record, state="completed")))
        return record

    async def delete(self, snapshot_id: str) -> bool:
        return self.snapshots.pop(snapshot_id, None) is not None
