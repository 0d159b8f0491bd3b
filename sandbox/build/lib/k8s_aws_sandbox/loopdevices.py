"""Attached EBS volumes as real block devices: loop devices over sparse files.

Under one directory per sandbox (or test):

    DIR/backing/vol-0123...            sparse file of the volume's full size (its data; kept
                                       across detach and reattach, removed with the volume)
    DIR/by-id/nvme-Amazon_Elastic_Block_Store_vol0123...  -> /dev/loopN   (as udev on Nitro)
    DIR/dev/xvdaa                      -> /dev/loopN   (the attach's device name)

The backing file's name is how a loop device presents its volume id (see
`k8s_aws.host.blockdev.volume_identity`). Leftovers of a killed process are found by backing
file under DIR only (sandboxes coexist) and released by `release_all`.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from k8s_aws.host import blockdev, mounts
from k8s_aws.host.commands import HostError, run_sync
from k8s_aws.host.resolver import NVME_PREFIX, SearchDirs

log = logging.getLogger(__name__)
GIB = 1024**3
DEVICES_DIR = "devices"  # a sandbox's loop devices live under DIR/devices


def loops_backed_under(root: Path, sys_block: Path = blockdev.SYS_BLOCK) -> dict[str, Path]:
    """/dev/loopN -> backing file, for loop devices whose backing file lies under `root`."""
    found = {}
    base = os.path.realpath(root)
    for entry in sys_block.glob("loop*/loop/backing_file"):
        backing = entry.read_text().strip().removesuffix(" (deleted)")
        if backing == base or backing.startswith(base + os.sep):
            found[f"/dev/{entry.parent.parent.name}"] = Path(backing)
    return found


class LoopDevices:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.dirs = SearchDirs(by_id=self.root / "by-id", dev=self.root / "dev")

    def backing(self, volume_id: str) -> Path:
        return self.root / "backing" / volume_id

    def attached(self) -> dict[str, str]:
        """volume id -> loop device, from the kernel (not from memory)."""
        return {path.name: device for device, path in loops_backed_under(self.root).items()}

    def attach(self, volume_id: str, device_name: str, size_gib: int) -> str:
        """The volume's loop device, made (or found) and linked where the resolver looks."""
        for directory in (self.root / "backing", self.dirs.by_id, self.dirs.dev):
            directory.mkdir(parents=True, exist_ok=True)
        backing = self.backing(volume_id)
        if not backing.exists() or backing.stat().st_size < size_gib * GIB:
            with open(backing, "ab") as handle:
                handle.truncate(size_gib * GIB)  # sparse: no block is written
        device = self.attached().get(volume_id)
        if device is None:
            device = run_sync("losetup", "--find", "--show", str(backing)).strip()
        self._link(self.dirs.by_id / f"{NVME_PREFIX}{volume_id.replace('-', '')}", device)
        if device_name:
            self._link(self.dirs.dev / os.path.basename(device_name), device)
        log.info("attached %s as %s (%s)", volume_id, device, device_name)
        return device

    @staticmethod
    def _link(link: Path, device: str) -> None:
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(device)

    def _unlink(self, volume_id: str, device: str) -> None:
        for directory in (self.dirs.by_id, self.dirs.dev):
            for link in directory.glob("*") if directory.is_dir() else ():
                if link.is_symlink() and os.readlink(link) == device:
                    link.unlink()
        (self.dirs.by_id / f"{NVME_PREFIX}{volume_id.replace('-', '')}").unlink(missing_ok=True)

    def detach(self, volume_id: str) -> None:
        """The device goes away (still mounted: the kernel frees it at the last unmount)."""
        device = self.attached().get(volume_id)
        if device is None:
            return
        self._unlink(volume_id, device)
        _losetup_detach(device)
        log.info("detached %s (%s)", volume_id, device)

    def grow(self, volume_id: str, size_gib: int) -> None:
        """A larger volume: grow the backing file, and tell the loop device (`losetup -c`)."""
        backing = self.backing(volume_id)
        if not backing.exists() or backing.stat().st_size >= size_gib * GIB:
            return
        with open(backing, "ab") as handle:
            handle.truncate(size_gib * GIB)
        device = self.attached().get(volume_id)
        if device is not None:
            run_sync("losetup", "--set-capacity", device)

    def delete(self, volume_id: str) -> None:
        self.detach(volume_id)
        self.backing(volume_id).unlink(missing_ok=True)

    def release_all(self) -> list[str]:
        """Every loop device backed under the directory: unmount what is mounted from it,
        detach it, and remove the links and backing files. Returns the devices released."""
        released = []
        for device in sorted(loops_backed_under(self.root)):
            _unmount_everything_from(device)
            _losetup_detach(device)
            released.append(device)
        for directory in (self.dirs.by_id, self.dirs.dev, self.root / "backing"):
            for path in directory.glob("*") if directory.is_dir() else ():
                path.unlink(missing_ok=True)
        return released


def _unmount_everything_from(device: str) -> None:
    try:
        numbers = mounts.device_numbers(device)
    except OSError:
        return
    for mount in sorted(mounts.mounted_from(numbers), key=lambda m: -len(m.mount_point)):
        try:
            run_sync("umount", "--", mount.mount_point)
        except HostError:
            run_sync("umount", "-l", "--", mount.mount_point, ok=(0, 32))
    # Raw block publishes: the device node bind-mounted onto a file.
    rdev = os.stat(device).st_rdev
    for mount in mounts.mounts():
        try:
            found = os.stat(mount.mount_point)
        except OSError:
            continue
        if stat.S_ISBLK(found.st_mode) and found.st_rdev == rdev:
            run_sync("umount", "-l", "--", mount.mount_point, ok=(0, 32))


def _losetup_detach(device: str) -> None:
    run_sync("losetup", "--detach", device, ok=(0, 1))
