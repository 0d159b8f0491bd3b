"""Crash safety: the emulator's crash hook SIGKILLs the driver right after each mutating AWS
call of create -> attach -> detach (AWS did the work, the driver never heard back). After a
restart the retried calls converge: one volume, never a second, and no leaked attachment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.fidelity.control import FidelityControl
from k8s_aws_sandbox.state import SandboxState

from .csi import APP_ID, Driver, start_driver, stop_driver, volumes_named

# The flow's mutations, in order: CreateVolume, AttachVolume, DetachVolume.
MUTATIONS = ("CreateVolume", "AttachVolume", "DetachVolume")


def _flow(driver: Driver, name: str, node_id: str) -> str:
    volume_id = str(driver.create(name).volume.volume_id)
    driver.publish(volume_id, node_id)
    driver.unpublish(volume_id, node_id)
    return volume_id


def _attachments(ec2: Any, name: str) -> list[dict[str, Any]]:
    return [a for v in volumes_named(ec2, name) for a in v.get("Attachments", [])]


@pytest.mark.parametrize("k", range(1, len(MUTATIONS) + 1), ids=MUTATIONS)
def test_killed_after_each_mutation_converges_after_restart(
    sandbox: SandboxState, ec2: Any, tmp_path: Path, k: int
) -> None:
    control = FidelityControl(sandbox.emulator_url)
    name = f"pvc-crash-{k}"
    driver = start_driver(sandbox, tmp_path / "first")
    try:
        node_id = driver.node_id()
        control.add_crash_hook(APP_ID, after_mutations=k, pid=driver.process.pid)
        with pytest.raises(grpc.RpcError):
            _flow(driver, name, node_id)
        wait_until(lambda: driver.process.poll() is not None, timeout=30,
                   what="the crash hook to kill the driver")
        hook = next(h for h in control.crash_hooks() if h.pid == driver.process.pid)
        assert hook.fired and hook.fired_on == f"ec2:{MUTATIONS[k - 1]}", hook
    finally:
        stop_driver(driver)
        control.clear_crash_hooks()
    restarted = start_driver(sandbox, tmp_path / "second")
    try:
        if k == 2:
            # Attached before the crash: the retried publish must find it, not attach again.
            assert len(_attachments(ec2, name)) == 1
        volume_id = _flow(restarted, name, node_id)
        assert [v["VolumeId"] for v in volumes_named(ec2, name)] == [volume_id]
        wait_until(lambda: not _attachments(ec2, name), timeout=30,
                   what=f"{volume_id} detached")
        restarted.delete(volume_id)
        assert volumes_named(ec2, name) == []
    finally:
        stop_driver(restarted)
