"""The AWS boundary against the emulator over HTTP: call accounting, error translation,
AssumeRole from the cloud config's RoleARN."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from k8s_aws.cloud.calls import CallRecorder
from k8s_aws.cloud.errors import NotFound, translate
from k8s_aws.cloud.session import AwsClients, AwsSettings
from k8s_aws.config.cloudconfig import ignored_settings, parse_cloud_config
from k8s_aws.controllers.bootstrap import resolve_aws
from k8s_aws_sandbox import reference
from k8s_aws_sandbox.state import SandboxState


@pytest.fixture
def static_keys(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxState) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", sandbox.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", sandbox.secret_key)


def test_every_call_is_counted_and_logged_with_its_outcome(
    sandbox: SandboxState, tmp_path: Path, static_keys: None
) -> None:
    registry = CollectorRegistry()
    log = tmp_path / "calls.jsonl"
    aws = AwsClients(
        AwsSettings(region=sandbox.region, endpoints={"ec2": sandbox.emulator_url},
                    max_attempts=1, app_id="itest-boundary"),
        CallRecorder(registry, log),
    )
    ec2 = aws.client("ec2")
    ec2.describe_availability_zones()
    with pytest.raises(Exception) as info:
        ec2.describe_instances(InstanceIds=["i-0000000000000dead"])
    assert isinstance(translate(info.value, "ec2", "DescribeInstances"), NotFound)

    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(c["operation"], c["outcome"]) for c in lines] == [
        ("DescribeAvailabilityZones", "success"),
        ("DescribeInstances", "InvalidInstanceID.NotFound"),
    ]
    value = registry.get_sample_value(
        "k8s_aws_aws_api_calls_total",
        {"service": "ec2", "operation": "DescribeInstances",
         "outcome": "InvalidInstanceID.NotFound"},
    )
    assert value == 1.0


def test_role_arn_from_the_cloud_config_is_assumed(
    sandbox: SandboxState, static_keys: None
) -> None:
    role_arn = f"arn:aws:iam::123456789012:role/{sandbox.cluster}-control"
    aws = AwsClients(
        AwsSettings(
            region=sandbox.region, role_arn=role_arn, app_id="itest-assume",
            endpoints={"sts": sandbox.emulator_url, "ec2": sandbox.emulator_url},
        )
    )
    identity = aws.client("sts").get_caller_identity()
    assert f":assumed-role/{sandbox.cluster}-control/itest-assume" in identity["Arn"]
    # A call the controllers' policy grants (DescribeVpcs is not in it, and under
    # `make test-iam` the emulator would refuse it).
    assert aws.client("ec2").describe_instances()["Reservations"]


@pytest.mark.once  # no AWS call
def test_the_cloud_config_the_reference_binary_runs_with_sends_us_to_the_same_endpoints(
    sandbox: SandboxState,
) -> None:
    """The config `make bench-reference` gives kubernetes/cloud-provider-aws v1.37 (its SDK v2
    service ids) points our clients at the same emulator for EC2 and both ELB APIs."""
    config = parse_cloud_config(reference.cloud_config(sandbox))
    _, settings = resolve_aws("", "", config, "itest")
    assert settings.region == sandbox.region
    assert settings.endpoints == {
        "ec2": sandbox.emulator_url, "elb": sandbox.emulator_url, "elbv2": sandbox.emulator_url}
    assert ignored_settings(config) == [  # SigningRegion = Region: nothing to report
        "SubnetID: load balancer subnets are discovered by tags or annotation"]
