"""Block devices: which EBS volume a device is (read from the device itself), what it holds,
how big it is, and the filesystem tools.

`volume_identity` is the one place that knows how a device presents its volume id: a Nitro
NVMe device by its serial (`vol0123...`), a loop device (the sandbox's stand-in for an
attached disk) by the name of its backing file (`.../vol-0123...`). Everything else about a
loop device is treated exactly as a real disk.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from k8s_aws.host.commands import HostError, run

SYS_BLOCK = Path("/sys/class/block")
SYS_DEV_BLOCK = Path("/sys/dev/block")
_VOLUME = re.compile(r"^vol-?([0-9a-f]{8,17})$")


def _volume_id(text: str) -> str | None:
    match = _VOLUME.match(text.strip())
    return f"vol-{match.group(1)}" if match else None


def kernel_name(device: str) -> str:
    """`nvme1n1`, `loop3`, `xvdf`: the kernel's name of the device a path resolves to."""
    return os.path.basename(os.path.realpath(device))


def volume_identity(device: str, sys_block: Path = SYS_BLOCK) -> str | None:
    """The EBS volume id the device carries, or None if it carries none (Xen `xvd*`)."""
    entry = sys_block / kernel_name(device)
    serial = entry / "device" / "serial"
    if serial.is_file():
        return _volume_id(serial.read_text())
    backing = entry / "loop" / "backing_file"
    if backing.is_file():
        name = os.path.basename(backing.read_text().strip().removesuffix(" (deleted)"))
        return _volume_id(name)
    return None


def device_of(numbers: tuple[int, int], sys_dev_block: Path = SYS_DEV_BLOCK) -> str | None:
    """`/dev/<name>` of the block device with these numbers, or None if it is gone (or the
    numbers are a virtual filesystem's)."""
    entry = sys_dev_block / f"{numbers[0]}:{numbers[1]}"
    if not entry.exists():
        return None
    return f"/dev/{os.path.basename(os.path.realpath(entry))}"


def is_ebs(device: str, sys_block: Path = SYS_BLOCK) -> bool:
    """An EBS disk the kernel sees: it names its volume, or it is a Xen `xvd*` disk."""
    return volume_identity(device, sys_block) is not None or kernel_name(device).startswith(
        "xvd")


def size_bytes(device: str, sys_block: Path = SYS_BLOCK) -> int:
    """The device's size as the kernel sees it now (512-byte sectors in sysfs)."""
    return int((sys_block / kernel_name(device) / "size").read_text()) * 512


async def probe(device: str) -> dict[str, str]:
    """What blkid finds on the device (TYPE, PTTYPE, UUID...); empty when it is blank."""
    out = await run("blkid", "-p", "-o", "export", device, ok=(0, 2))
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


async def filesystem_bytes(fs_type: str, device: str, mount_point: str) -> int:
    """The size of the filesystem itself (it may be smaller than its device)."""
    if fs_type == "xfs":
        info = await run("xfs_info", mount_point)
        match = re.search(r"^data\s+=\s+bsize=(\d+)\s+blocks=(\d+)", info, re.M)
    else:
        info = await run("dumpe2fs", "-h", device)
        count = re.search(r"^Block count:\s+(\d+)", info, re.M)
        size = re.search(r"^Block size:\s+(\d+)", info, re.M)
        match = None
        if count and size:
            return int(count.group(1)) * int(size.group(1))
    if match is None:
        raise ValueError(f"cannot read the filesystem size of {device}")
    return int(match.group(1)) * int(match.group(2))


async def make_filesystem(argv: list[str]) -> None:
    await run(*argv)


class MissingCapability(HostError):
    """The kernel refused for want of a capability (the plugin's container is not
    privileged enough); the message says which."""


async def grow_filesystem(fs_type: str, device: str, mount_point: str) -> None:
    """Grow a mounted filesystem to its device (online)."""
    if fs_type == "xfs":
        await run("xfs_growfs", "-d", mount_point)
        return
    try:
        await run("resize2fs", device)
    except HostError as exc:
        if "Permission denied" not in exc.output:
            raise
        raise MissingCapability(exc.argv, exc.code, exc.output + (
            " -- growing a mounted ext filesystem needs CAP_SYS_RESOURCE: run the node "
            "plugin privileged")) from None


async def grow_unmounted(device: str) -> None:
    """Grow an ext filesystem that is not mounted (at stage, before the mount): resize2fs
    wants a freshly checked filesystem, and `e2fsck -p` fixes only what is safe."""
    await run("e2fsck", "-f", "-p", device, ok=(0, 1))
    await run("resize2fs", device)
