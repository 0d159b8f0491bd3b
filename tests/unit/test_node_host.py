"""The node's view of its host, on a fake sysfs and device tree: device identity (NVMe
serial, loop backing file, Xen), resolution that refuses a link to another volume, the EBS
disks counted against the attach limit, mountinfo parsing, and IMDS back-off."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from k8s_aws.cloud.errors import NotConfigured
from k8s_aws.cloud.metadata import NodeMetadata
from k8s_aws.host import blockdev, mounts, resolver
from k8s_aws.volumes.csi.node_identity import NodeIdentity
from k8s_aws.volumes.csi.settings import DriverSettings

VOL_A, VOL_B = "vol-0aaaaaaaaaaaaaaa1", "vol-0bbbbbbbbbbbbbbb2"


class FakeHost:
    """Device nodes as plain files in dev/, their sysfs entries in sys/."""

    def __init__(self, root: Path) -> None:
        self.dev, self.sys, self.by_id = root / "dev", root / "sys", root / "by-id"
        for d in (self.dev, self.sys, self.by_id):
            d.mkdir()
        self.dirs = resolver.SearchDirs(by_id=self.by_id, dev=self.dev, sys_block=self.sys)

    def nvme(self, name: str, volume_id: str) -> Path:
        (self.sys / name / "device").mkdir(parents=True)
        (self.sys / name / "device" / "serial").write_text(volume_id.replace("-", "") + "  \n")
        (self.dev / name).touch()
        return self.dev / name

    def loop(self, name: str, backing: str) -> Path:
        (self.sys / name / "loop").mkdir(parents=True)
        (self.sys / name / "loop" / "backing_file").write_text(backing + "\n")
        (self.dev / name).touch()
        return self.dev / name

    def xen(self, name: str) -> Path:
        (self.sys / name).mkdir()
        (self.dev / name).touch()
        return self.dev / name

    def link(self, directory: Path, name: str, device: Path) -> None:
        (directory / name).symlink_to(device)


@pytest.fixture
def host(tmp_path: Path) -> FakeHost:
    return FakeHost(tmp_path)


def _nvme_link(volume_id: str) -> str:
    return f"{resolver.NVME_PREFIX}{volume_id.replace('-', '')}"


def test_identity_from_nvme_serial_and_loop_backing_file(host: FakeHost) -> None:
    assert blockdev.volume_identity(str(host.nvme("nvme1n1", VOL_A)), host.sys) == VOL_A
    loop = host.loop("loop3", f"/tmp/x/backing/{VOL_B} (deleted)")
    assert blockdev.volume_identity(str(loop), host.sys) == VOL_B
    assert blockdev.volume_identity(str(host.loop("loop4", "/tmp/disk.img")), host.sys) is None
    assert blockdev.volume_identity(str(host.xen("xvdf")), host.sys) is None


def test_resolve_confirms_the_volume_from_the_device(host: FakeHost) -> None:
    device = host.nvme("nvme1n1", VOL_A)
    host.link(host.by_id, _nvme_link(VOL_A), device)
    assert resolver.resolve(VOL_A, "/dev/xvdaa", host.dirs) == str(device)
    # Found through the attach's device name (or its sd alias) too.
    host.link(host.dev, "sdab", host.nvme("nvme2n1", VOL_B))
    assert resolver.resolve(VOL_B, "/dev/xvdab", host.dirs) == str(host.dev / "nvme2n1")


def test_a_link_to_another_volumes_device_is_refused_naming_both(host: FakeHost) -> None:
    other = host.nvme("nvme2n1", VOL_B)
    host.link(host.by_id, _nvme_link(VOL_A), other)
    host.link(host.dev, "xvdaa", other)
    with pytest.raises(resolver.WrongDevice) as raised:
        resolver.resolve(VOL_A, "/dev/xvdaa", host.dirs)
    assert VOL_A in str(raised.value) and VOL_B in str(raised.value)


def test_a_confirmed_candidate_wins_over_a_stale_one(host: FakeHost) -> None:
    host.link(host.dev, "xvdaa", host.nvme("nvme2n1", VOL_B))  # stale device name
    right = host.nvme("nvme1n1", VOL_A)
    host.link(host.by_id, _nvme_link(VOL_A), right)
    assert resolver.resolve(VOL_A, "/dev/xvdaa", host.dirs) == str(right)


def test_not_attached_and_xen_devices(host: FakeHost) -> None:
    with pytest.raises(resolver.NotAttached) as raised:
        resolver.resolve(VOL_A, "/dev/xvdaa", host.dirs)
    assert VOL_A in str(raised.value) and "xvdaa" in str(raised.value)
    xen = host.xen("xvdaa")
    assert resolver.resolve(VOL_A, "/dev/xvdaa", host.dirs) == str(xen)  # nothing to confirm


def test_ebs_disks_the_kernel_sees(host: FakeHost) -> None:
    root = host.nvme("nvme0n1", VOL_A)
    host.link(host.by_id, _nvme_link(VOL_A), root)
    host.link(host.by_id, _nvme_link(VOL_A) + "-ns-1", root)  # one disk, two links
    host.link(host.by_id, "nvme-Amazon_EC2_NVMe_Instance_Storage_AWS1", host.xen("nvme9n1"))
    host.xen("xvdf")
    (host.sys / "xvdf1").mkdir()
    (host.sys / "xvdf1" / "partition").write_text("1")
    (host.dev / "xvdf1").touch()
    assert resolver.ebs_devices(host.dirs) == {"nvme0n1", "xvdf"}


MOUNTINFO = (
    "22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p1 rw\n"
    "90 22 7:3 / /var/lib/k\\040s/stage rw,relatime shared:40 - xfs /dev/loop3 rw,nouuid\n"
    "91 22 7:3 / /pods/x ro,relatime shared:40 - xfs /dev/loop3 rw,nouuid\n"
    "92 22 0:5 /loop3 /pods/raw rw,nosuid shared:2 - devtmpfs udev rw\n"
)


def test_mountinfo_parsing() -> None:
    found = mounts.parse_mountinfo(MOUNTINFO)
    assert [m.mount_point for m in found] == ["/", "/var/lib/k s/stage", "/pods/x", "/pods/raw"]
    stage, pod, raw = found[1], found[2], found[3]
    assert stage.device_numbers == pod.device_numbers == (7, 3)
    assert pod.read_only and not stage.read_only
    assert (raw.fs_type, raw.root, raw.source) == ("devtmpfs", "/loop3", "udev")


def _metadata() -> NodeMetadata:
    return NodeMetadata("i-0123", "us-east-1", "us-east-1a", "m5.large", 2)


def test_imds_unreachable_is_retried_with_back_off_and_one_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    answers: list[object] = [NotConfigured("timeout")] * 4 + [_metadata()]
    delays: list[float] = []

    def fetch() -> NodeMetadata:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, NodeMetadata)
        return answer

    async def sleep(seconds: float) -> None:
        assert not identity.ready
        delays.append(seconds)

    settings = DriverSettings(socket_path=tmp_path / "s", mode="node", aws=None,  # type: ignore[arg-type]
                              device_dirs=resolver.SearchDirs(by_id=tmp_path, dev=tmp_path),
                              imds_retry_max=5.0)
    identity = NodeIdentity(settings, fetch=fetch, sleep=sleep)
    with caplog.at_level(logging.DEBUG):
        asyncio.run(identity.run())
    assert delays == [1.0, 2.0, 4.0, 5.0]
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "hop limit" in errors[0].message and "--node-id" in errors[0].message
    assert identity.ready and identity.node_id == "i-0123" and identity.zone == "us-east-1a"
    # m5.large: 27 shared, minus the root disk (none visible: it always counts), minus the
    # second interface.
    assert identity.max_volumes == 25


def test_overrides_make_the_node_ready_without_imds(tmp_path: Path) -> None:
    settings = DriverSettings(socket_path=tmp_path / "s", mode="node", aws=None,  # type: ignore[arg-type]
                              node_id="i-9", zone="eu-west-1b")
    identity = NodeIdentity(settings, fetch=_metadata)
    assert identity.ready and identity.node_id == "i-9" and identity.zone == "eu-west-1b"
