"""Pure node-side decisions: mkfs options carried in the volume context, the mkfs command,
mount options, what NodeStage does with what blkid found, and the attachment-limit table."""

from __future__ import annotations

import pytest

from k8s_aws.volumes import attachlimits, filesystems
from k8s_aws.volumes.errors import ParameterError
from k8s_aws.volumes.parameters import MkfsOptions, parse_parameters

ALL = MkfsOptions(block_size=1024, inode_size=512, bytes_per_inode=8192, number_of_inodes=900)


def test_mkfs_options_round_trip_from_storageclass_to_node() -> None:
    params = parse_parameters({"blockSize": "1024", "inodeSize": "512",
                               "bytesPerInode": "8192", "numberOfInodes": "900"})
    context = filesystems.volume_context(params.mkfs)
    assert context == {"blockSize": "1024", "inodeSize": "512", "bytesPerInode": "8192",
                       "numberOfInodes": "900"}
    assert filesystems.parse_context(context, "ext4") == ALL
    assert filesystems.volume_context(MkfsOptions()) == {}


@pytest.mark.parametrize(("context", "fs_type", "key"), [
    ({"blocksize": "1024"}, "ext4", "volume_context.blocksize"),
    ({"blockSize": "x"}, "ext4", "volume_context.blockSize"),
    ({"inodeSize": "0"}, "ext4", "volume_context.inodeSize"),
    ({"bytesPerInode": "4096"}, "xfs", "volume_context.bytesPerInode"),
])
def test_bad_volume_context_names_the_key(context: dict[str, str], fs_type: str,
                                          key: str) -> None:
    with pytest.raises(ParameterError) as raised:
        filesystems.parse_context(context, fs_type)
    assert raised.value.key == key


def test_keys_the_co_adds_to_the_context_are_not_ours_to_refuse() -> None:
    context = {"csi.storage.k8s.io/pod.name": "p", "blockSize": "4096"}
    assert filesystems.parse_context(context, "ext4") == MkfsOptions(block_size=4096)


@pytest.mark.parametrize(("fs_type", "options", "argv"), [
    ("ext4", MkfsOptions(), ["mkfs.ext4", "-F", "-q", "/dev/x"]),
    ("ext4", ALL, ["mkfs.ext4", "-F", "-q", "-b", "1024", "-I", "512", "-i", "8192",
                   "-N", "900", "/dev/x"]),
    ("ext3", MkfsOptions(block_size=4096), ["mkfs.ext3", "-F", "-q", "-b", "4096", "/dev/x"]),
    ("xfs", MkfsOptions(block_size=4096, inode_size=512),
     ["mkfs.xfs", "-b", "size=4096", "-i", "size=512", "/dev/x"]),
])
def test_mkfs_command(fs_type: str, options: MkfsOptions, argv: list[str]) -> None:
    assert filesystems.mkfs_command(fs_type, "/dev/x", options) == argv


def test_xfs_mounts_with_nouuid_and_read_only_adds_ro() -> None:
    assert filesystems.mount_options("xfs", ["noatime"]) == ["noatime", "nouuid"]
    assert filesystems.mount_options("ext4", ["noatime"], read_only=True) == ["noatime", "ro"]
    assert filesystems.mount_options("xfs", ["nouuid"]) == ["nouuid"]


@pytest.mark.parametrize(("found", "wanted", "formats", "refused"), [
    ({}, "ext4", True, False),
    ({"TYPE": "ext4", "UUID": "u"}, "ext4", False, False),
    ({"TYPE": "xfs", "UUID": "u"}, "ext4", False, True),
    ({"TYPE": "ext4"}, "xfs", False, True),
    ({"PTTYPE": "gpt"}, "ext4", False, True),  # a partitioned disk is never blank
])
def test_stage_formats_only_a_blank_device(found: dict[str, str], wanted: str, formats: bool,
                                           refused: bool) -> None:
    action = filesystems.stage_action("vol-1", "/dev/x", found, wanted)
    assert action.format is formats
    assert bool(action.refusal) is refused
    if refused:
        assert "vol-1" in action.refusal and wanted in action.refusal


def test_fs_type_defaults_to_ext4_and_refuses_others_by_field() -> None:
    assert filesystems.fs_type_of("") == "ext4"
    assert filesystems.fs_type_of("XFS") == "xfs"
    with pytest.raises(ParameterError) as raised:
        filesystems.fs_type_of("btrfs")
    assert raised.value.key == "volume_capability.mount.fs_type"


def test_growth_only_beyond_a_mebibyte() -> None:
    assert filesystems.needs_growth(1 << 30, 2 << 30)
    assert not filesystems.needs_growth((1 << 30) - 4096, 1 << 30)


@pytest.mark.parametrize(("instance_type", "maximum", "shared"), [
    ("m5.large", 27, True),
    ("c5.xlarge", 27, True),
    ("m7i.large", 32, False),
    ("t2.micro", 40, True),
])
def test_the_generated_table_pins_known_limits(instance_type: str, maximum: int,
                                               shared: bool) -> None:
    assert attachlimits.type_limit(instance_type) == attachlimits.TypeLimit(maximum, shared)
    assert len(attachlimits.table()) > 1000


@pytest.mark.parametrize(("limit", "interfaces", "disks", "available"), [
    (attachlimits.TypeLimit(27, True), 1, 1, 26),  # root only
    (attachlimits.TypeLimit(27, True), 3, 2, 23),  # root + BOSH persistent disk, 3 ENIs
    (attachlimits.TypeLimit(32, False), 3, 2, 30),  # dedicated: ENIs do not count
    (attachlimits.TypeLimit(27, True), 1, 0, 26),  # the root disk always counts
    (attachlimits.TypeLimit(2, True), 4, 1, 0),  # never negative
])
def test_volumes_available(limit: attachlimits.TypeLimit, interfaces: int, disks: int,
                           available: int) -> None:
    assert attachlimits.volumes_available(limit, interfaces, disks) == available
