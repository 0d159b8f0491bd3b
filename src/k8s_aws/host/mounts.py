"""What is mounted where (from /proc/self/mountinfo) and the mount tools.

A mount is matched to a block device by the device numbers the kernel reports for it, never
by a path: a bind mount of a staging path carries the device numbers of the filesystem below.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from k8s_aws.host.commands import run

MOUNTINFO = Path("/proc/self/mountinfo")


@dataclass(frozen=True)
class Mount:
    mount_point: str
    device_numbers: tuple[int, int]  # major, minor of the mounted filesystem
    root: str  # the path inside that filesystem mounted here (bind mounts)
    fs_type: str
    source: str
    read_only: bool


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(code, char)
    return field


def parse_mountinfo(text: str) -> list[Mount]:
    mounts = []
    for line in text.splitlines():
        head, sep, tail = line.partition(" - ")
        fields, rest = head.split(), tail.split()
        if not sep or len(fields) < 6 or len(rest) < 2:
            continue
        major, minor = fields[2].split(":")
        mounts.append(Mount(
            mount_point=_unescape(fields[4]), device_numbers=(int(major), int(minor)),
            root=_unescape(fields[3]), fs_type=rest[0], source=_unescape(rest[1]),
            read_only="ro" in fields[5].split(",")))
    return mounts


def mounts() -> list[Mount]:
    return parse_mountinfo(MOUNTINFO.read_text())


def mount_at(path: str) -> Mount | None:
    """The mount on top at `path` (the last one mounted there), or None."""
    where = os.path.realpath(path)
    found = [m for m in mounts() if m.mount_point == where]
    return found[-1] if found else None


def device_numbers(device: str) -> tuple[int, int]:
    rdev = os.stat(device).st_rdev
    return os.major(rdev), os.minor(rdev)


def mounted_from(numbers: tuple[int, int]) -> list[Mount]:
    """Every mount of the filesystem on the device with these numbers."""
    return [m for m in mounts() if m.device_numbers == numbers]


async def mount(source: str, target: str, fs_type: str = "",
                options: Sequence[str] = ()) -> None:
    argv = ["mount"]
    if fs_type:
        argv += ["-t", fs_type]
    if options:
        argv += ["-o", ",".join(options)]
    await run(*argv, "--", source, target)


async def bind(source: str, target: str, read_only: bool = False) -> None:
    await run("mount", "--bind", "--", source, target)
    if read_only:  # a bind mount takes `ro` only on a remount
        await run("mount", "-o", "remount,bind,ro", "--", target)


async def unmount(target: str) -> None:
    await run("umount", "--", target)
