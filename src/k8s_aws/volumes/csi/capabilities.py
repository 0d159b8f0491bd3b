"""Volume capabilities EBS can serve: one node at a time, block or mounted filesystem."""

from __future__ import annotations

from collections.abc import Iterable

from k8s_aws.volumes.csi.proto import csi_pb2
from k8s_aws.volumes.csi.status import invalid
from k8s_aws.volumes.parameters import FS_TYPES

Mode = csi_pb2.VolumeCapability.AccessMode
SUPPORTED_MODES = frozenset({
    Mode.SINGLE_NODE_WRITER, Mode.SINGLE_NODE_READER_ONLY,
    Mode.SINGLE_NODE_SINGLE_WRITER, Mode.SINGLE_NODE_MULTI_WRITER,
})


def unsupported(capability: csi_pb2.VolumeCapability) -> str | None:
    """Why a capability cannot be served, or None."""
    if capability.WhichOneof("access_type") is None:
        return "a capability needs block or mount"
    if capability.access_mode.mode not in SUPPORTED_MODES:
        name = Mode.Mode.Name(capability.access_mode.mode)
        return f"access mode {name} is not supported by EBS (single node only)"
    fs_type = capability.mount.fs_type if capability.HasField("mount") else ""
    if fs_type and fs_type not in FS_TYPES:
        return f"fs_type {fs_type!r} is not one of {', '.join(FS_TYPES)}"
    return None


def check(capabilities: Iterable[csi_pb2.VolumeCapability]) -> None:
    """INVALID_ARGUMENT when missing or unsupported."""
    capabilities = list(capabilities)
    if not capabilities:
        raise invalid("volume_capabilities is required")
    for capability in capabilities:
        reason = unsupported(capability)
        if reason:
            raise invalid(reason)


def is_block(capability: csi_pb2.VolumeCapability) -> bool:
    return bool(capability.HasField("block"))
