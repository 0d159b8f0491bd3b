"""csi-sanity, built from its Go module, against `k8s-aws csi-driver --mode all` talking to
the sandbox's emulator with its fidelity layer on, every Node Service case included: the
emulator turns each attachment to the control VM (where the driver runs) into a loop device
over a sparse file of the volume's size, so NodeStage formats and mounts a real device.
Run twice, with mount and with raw block volumes. The only skips left are csi-sanity's own,
for capabilities the driver does not advertise (ListVolumes, GetCapacity, cloning, group
snapshots, ControllerGetVolume, and the like); their count is pinned below.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

from k8s_aws.sandbox import binaries
from k8s_aws.sandbox.fidelity.control import FidelityControl
from k8s_aws.sandbox.state import SandboxState

from .csi import APP_ID, running_driver

SUMMARY = re.compile(r"Ran (\d+) of (\d+) Specs.*?(\d+) Passed \| (\d+) Failed \| (\d+) Pending "
                     r"\| (\d+) Skipped", re.S)


@pytest.mark.parametrize("access_type", ["mount", "block"])
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
             "--ginkgo.v"],
            capture_output=True, text=True, timeout=1500, check=False)
        elapsed = time.monotonic() - started
    summary = SUMMARY.search(result.stdout)
    assert result.returncode == 0 and summary, (result.stdout[-8000:] + result.stderr[-2000:])
    ran, total, passed, failed, _, skipped = (int(g) for g in summary.groups())
    assert failed == 0 and passed == ran and ran >= 70, summary.group(0)
    print(f"csi-sanity {access_type}: {summary.group(0)} in {elapsed:.0f}s")
    skips = sorted(set(re.findall(r"\[SKIPPED\].*?\n\s*(.+?)\n", result.stdout)))
    print("skipped:", *skips, sep="\n  ")
    # csi-sanity's skips, all for capabilities the driver does not advertise.
    reasons = set(re.findall(r"\b(\w[\w ]*? not supported)\b", result.stdout))
    assert skipped == total - ran, summary.group(0)
    assert "NodeStageVolume not supported" not in reasons
    assert "NodeGetVolume not supported" not in reasons
    assert "NodeExpandVolume not supported" not in reasons
    actions = {c.action for c in control.calls(client=APP_ID, since=since)}
    assert {"CreateVolume", "AttachVolume", "DetachVolume", "ModifyVolume",
            "CreateSnapshot", "DeleteVolume"} <= actions, actions
    # Every loop device the run attached was released by its detaches.
    assert control.block_devices()["attached"] == {}
