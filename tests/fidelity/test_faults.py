"""Injected throttling and server errors, as botocore sees them."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from k8s_aws_sandbox.fidelity.control import FidelityControl

from .conftest import ZONES, Aws, error_of


def test_ec2_throttles_with_request_limit_exceeded(control: FidelityControl, ec2: Any) -> None:
    control.patch_config({"faults": [{"pattern": "ec2:Describe*", "kind": "throttle"}]})
    with pytest.raises(ClientError) as excinfo:
        ec2.describe_volumes()
    assert error_of(excinfo) == ("RequestLimitExceeded", 503)
    ec2.create_volume(Size=1, AvailabilityZone=ZONES[0])  # the pattern does not match
    assert [(c.action, c.error, c.source) for c in control.calls()] == [
        ("DescribeVolumes", "RequestLimitExceeded", "fault"),
        ("CreateVolume", None, "emulator"),
    ]


def test_botocore_retries_a_throttled_call(control: FidelityControl, aws: Aws) -> None:
    control.patch_config({"faults": [{"pattern": "ec2:DescribeVolumes", "kind": "throttle"}]})
    ec2 = aws.client("ec2", retries={"mode": "standard", "total_max_attempts": 3})
    with pytest.raises(ClientError) as excinfo:
        ec2.describe_volumes()
    assert excinfo.value.response["Error"]["Code"] == "RequestLimitExceeded"
    assert len(control.calls()) == 3


def test_load_balancers_throttle_with_throttling(control: FidelityControl, aws: Aws) -> None:
    control.patch_config({"faults": [{"pattern": "elb*:*", "kind": "throttle"}]})
    for service in ("elb", "elbv2"):
        with pytest.raises(ClientError) as excinfo:
            aws.client(service).describe_load_balancers()
        assert error_of(excinfo) == ("Throttling", 400)


def test_server_errors_before_the_call_change_nothing(control: FidelityControl, ec2: Any) -> None:
    control.patch_config({"faults": [{"pattern": "ec2:CreateVolume", "kind": "server_error"}]})
    with pytest.raises(ClientError) as excinfo:
        ec2.create_volume(Size=1, AvailabilityZone=ZONES[0])
    assert error_of(excinfo) == ("InternalError", 500)
    control.patch_config({"faults": []})
    assert ec2.describe_volumes()["Volumes"] == []


def test_a_server_error_after_the_call_and_a_retry_with_the_same_token(
    control: FidelityControl, ec2: Any
) -> None:
    control.patch_config({"faults": [{"pattern": "ec2:CreateVolume", "kind": "server_error",
                                      "status": 503, "after_apply": True}]})
    with pytest.raises(ClientError) as excinfo:
        ec2.create_volume(Size=1, AvailabilityZone=ZONES[0], ClientToken="t-1")
    assert error_of(excinfo) == ("Unavailable", 503)
    (created,) = ec2.describe_volumes()["Volumes"]  # AWS did the work anyway
    control.patch_config({"faults": []})
    retried = ec2.create_volume(Size=1, AvailabilityZone=ZONES[0], ClientToken="t-1")
    assert retried["VolumeId"] == created["VolumeId"]
    assert control.calls()[0].applied and control.calls()[0].source == "fault"


def outcomes(ec2: Any, count: int) -> list[bool]:
    results = []
    for _ in range(count):
        try:
            ec2.describe_volumes()
            results.append(True)
        except ClientError:
            results.append(False)
    return results


def test_a_rate_with_a_seed_fails_the_same_calls_again(control: FidelityControl, ec2: Any) -> None:
    faults = {"faults": [{"pattern": "ec2:*", "kind": "throttle", "rate": 0.5}], "seed": 7}
    control.patch_config(faults)
    first = outcomes(ec2, 40)
    control.patch_config(faults)  # setting the config re-seeds the dice
    assert outcomes(ec2, 40) == first
    assert 5 < first.count(False) < 35


def test_faults_for_one_client_only(control: FidelityControl, aws: Aws) -> None:
    control.patch_config({"faults": [{"pattern": "*", "kind": "server_error",
                                      "clients": "victim"}]})
    aws.client("ec2").describe_volumes()
    with pytest.raises(ClientError) as excinfo:
        Aws(aws.url, app_id="victim").client("ec2").describe_volumes()
    assert error_of(excinfo) == ("InternalError", 500)
