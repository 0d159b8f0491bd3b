"""What the node calls share: request checks (each error names its field) and the question
"which volume is mounted, or bind-mounted as a device, at this path?"."""

from __future__ import annotations

import os
import stat
from typing import Any

import grpc

from k8s_aws.host import blockdev, mounts
from k8s_aws.volumes.csi import capabilities
from k8s_aws.volumes.csi.status import Fail, invalid

Mode = capabilities.Mode
READ_ONLY_MODES = (Mode.SINGLE_NODE_READER_ONLY, Mode.MULTI_NODE_READER_ONLY)


def capability(request: Any) -> Any:
    """The request's volume_capability, checked (INVALID_ARGUMENT naming the problem)."""
    if not request.HasField("volume_capability"):
        raise invalid("volume_capability is required")
    reason = capabilities.unsupported(request.volume_capability)
    if reason:
        raise invalid(f"volume_capability: {reason}")
    return request.volume_capability


def read_only(request: Any, cap: Any) -> bool:
    return bool(getattr(request, "readonly", False)) or cap.access_mode.mode in READ_ONLY_MODES


def precondition(message: str) -> Fail:
    return Fail(grpc.StatusCode.FAILED_PRECONDITION, message)


def block_device_at(path: str) -> str | None:
    """The device a raw-block target is (a device node bind-mounted onto a file)."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISBLK(found.st_mode):
        return None
    return blockdev.device_of((os.major(found.st_rdev), os.minor(found.st_rdev)))


def volume_at(path: str) -> tuple[str | None, str | None, mounts.Mount | None]:
    """(volume id, device, mount) of what is at `path`: a mounted filesystem, or a device
    node for raw block; (None, None, None) when nothing is mounted there."""
    device = block_device_at(path)
    mount = mounts.mount_at(path)
    if device is None and mount is not None:
        device = blockdev.device_of(mount.device_numbers)
    if device is None:
        return None, None, mount
    return blockdev.volume_identity(device), device, mount


def describe(path: str, identity: str | None, mount: mounts.Mount | None) -> str:
    if identity:
        return f"volume {identity}"
    return f"{mount.source} ({mount.fs_type})" if mount else "nothing"
