"""Filesystems on EBS volumes, as pure decisions: the mkfs options carried from CreateVolume
to the node in the volume context, the mkfs command, the mount options, and what NodeStage
does with what it finds on a device (format only a blank one, never reformat)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from k8s_aws.volumes.errors import ParameterError
from k8s_aws.volumes.parameters import DEFAULT_FS_TYPE, FS_TYPES, MkfsOptions

# Volume context keys (the StorageClass keys they come from); the node reads only these.
CONTEXT_KEYS = (("block_size", "blockSize"), ("inode_size", "inodeSize"),
                ("bytes_per_inode", "bytesPerInode"), ("number_of_inodes", "numberOfInodes"))
# Not ours: keys the CO may add to the volume context (pod info, ephemeral volumes).
_CO_PREFIX = "csi.storage.k8s.io/"


def volume_context(options: MkfsOptions) -> dict[str, str]:
    """What CreateVolume puts in the volume context for the node."""
    return {key: str(getattr(options, attr)) for attr, key in CONTEXT_KEYS
            if getattr(options, attr) is not None}


def parse_context(context: Mapping[str, str], fs_type: str) -> MkfsOptions:
    """The mkfs options of a volume context; a bad or unknown key is a ParameterError
    naming `volume_context.<key>`."""
    known = {key: attr for attr, key in CONTEXT_KEYS}
    values: dict[str, int] = {}
    for key, value in context.items():
        if key.startswith(_CO_PREFIX):
            continue
        if key not in known:
            raise ParameterError(f"volume_context.{key}",
                                 f"unknown key; allowed: {', '.join(known)}")
        try:
            number = int(value)
        except ValueError:
            raise ParameterError(f"volume_context.{key}", f"{value!r} is not an integer"
                                 ) from None
        if number < 1:
            raise ParameterError(f"volume_context.{key}", f"{number} is below 1")
        values[known[key]] = number
    options = MkfsOptions(**values)
    if fs_type == "xfs" and (options.bytes_per_inode or options.number_of_inodes):
        key = "bytesPerInode" if options.bytes_per_inode else "numberOfInodes"
        raise ParameterError(f"volume_context.{key}", "not supported for xfs")
    return options


def fs_type_of(requested: str) -> str:
    """The capability's fs_type, ext4 when empty; ParameterError when unsupported."""
    fs_type = (requested or DEFAULT_FS_TYPE).lower()
    if fs_type not in FS_TYPES:
        raise ParameterError("volume_capability.mount.fs_type",
                             f"{requested!r} is not one of {', '.join(FS_TYPES)}")
    return fs_type


def mkfs_command(fs_type: str, device: str, options: MkfsOptions) -> list[str]:
    if fs_type == "xfs":
        argv = ["mkfs.xfs"]
        if options.block_size:
            argv += ["-b", f"size={options.block_size}"]
        if options.inode_size:
            argv += ["-i", f"size={options.inode_size}"]
        return [*argv, device]
    argv = [f"mkfs.{fs_type}", "-F", "-q"]
    for flag, value in (("-b", options.block_size), ("-I", options.inode_size),
                        ("-i", options.bytes_per_inode), ("-N", options.number_of_inodes)):
        if value:
            argv += [flag, str(value)]
    return [*argv, device]


def mount_options(fs_type: str, flags: Sequence[str], read_only: bool = False) -> list[str]:
    """The capability's mount flags, plus `nouuid` for xfs (clones and volumes restored from
    one snapshot share their UUID, and xfs refuses a second mount of a UUID)."""
    options = [f for f in flags if f]
    if fs_type == "xfs" and "nouuid" not in options:
        options.append("nouuid")
    if read_only and "ro" not in options:
        options.append("ro")
    return options


@dataclass(frozen=True)
class StageAction:
    format: bool  # run mkfs first
    refusal: str = ""  # non-empty: FAILED_PRECONDITION with this message, touch nothing


def stage_action(volume_id: str, device: str, found: Mapping[str, str],
                 wanted: str) -> StageAction:
    """From what blkid found on the device: format a blank one, mount a matching one,
    refuse anything else (another filesystem, a partition table, an unknown signature)."""
    existing = found.get("TYPE", "")
    if not existing and not found.get("PTTYPE"):
        return StageAction(format=True)
    if existing == wanted:
        return StageAction(format=False)
    what = (f"a {existing} filesystem" if existing
            else f"a {found.get('PTTYPE', 'unknown')} partition table")
    return StageAction(format=False, refusal=(
        f"volume {volume_id} ({device}) holds {what}, not {wanted}: refusing to format it"))


def needs_growth(filesystem_bytes: int, device_bytes: int) -> bool:
    """A filesystem smaller than its device by more than 1 MiB (restored from a smaller
    snapshot, or the volume was expanded) is grown."""
    return device_bytes - filesystem_bytes > 1024 * 1024
