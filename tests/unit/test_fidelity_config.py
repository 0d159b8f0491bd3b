"""The fidelity config: defaults, JSON round trip, merging, and errors that name the key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from k8s_aws_sandbox.fidelity.config import (
    Behaviours,
    ConfigError,
    FaultRule,
    FidelityConfig,
    load,
)


def test_everything_is_on_by_default_with_short_delays_and_no_faults() -> None:
    config = FidelityConfig()
    assert config.enabled
    assert all(vars(config.behaviours).values())
    assert all(0 < delay <= 1.0 for delay in vars(config.delays).values())
    assert config.limits.modification_window == 30.0
    assert config.faults == ()


def test_json_round_trip() -> None:
    config = FidelityConfig(
        behaviours=Behaviours(target_draining=False),
        faults=(FaultRule("ec2:Describe*", "throttle", rate=0.25, clients="k8s-*"),),
        seed=9,
    )
    assert FidelityConfig.from_json(json.loads(json.dumps(config.to_json()))) == config


def test_missing_keys_take_defaults_and_integers_are_numbers() -> None:
    config = FidelityConfig.from_json({"delays": {"volume_create": 2}})
    assert config.delays.volume_create == 2.0
    assert config.delays.volume_attach == FidelityConfig().delays.volume_attach


def test_merging_keeps_what_it_does_not_name() -> None:
    base = FidelityConfig.from_json({"delays": {"snapshot": 5}, "faults": [
        {"pattern": "*", "kind": "throttle"}]})
    merged = base.merged({"delays": {"volume_create": 3}, "faults": []})
    assert (merged.delays.snapshot, merged.delays.volume_create) == (5.0, 3.0)
    assert merged.faults == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"delay": {}}, "unknown key"),
        ({"delays": {"volume_create": "1"}}, "delays.volume_create: expected a number"),
        ({"delays": {"volume_create": -1}}, "delays.volume_create: must not be negative"),
        ({"behaviours": {"call_log": 1}}, "behaviours.call_log: expected true or false"),
        ({"limits": {"modifications_per_window": 0}}, "modifications_per_window"),
        ({"limits": {"rules_per_group": 1.5}}, "limits.rules_per_group: expected an integer"),
        ({"faults": {}}, "faults: expected a list"),
        ({"faults": [{"kind": "throttle"}]}, "faults[0].: "),
        ({"faults": [{"pattern": "*", "kind": "boom"}]}, "faults[0].kind"),
        ({"faults": [{"pattern": "*", "kind": "throttle", "rate": 2}]}, "faults[0].rate"),
        ({"faults": [{"pattern": "*", "kind": "server_error", "status": 502}]}, "status"),
        ({"faults": [{"pattern": "*", "kind": "throttle", "after_apply": True}]}, "after_apply"),
        ({"enabled": "yes"}, "enabled: expected true or false"),
    ],
)
def test_bad_values_name_their_key(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        FidelityConfig.from_json(data)
    assert message in str(excinfo.value)


def test_load_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "fidelity.json"
    path.write_text('{"enabled": false}')
    assert not load(path).enabled
    path.write_text("[]")
    with pytest.raises(ConfigError, match="JSON object"):
        load(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "missing.json")
