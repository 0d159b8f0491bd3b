"""The control API: config, clock, switching the layer off, and how the emulator starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from k8s_aws_sandbox.fidelity.config import FidelityConfig
from k8s_aws_sandbox.fidelity.control import ControlError, FidelityControl
from k8s_aws_sandbox.ports import LOOPBACK, free_port

from .conftest import LONG, ZONES, Aws, World, wait_for_emulator


def test_config_round_trip(control: FidelityControl) -> None:
    assert control.reset_config() == FidelityConfig()
    changed = control.patch_config({"delays": {"volume_create": 2.5},
                                    "behaviours": {"target_draining": False}})
    assert changed.delays.volume_create == 2.5
    assert not changed.behaviours.target_draining
    assert changed.delays.volume_attach == FidelityConfig().delays.volume_attach
    assert control.config() == changed
    assert control.set_config(FidelityConfig(seed=3)).seed == 3
    assert control.config().delays.volume_create == FidelityConfig().delays.volume_create


def test_bad_configs_are_refused_with_the_key(control: FidelityControl) -> None:
    before = control.config()
    for change, key in (({"delays": {"volume_creat": 1}}, "volume_creat"),
                        ({"delays": {"volume_create": -1}}, "volume_create"),
                        ({"faults": [{"pattern": "*", "kind": "boom"}]}, "kind")):
        with pytest.raises(ControlError, match=key):
            control.patch_config(change)
    assert control.config() == before


def test_unknown_routes_say_which_exist(control: FidelityControl) -> None:
    with pytest.raises(urllib.error.HTTPError) as excinfo:
        urllib.request.urlopen(control.endpoint + "/_k8s_aws/nope", timeout=5)
    assert excinfo.value.code == 404
    assert "crash-hooks" in json.loads(excinfo.value.read())["routes"]


def test_the_clock_shows_what_is_pending(control: FidelityControl, ec2: Any) -> None:
    volume = ec2.create_volume(Size=1, AvailabilityZone=ZONES[0])["VolumeId"]
    clock = control.clock()
    assert [what for _, what in clock.pending] == [f"{volume} available"]
    assert clock.pending[0][0] == pytest.approx(clock.now + LONG, abs=5)
    assert control.advance(LONG) == 1
    assert control.clock().pending == []


def test_switching_the_layer_off_settles_states_and_passes_calls_through(
    control: FidelityControl, ec2: Any, world: World
) -> None:
    volume = ec2.create_volume(Size=1, AvailabilityZone=ZONES[1])["VolumeId"]
    control.patch_config({"enabled": False})
    assert ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["State"] == "available"
    ec2.attach_volume(VolumeId=volume, InstanceId=world.instance, Device="/dev/xvdba")
    ec2.delete_security_group(GroupId=world.group)  # moto allows both
    assert control.calls()[-1].action == "CreateVolume"  # nothing logged while off


def test_an_emulator_reset_forgets_the_layers_records(control: FidelityControl, ec2: Any) -> None:
    ec2.create_volume(Size=1, AvailabilityZone=ZONES[0], ClientToken="t")
    control.reset_emulator()
    assert control.clock().pending == []
    ec2.create_volume(Size=2, AvailabilityZone=ZONES[0], ClientToken="t")  # no mismatch


@pytest.fixture
def start_emulator(tmp_path: Path) -> Iterator[Any]:
    processes: list[subprocess.Popen[bytes]] = []

    def start(*args: str, env: dict[str, str] | None = None) -> str:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "k8s_aws_sandbox.emulator", f"--port={port}", *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})},
        )
        processes.append(process)
        url = f"http://{LOOPBACK}:{port}"

        def answers() -> None:
            with urllib.request.urlopen(url + "/moto-api/data.json", timeout=2):
                pass

        wait_for_emulator(process, port, answers)
        return url

    yield start
    for process in processes:
        process.terminate()
        process.wait(timeout=10)


def test_the_emulator_reads_a_config_file(start_emulator: Any, tmp_path: Path) -> None:
    path = tmp_path / "fidelity.json"
    path.write_text(json.dumps({"delays": {"snapshot": 9.0}, "seed": 4}))
    url = start_emulator(f"--fidelity-config={path}")
    config = FidelityControl(url).config()
    assert (config.delays.snapshot, config.seed) == (9.0, 4)


def test_the_emulator_without_the_layer(start_emulator: Any) -> None:
    url = start_emulator(env={"K8S_AWS_FIDELITY": "off"})
    with pytest.raises(ControlError):
        FidelityControl(url).config()
    ec2 = Aws(url).client("ec2")
    assert ec2.create_volume(Size=1, AvailabilityZone=ZONES[0])["State"] == "available"
