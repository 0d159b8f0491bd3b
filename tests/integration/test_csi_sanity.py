"""csi-sanity, built from its Go module, against `k8s-aws csi-driver --mode all` talking to
the sandbox's emulator with its fidelity layer on. Every identity and controller case must
pass. Node cases are skipped by focus (`--ginkgo.skip="Node Service"`): the node side is a
later issue. They are, in csi-sanity v5.4.0: NodeGetCapabilities, NodeGetInfo, NodePublish /
NodeUnpublish / NodeStage / NodeUnstage / NodeGetVolumeStats / NodeExpandVolume argument
checks, "NodeUnpublishVolume should remove target path", "NodeExpandVolume should work if
node-expand is called after node-publish", "Node Service should work" and "should be
idempotent" (24 specs; listed by `csi-sanity --ginkgo.focus="Node Service" --ginkgo.dry-run
--ginkgo.v`). Cases of capabilities the driver does not advertise (ListVolumes, GetCapacity,
clone, group snapshots, ControllerGetVolume) are skipped by csi-sanity itself.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from k8s_aws.sandbox import binaries
from k8s_aws.sandbox.fidelity.control import FidelityControl
from k8s_aws.sandbox.state import SandboxState

from .csi import APP_ID, running_driver

NODE_CASES = "Node Service"


def test_csi_sanity_passes_every_identity_and_controller_case(
    sandbox: SandboxState, tmp_path: Path
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
             f"--ginkgo.skip={NODE_CASES}", "--ginkgo.no-color"],
            capture_output=True, text=True, timeout=900, check=False)
        elapsed = time.monotonic() - started
    summary = re.search(r"(\d+) Passed \| (\d+) Failed \| (\d+) Pending \| (\d+) Skipped",
                        result.stdout)
    assert result.returncode == 0 and summary, (result.stdout[-8000:] + result.stderr[-2000:])
    passed, failed, _, _ = (int(g) for g in summary.groups())
    assert failed == 0 and passed >= 50, summary.group(0)
    print(f"csi-sanity: {summary.group(0)} in {elapsed:.0f}s")
    # The driver reached AWS through the emulator's fidelity layer, as itself.
    actions = {c.action for c in control.calls(client=APP_ID, since=since)}
    assert {"CreateVolume", "AttachVolume", "DetachVolume", "ModifyVolume",
            "CreateSnapshot", "DeleteVolume"} <= actions, actions
