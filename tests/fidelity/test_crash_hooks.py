"""Crash hooks kill a named client right after its k-th applied mutation, every time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.fidelity.control import ControlError, FidelityControl

from .conftest import LONG, REGION, ZONES, Aws

# A stand-in controller: creates volumes one after the other, printing each answer it read.
# It calls nothing before the test's go line, so the test registers its hook first.
CONTROLLER = """
import sys, boto3
from botocore.config import Config
ec2 = boto3.session.Session(aws_access_key_id="k", aws_secret_access_key="s",
                            region_name=sys.argv[2]).client(
    "ec2", endpoint_url=sys.argv[1],
    config=Config(user_agent_appid="victim", retries={"total_max_attempts": 1}))
sys.stdin.readline()
ec2.describe_volumes()
for _ in range(10):
    print(ec2.create_volume(Size=1, AvailabilityZone=sys.argv[3])["VolumeId"], flush=True)
"""


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()


def test_the_kth_mutation_is_applied_then_the_process_killed(
    control: FidelityControl, aws: Aws, sleeper: subprocess.Popen[bytes]
) -> None:
    hook = control.add_crash_hook("victim", after_mutations=2, pid=sleeper.pid)
    assert (hook.seen, hook.fired) == (0, False)
    victim = Aws(aws.url, app_id="victim").client("ec2")
    others = aws.client("ec2")
    victim.describe_volumes()  # reads do not count
    first = victim.create_volume(Size=1, AvailabilityZone=ZONES[0])["VolumeId"]
    others.create_volume(Size=1, AvailabilityZone=ZONES[0])  # other clients do not count
    with pytest.raises(ClientError):  # refused, so not applied: does not count
        victim.attach_volume(VolumeId=first, InstanceId="i-0123456789abcdef0", Device="/dev/xvdf")
    assert sleeper.poll() is None
    victim.delete_volume(VolumeId=first)
    wait_until(lambda: sleeper.poll() is not None, timeout=10, what="the victim to die")
    assert sleeper.returncode == -signal.SIGKILL
    (status,) = control.crash_hooks()
    assert (status.seen, status.fired, status.fired_on, status.error) == (
        2, True, "ec2:DeleteVolume", None)
    assert status.calls == ["ec2:CreateVolume", "ec2:DeleteVolume"]
    assert first not in [v["VolumeId"] for v in victim.describe_volumes()["Volumes"]]


@pytest.mark.parametrize("k", [1, 3])
def test_a_controller_never_reads_the_answer_to_its_last_call(
    control: FidelityControl, k: int
) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", CONTROLLER, control.endpoint, REGION, ZONES[0]],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ},
    )
    try:
        control.add_crash_hook("victim", after_mutations=k, pid=process.pid)
        stdout, _ = process.communicate(input=b"go\n", timeout=60)
    finally:
        if process.poll() is None:  # the hook was refused, or the victim outlived the timeout
            process.kill()
            process.communicate()
    assert process.returncode == -signal.SIGKILL
    seen_by_controller = stdout.decode().split()
    assert len(seen_by_controller) == k - 1
    created = [c for c in control.calls(client="victim") if c.action == "CreateVolume"]
    assert len(created) == k and all(c.applied for c in created)
    control.advance(LONG)
    aws_volumes = Aws(control.endpoint).client("ec2").describe_volumes()["Volumes"]
    assert len(aws_volumes) == k  # the k-th volume exists: applied, then killed


def test_a_hook_for_a_process_that_is_gone_reports_why(
    control: FidelityControl, aws: Aws, sleeper: subprocess.Popen[bytes]
) -> None:
    sleeper.kill()
    sleeper.wait()
    control.add_crash_hook("victim", after_mutations=1, pid=sleeper.pid)
    Aws(aws.url, app_id="victim").client("ec2").create_volume(Size=1,
                                                               AvailabilityZone=ZONES[0])
    (status,) = control.crash_hooks()
    assert status.fired and status.error is not None


def test_invalid_hooks_are_refused(control: FidelityControl) -> None:
    with pytest.raises(ControlError, match="400"):
        control.add_crash_hook("victim", after_mutations=0, pid=12345)
    with pytest.raises(ControlError, match="400"):
        control.add_crash_hook("victim", after_mutations=1, pid=1)


def test_hooks_can_be_switched_off_and_cleared(
    control: FidelityControl, aws: Aws, sleeper: subprocess.Popen[bytes]
) -> None:
    control.add_crash_hook("victim", after_mutations=1, pid=sleeper.pid)
    control.patch_config({"behaviours": {"crash_hooks": False}})
    victim: Any = Aws(aws.url, app_id="victim").client("ec2")
    victim.create_volume(Size=1, AvailabilityZone=ZONES[0])
    assert sleeper.poll() is None and not control.crash_hooks()[0].fired
    control.clear_crash_hooks()
    assert control.crash_hooks() == []
