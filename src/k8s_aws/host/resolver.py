"""Finding the block device of an EBS volume on this node, confirmed by the device itself.

Candidates, in order: the Nitro link `<by-id>/nvme-Amazon_Elastic_Block_Store_vol<id>`, then
the attach's device name (`devicePath`, e.g. `/dev/xvdaa`) and its `sd`/`xvd` alias in the
device directory. A candidate counts only when the device it leads to names this volume
(`blockdev.volume_identity`); one that names another volume is a stale link and is refused
with both ids (the reference's pain point #1224). A Xen `xvd*` disk names no volume: it is
taken from the attach's device name only, when nothing better exists.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from k8s_aws.host import blockdev

NVME_PREFIX = "nvme-Amazon_Elastic_Block_Store_"


class NotAttached(Exception):
    """No device of this volume on the node (CSI NOT_FOUND)."""


class WrongDevice(Exception):
    """A link for this volume leads to another volume's device (CSI FAILED_PRECONDITION)."""


@dataclass(frozen=True)
class SearchDirs:
    """Where devices appear: production `/dev/disk/by-id` and `/dev`; tests point elsewhere."""

    by_id: Path = Path("/dev/disk/by-id")
    dev: Path = Path("/dev")
    sys_block: Path = blockdev.SYS_BLOCK


def _aliases(device_path: str) -> list[str]:
    name = os.path.basename(device_path)
    for prefix, other in (("xvd", "sd"), ("sd", "xvd")):
        if name.startswith(prefix):
            return [name, other + name[len(prefix):]]
    return [name] if name else []


def candidates(volume_id: str, device_path: str, dirs: SearchDirs) -> list[Path]:
    found = [dirs.by_id / f"{NVME_PREFIX}{volume_id.replace('-', '')}"]
    found += [dirs.dev / name for name in _aliases(device_path)]
    return found


def resolve(volume_id: str, device_path: str, dirs: SearchDirs) -> str:
    """The kernel device path (`/dev/nvme1n1`, `/dev/loop3`) holding `volume_id`."""
    unconfirmed: str | None = None
    wrong: list[str] = []
    for link in candidates(volume_id, device_path, dirs):
        if not link.exists():
            continue
        device = os.path.realpath(link)
        identity = blockdev.volume_identity(device, dirs.sys_block)
        if identity == volume_id:
            return device
        if identity is not None:
            wrong.append(f"{link} -> {device} is volume {identity}")
        elif blockdev.kernel_name(device).startswith("xvd") and unconfirmed is None:
            unconfirmed = device
    if wrong:
        raise WrongDevice(f"refusing to use a device for volume {volume_id}: "
                          + "; ".join(wrong))
    if unconfirmed is not None:
        return unconfirmed
    looked = ", ".join(str(c) for c in candidates(volume_id, device_path, dirs))
    raise NotAttached(f"volume {volume_id} is not attached to this node (looked at {looked})")


def ebs_devices(dirs: SearchDirs) -> set[str]:
    """Kernel names of the EBS disks visible in the search directories (for the attach
    limit: the root disk, BOSH's persistent disk and any other volume already attached)."""
    found: set[str] = set()
    for directory, pattern in ((dirs.by_id, f"{NVME_PREFIX}*"), (dirs.dev, "xvd*"),
                               (dirs.dev, "sd*")):
        if not directory.is_dir():
            continue
        for link in directory.glob(pattern):
            if "-part" in link.name or not link.exists():
                continue
            device = os.path.realpath(link)
            partition = dirs.sys_block / blockdev.kernel_name(device) / "partition"
            if not partition.exists() and blockdev.is_ebs(device, dirs.sys_block):
                found.add(blockdev.kernel_name(device))
    return found
