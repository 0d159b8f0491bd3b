"""csi-sanity, built from its Go module, against `k8s-aws csi-driver --mode all` talking to
the sandbox's emulator with its fidelity layer on, every Node Service case included: the
emulator turns each attachment to the control VM (where the driver runs) into a loop device
over a sparse file of the volume's size, so NodeStage formats and mounts a real device.
Run twice, with mount and with raw block volumes, each with the attach-limit case on
(NodeGetInfo's `max_volumes_per_node` volumes attach, one more is refused). The only skips
are csi-sanity's own, for capabilities the driver does not advertise: pinned below by message.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from k8s_aws_sandbox import binaries
from k8s_aws_sandbox.fidelity.control import FidelityControl
from k8s_aws_sandbox.state import SandboxState

from .csi import APP_ID, running_driver

SKIP = re.compile(r"S \[SKIPPED\] \[[\d.]+ seconds\]\n(.+?)\n.*?\[SKIPPED\] (.+?)\n", re.S)
# csi-sanity v5.4.0's skip messages for what the driver does not advertise: GetCapacity,
# ListVolumes, CLONE_VOLUME, PUBLISH_READONLY, the group controller service.
UNADVERTISED = {
    "GetCapacity not supported", "ListVolumes not supported", "Volume Cloning not supported",
    "ControllerPublishVolume.readonly field not supported",
    "GroupControllerService not supported",
}
SUMMARY = re.compile(r"Ran (\d+) of (\d+) Specs.*?(\d+) Passed \| (\d+) Failed \| (\d+) Pending "
                     r"\| (\d+) Skipped", re.S)


@pytest.mark.parametrize("access_type", [
    "mount",
    # The IAM-enforcing rerun needs one run: block makes the same AWS calls as mount.
    pytest.param("block", marks=pytest.mark.once),
])
def test_csi_sanity_passes_every_case_but_unadvertised_capabilities(
    sandbox: SandboxState, tmp_path: Path, access_type: str
) -> None:
    sanity = binaries.ensure_built(binaries.CSI_SANITY) / "csi-sanity"
    control = FidelityControl(sandbox.emulator_url)
    assert control.config().enabled, "the fidelity layer must be on"
    since = control.calls()[-1].seq if control.calls() else 0
    with running_driver(sandbox, tmp_path / "driver") as driver:
        started = time.monotonic()
        result = subprocess.run(
            [str(sanity), f"--csi.endpoint=unix://{driver.socket}",
             f"--csi.mountdir={tmp_path / 'mnt'}", f"--csi.stagingdir={tmp_path / 'stage'}",
             f"--csi.testvolumeaccesstype={access_type}", "--ginkgo.no-color",
             # The attach-limit case (NodeGetInfo's limit of volumes attached, one more
             # refused; ~50 s) in both runs, so no case is left out by our choice.
             "--csi.testnodevolumeattachlimit",
             "--ginkgo.v"],
            capture_output=True, text=True, timeout=1500, check=False)
        elapsed = time.monotonic() - started
    (tmp_path / "csi-sanity.log").write_text(result.stdout + result.stderr)
    summary = SUMMARY.search(result.stdout)
    assert result.returncode == 0 and summary, (result.stdout[-8000:] + result.stderr[-2000:])
    ran, total, passed, failed, pending, skipped = (int(g) for g in summary.groups())
    assert failed == 0 and passed == ran and ran >= 78, summary.group(0)
    assert skipped + pending == total - ran, summary.group(0)
    print(f"csi-sanity {access_type}: {summary.group(0)} in {elapsed:.0f}s")
    skips = SKIP.findall(result.stdout)
    for spec, reason in skips:
        print(f"  skipped: {spec} -- {reason}")
    assert len(skips) == skipped
    # Only csi-sanity's own skips for capabilities the driver does not advertise.
    reasons = {reason for _, reason in skips}
    assert reasons <= UNADVERTISED, reasons - UNADVERTISED
    actions = {c.action for c in control.calls(client=APP_ID, since=since)}
    assert {"CreateVolume", "AttachVolume", "DetachVolume", "ModifyVolume",
            "CreateSnapshot", "DeleteVolume"} <= actions, actions
    # Every loop device the run attached was released by its detaches.
    assert control.block_devices()["attached"] == {}
