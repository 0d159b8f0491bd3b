"""EBS device names for attachments: EC2-legal names, never one the instance already maps or
an attach still in flight holds (reusing such a name is the reference's #1801 / #795)."""

from __future__ import annotations

import string
from collections.abc import Iterable

from k8s_aws.volumes.errors import NoDeviceName


def _candidates() -> list[str]:
    # /dev/xvdaa .. /dev/xvdbz first (as the reference driver), then /dev/xvdba.. /dev/xvdcz
    # beyond; single letters are left to the root and instance-store devices.
    letters = string.ascii_lowercase
    return [f"/dev/xvd{a}{b}" for a in "abc" for b in letters]


CANDIDATES = tuple(_candidates())


def suffix(device: str) -> str:
    """`/dev/sdf`, `/dev/xvdf` and `xvdf` name the same slot: compare by suffix."""
    name = device.rsplit("/", 1)[-1]
    for prefix in ("xvd", "sd", "hd"):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def allocate_device(in_use: Iterable[str]) -> str:
    taken = {suffix(d) for d in in_use}
    for candidate in CANDIDATES:
        if suffix(candidate) not in taken:
            return candidate
    raise NoDeviceName(f"all {len(CANDIDATES)} EBS device names are in use on the instance")


def attach_limit(max_attachments: int, shared_with_interfaces: bool, interfaces: int,
                 reserved: int = 1) -> int:
    """Volumes a node can take besides `reserved` (root) ones; 0 = unknown (no limit)."""
    if max_attachments <= 0:
        return 0
    limit = max_attachments
    if shared_with_interfaces:
        limit -= max(0, interfaces - 1)
    return max(0, limit - reserved)
