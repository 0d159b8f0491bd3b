"""Trimmed botocore models: only our operations, every shape they reach, nothing else; the
clients of our sessions are built from them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore
import botocore.loaders
import botocore.session
import pytest

from k8s_aws.cloud.botocore_models import DATA_DIR, PACKAGE_PATH, STAMP_NAME, trimmed_models_dir
from k8s_aws.cloud.operations import declared
from k8s_aws.cloud.session import AwsClients, AwsSettings
from k8s_aws_sandbox import botomodels
from k8s_aws_sandbox.botomodels import trim, undocumented

LOADER = botocore.loaders.Loader()


def _full(service: str) -> dict[str, Any]:
    return dict(LOADER.load_service_model(service, "service-2"))


def _ours(service: str) -> set[str]:
    return {operation for svc, operation in declared() if svc == service}


def _references(shape: dict[str, Any]) -> list[str]:
    refs = [shape[part]["shape"] for part in ("member", "key", "value") if part in shape]
    return refs + [member["shape"] for member in shape.get("members", {}).values()]


def _mentions_documentation(value: Any) -> bool:
    if isinstance(value, dict):
        return "documentation" in value or any(map(_mentions_documentation, value.values()))
    if isinstance(value, list):
        return any(map(_mentions_documentation, value))
    return False


@pytest.mark.parametrize("service", sorted({svc for svc, _ in declared()}))
def test_trimmed_model_holds_our_operations_and_every_shape_they_reach(service: str) -> None:
    full = _full(service)
    trimmed = trim(full, _ours(service))
    assert set(trimmed["operations"]) == _ours(service)
    shapes = trimmed["shapes"]
    for operation in trimmed["operations"].values():
        for ref in (operation.get("input"), operation.get("output"), *operation.get("errors", [])):
            assert ref is None or ref["shape"] in shapes
    for shape in shapes.values():
        assert all(ref in shapes for ref in _references(shape))
    # The same shapes and operations as botocore's, less their documentation.
    for name, shape in shapes.items():
        assert shape == undocumented(full["shapes"][name]), name
    for name, operation in trimmed["operations"].items():
        assert operation == undocumented(full["operations"][name]), name
    assert not _mentions_documentation(trimmed)
    assert trimmed["metadata"] == full["metadata"]


def test_trimmed_ec2_model_is_a_small_part_of_the_full_one() -> None:
    full = _full("ec2")
    trimmed = trim(full, _ours("ec2"))
    assert len(trimmed["operations"]) < len(full["operations"]) / 10
    assert len(trimmed["shapes"]) < len(full["shapes"]) / 5
    assert "Instance" in trimmed["shapes"] and "RunInstancesRequest" not in trimmed["shapes"]


def test_an_operation_the_model_lacks_is_refused() -> None:
    with pytest.raises(ValueError, match="DescribeNothing"):
        trim(_full("ec2"), {"DescribeInstances", "DescribeNothing"})


def test_the_built_models_are_the_ones_our_sessions_use() -> None:
    assert trimmed_models_dir() == DATA_DIR, "run `make botocore-models`"
    clients = AwsClients(AwsSettings(region="us-west-2"))
    ec2 = clients.client("ec2")
    assert hasattr(ec2, "describe_instances") and hasattr(ec2, "create_volume")
    assert not hasattr(ec2, "run_instances")  # not ours: not in the model
    assert ec2.can_paginate("describe_instances")  # paginators still come from botocore
    assert set(ec2.meta.service_model.operation_names) == _ours("ec2")


@pytest.mark.parametrize("stamp", [None, "0.0.1"])
def test_models_missing_or_from_another_botocore_are_not_used(
    tmp_path: Path, stamp: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    if stamp is not None:
        (tmp_path / STAMP_NAME).write_text(stamp + "\n")
    assert trimmed_models_dir(tmp_path) is None
    assert "full models are loaded" in caplog.text
    (tmp_path / STAMP_NAME).write_text(botocore.__version__ + "\n")
    assert trimmed_models_dir(tmp_path) == tmp_path


def test_a_newly_declared_operation_makes_the_build_regenerate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = tmp_path / PACKAGE_PATH / "ec2" / "2016-11-15" / "service-2.json"
    botomodels.generate(tmp_path)
    assert "RunInstances" not in json.loads(model.read_text())["operations"]
    monkeypatch.setattr(botomodels, "declared", lambda: {*declared(), ("ec2", "RunInstances")})
    botomodels.generate(tmp_path)
    assert "RunInstances" in json.loads(model.read_text())["operations"]
    assert trimmed_models_dir(tmp_path / PACKAGE_PATH) == tmp_path / PACKAGE_PATH
