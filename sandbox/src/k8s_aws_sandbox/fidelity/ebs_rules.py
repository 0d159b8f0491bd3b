"""EBS rules AWS enforces and the emulator does not, as pure functions of plain facts.

Error codes and messages follow what EC2 answers (as quoted in public bug reports).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from k8s_aws_sandbox.fidelity.config import Limits
from k8s_aws_sandbox.fidelity.responses import Refusal


@dataclass(frozen=True)
class AttachLimit:
    """`MaximumEbsAttachments` of an instance type. "shared": Nitro types whose limit is
    shared with network interfaces, stated for an instance with one interface."""

    maximum: int
    shared: bool

    def capacity(self, interfaces: int) -> int:
        """Volumes (root included) the instance can hold with `interfaces` ENIs attached."""
        if not self.shared:
            return self.maximum
        return self.maximum - max(0, interfaces - 1)


@dataclass(frozen=True)
class VolumeFacts:
    id: str
    zone: str
    state: str  # creating, available, in-use
    attached_to: str | None
    attachment_state: str | None  # attaching, attached, detaching


@dataclass(frozen=True)
class InstanceFacts:
    id: str
    zone: str
    devices: frozenset[str]
    volumes: int  # block device mappings, root volume and in-flight attachments included
    interfaces: int
    limit: AttachLimit | None


@dataclass(frozen=True)
class Modification:
    started: float
    optimizing: float  # when it reaches `optimizing`
    completes: float  # when it reaches `completed`


def attach_refusal(
    volume: VolumeFacts, instance: InstanceFacts, device: str, *, rules: bool, limits: bool
) -> Refusal | None:
    """Why AWS would refuse AttachVolume, checked in the order AWS reports them."""
    if rules:
        if volume.state == "creating":
            return Refusal("IncorrectState", f"{volume.id} is not 'available'.")
        if volume.attached_to is not None:
            return Refusal("VolumeInUse", f"{volume.id} is already attached to an instance")
        if volume.zone != instance.zone:
            return Refusal(
                "InvalidVolume.ZoneMismatch",
                f"The volume '{volume.id}' is not in the same availability zone as instance "
                f"'{instance.id}'",
            )
        if device in instance.devices:
            return Refusal(
                "InvalidParameterValue",
                f"Invalid value '{device}' for unixDevice. Attachment point {device} is "
                "already in use",
            )
    if limits and instance.limit is not None:
        capacity = instance.limit.capacity(instance.interfaces)
        if instance.volumes >= capacity:
            return Refusal(
                "AttachmentLimitExceeded",
                f"You may attach up to {capacity} devices for this instance type. "
                "Please use a larger instance size to attach more volumes.",
            )
    return None


def detach_refusal(volume: VolumeFacts) -> Refusal | None:
    """DetachVolume of a volume that is not attached: AWS says IncorrectState."""
    if volume.attached_to is None:
        return Refusal("IncorrectState", f"Volume '{volume.id}' is in the '{volume.state}' state.")
    return None


def modification_refusal(
    volume_id: str, history: Sequence[Modification], now: float, limits: Limits
) -> Refusal | None:
    """A new modification needs the last one completed and room in the rate window."""
    if history and history[-1].completes > now:
        state = "MODIFYING" if now < history[-1].optimizing else "OPTIMIZING"
        return Refusal(
            "IncorrectModificationState",
            f"Volume {volume_id} cannot be modified in modification state {state}",
        )
    window_start = now - limits.modification_window
    recent = [m for m in history if m.started > window_start]
    if len(recent) >= limits.modifications_per_window:
        return Refusal(
            "VolumeModificationRateExceeded",
            "You've reached the maximum modification rate per volume limit. Wait at least "
            f"{limits.modification_window:g} seconds between modifications per EBS volume.",
        )
    return None


def snapshot_refusal(snapshot_id: str, state: str) -> Refusal | None:
    """A volume can be created only from a completed snapshot."""
    if state != "completed":
        return Refusal("IncorrectState", f"Snapshot {snapshot_id} is in invalid state - {state}")
    return None
