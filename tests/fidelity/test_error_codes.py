"""AWS's error codes where the emulator's own differ."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from k8s_aws_sandbox.fidelity.control import FidelityControl

from .conftest import IMAGE, ZONES, Aws, error_of


def test_an_unknown_filter_is_invalid_not_a_server_crash(
    control: FidelityControl, aws: Aws
) -> None:
    ec2 = aws.client("ec2", retries={"mode": "standard", "total_max_attempts": 3})
    ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1)  # the emulator filters these
    control.clear_calls()
    with pytest.raises(ClientError) as excinfo:
        ec2.describe_instances(Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    assert error_of(excinfo) == ("InvalidParameterValue", 400)
    assert len(control.calls()) == 1  # a client error: botocore does not retry it


def set_auth(url: str, initial_no_auth_actions: str) -> None:
    request = urllib.request.Request(url + "/moto-api/reset-auth",
                                     data=initial_no_auth_actions.encode(), method="POST",
                                     headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read())["status"] == "ok"


@pytest.fixture
def restricted(control: FidelityControl, aws: Aws) -> Iterator[Aws]:
    """A user allowed ec2:DescribeVolumes only, with the emulator's IAM enforcement on."""
    iam = aws.client("iam")
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ec2:DescribeVolumes", "Resource": "*"}],
    }))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    set_auth(aws.url, "0")
    try:
        yield Aws(aws.url, access_key=key["AccessKeyId"], secret_key=key["SecretAccessKey"])
    finally:
        set_auth(aws.url, "inf")


def test_ec2_denies_with_unauthorized_operation(restricted: Aws) -> None:
    ec2: Any = restricted.client("ec2")
    ec2.describe_volumes()
    with pytest.raises(ClientError) as excinfo:
        ec2.create_volume(Size=1, AvailabilityZone=ZONES[0])
    assert error_of(excinfo) == ("UnauthorizedOperation", 403)
    assert "ec2:CreateVolume" in excinfo.value.response["Error"]["Message"]


def test_switched_off_the_emulators_codes_come_through(
    control: FidelityControl, aws: Aws
) -> None:
    control.patch_config({"behaviours": {"error_codes": False}})
    ec2 = aws.client("ec2")
    volume = ec2.create_volume(Size=1, AvailabilityZone=ZONES[0])["VolumeId"]
    instance = ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1)[
        "Instances"][0]["InstanceId"]
    with pytest.raises(ClientError) as excinfo:
        ec2.detach_volume(VolumeId=volume, InstanceId=instance)
    assert error_of(excinfo)[0] != "IncorrectState"
