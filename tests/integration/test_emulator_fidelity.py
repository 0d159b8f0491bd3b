"""The sandbox's emulator runs with the fidelity layer on, and its control API answers."""

from __future__ import annotations

from typing import Any

from k8s_aws_sandbox.fidelity.config import FidelityConfig
from k8s_aws_sandbox.fidelity.control import FidelityControl
from k8s_aws_sandbox.state import SandboxState


def test_the_sandbox_emulator_behaves_like_aws(sandbox: SandboxState, ec2: Any) -> None:
    control = FidelityControl(sandbox.emulator_url)
    before = control.config()
    assert before.enabled and before == FidelityConfig()
    try:
        control.patch_config({"delays": {"volume_create": 600}})
        subnet = next(iter(sandbox.world.subnets.values()))
        zone = ec2.describe_subnets(SubnetIds=[subnet])["Subnets"][0]["AvailabilityZone"]
        volume = ec2.create_volume(Size=1, AvailabilityZone=zone)["VolumeId"]
        assert ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["State"] == "creating"
        control.advance(600)
        assert ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["State"] == "available"
        ec2.delete_volume(VolumeId=volume)
        deletes = [c for c in control.calls() if c.action == "DeleteVolume"]
        assert deletes and deletes[-1].applied
    finally:
        control.set_config(before)
