"""Error translation, cluster-name tags, --controllers syntax and endpoint overrides."""

from __future__ import annotations

import os
from typing import Any

import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from k8s_aws.cloud.errors import (
    AlreadyExists,
    Conflict,
    CredentialsRejected,
    Denied,
    InUse,
    Invalid,
    LimitExceeded,
    NotConfigured,
    NotFound,
    RateWindowExceeded,
    Throttled,
    TokenReused,
    Unavailable,
    WrongState,
    translate,
)
from k8s_aws.cloud.instances import instance_record
from k8s_aws.config.cloudconfig import parse_cloud_config
from k8s_aws.config.cluster import AmbiguousCluster, cluster_name_from_tags
from k8s_aws.controllers.bootstrap import resolve_aws
from k8s_aws.controllers.settings import InvalidControllers, parse_controllers


def client_error(code: str, status: int = 400) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}
    }
    return ClientError(response, "DescribeInstances")


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("RequestLimitExceeded", 503, Throttled),
        ("Throttling", 400, Throttled),
        ("UnauthorizedOperation", 403, Denied),
        ("InvalidInstanceID.NotFound", 400, NotFound),
        ("LoadBalancerNotFound", 400, NotFound),
        ("DependencyViolation", 400, InUse),
        ("VolumeInUse", 400, InUse),
        ("ResourceInUse", 400, InUse),
        ("InvalidGroup.Duplicate", 400, AlreadyExists),
        ("InvalidPermission.Duplicate", 400, AlreadyExists),
        ("DuplicatePolicyName", 400, AlreadyExists),
        ("DuplicateLoadBalancerName", 400, AlreadyExists),
        ("IdempotentParameterMismatch", 400, TokenReused),
        ("IncorrectModificationState", 400, WrongState),
        ("IncorrectState", 400, WrongState),
        ("InvalidVolume.ZoneMismatch", 400, Conflict),
        ("AttachmentLimitExceeded", 400, LimitExceeded),
        ("VolumeLimitExceeded", 400, LimitExceeded),
        ("VolumeModificationRateExceeded", 400, RateWindowExceeded),
        ("InternalError", 500, Unavailable),
        ("InvalidParameterValue", 400, Invalid),
    ],
)
def test_client_errors_map_to_our_kinds(code: str, status: int, kind: type) -> None:
    error = translate(client_error(code, status), "ec2", "DescribeInstances")
    assert isinstance(error, kind)
    assert error.code == code


def test_denied_names_the_iam_action() -> None:
    error = translate(client_error("AccessDenied", 403), "elb", "CreateLoadBalancer")
    assert isinstance(error, Denied)
    assert error.action == "elasticloadbalancing:CreateLoadBalancer"
    assert "grant IAM action elasticloadbalancing:CreateLoadBalancer" in str(error)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("InvalidClientTokenId", 403),
        ("SignatureDoesNotMatch", 403),
        ("ExpiredToken", 400),
        ("ExpiredTokenException", 400),
        ("RequestExpired", 400),
        ("UnrecognizedClientException", 400),
        ("AuthFailure", 401),
    ],
)
def test_rejected_credentials_are_not_a_missing_iam_action(code: str, status: int) -> None:
    error = translate(client_error(code, status), "ec2", "DescribeInstances")
    assert isinstance(error, CredentialsRejected)
    assert not isinstance(error, Denied)
    assert str(error) == f"credentials rejected: DescribeInstances: {code}: m"
    assert "grant" not in str(error)


def test_missing_credentials_say_what_to_do() -> None:
    error = translate(NoCredentialsError(), "ec2", "DescribeInstances")
    assert isinstance(error, NotConfigured)
    assert "instance profile" in str(error)


def test_cluster_name_from_tags() -> None:
    assert cluster_name_from_tags((("kubernetes.io/cluster/prod", "owned"),)) == "prod"
    assert cluster_name_from_tags((("KubernetesCluster", "legacy"),)) == "legacy"
    assert cluster_name_from_tags((("Name", "x"),)) is None
    with pytest.raises(AmbiguousCluster, match="a, b"):
        cluster_name_from_tags((("kubernetes.io/cluster/a", "owned"),
                                ("kubernetes.io/cluster/b", "shared")))


@pytest.mark.parametrize(
    ("spec", "enabled"),
    [
        ("*", {"cloud-node", "cloud-node-lifecycle", "service"}),
        ("*,-cloud-node-lifecycle", {"cloud-node", "service"}),
        ("cloud-node-lifecycle", {"cloud-node-lifecycle"}),
        ("", set()),
    ],
)
def test_controllers_flag(spec: str, enabled: set[str]) -> None:
    assert parse_controllers(spec) == enabled


def test_unknown_controller_is_named_with_the_allowed_ones() -> None:
    with pytest.raises(InvalidControllers, match="unknown controller 'route'; allowed: \\*"):
        parse_controllers("*,route")


def test_resolve_aws_takes_the_reference_v1_37_overrides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", raising=False)
    config = parse_cloud_config(
        "[Global]\nRegion = us-west-2\nKubernetesClusterID = c\n" + "".join(
            f'[ServiceOverride "{n}"]\nService = {service}\nRegion = {region}\nURL = {url}\n'
            f"SigningRegion = {region}\n"
            for n, (service, region, url) in enumerate([
                ("EC2", "us-west-2", "http://127.0.0.1:1"),
                ("Elastic Load Balancing", "us-west-2", "http://127.0.0.1:2"),
                ("Elastic Load Balancing v2", "us-west-2", "http://127.0.0.1:3"),
                ("EC2", "eu-west-1", "http://127.0.0.1:4"),
                ("ec2imds", "us-west-2", "http://127.0.0.1:5"),
            ])
        )
    )
    placement, settings = resolve_aws("", "", config, "k8s-aws")
    assert (placement.region, placement.cluster_name) == ("us-west-2", "c")
    assert settings.endpoints == {
        "ec2": "http://127.0.0.1:1", "elb": "http://127.0.0.1:2", "elbv2": "http://127.0.0.1:3"
    }
    assert os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] == "http://127.0.0.1:5"


def test_instance_record_orders_primary_ip_first() -> None:
    record = instance_record({
        "InstanceId": "i-12345678", "State": {"Name": "running"}, "InstanceType": "m5.large",
        "Placement": {"AvailabilityZone": "us-west-2a"}, "PrivateDnsName": "ip-10-0-0-5.x",
        "NetworkInterfaces": [{
            "Attachment": {"DeviceIndex": 0},
            "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.0.6", "Primary": False},
                                   {"PrivateIpAddress": "10.0.0.5", "Primary": True}],
        }],
        "Tags": [{"Key": "a", "Value": "b"}],
    })
    assert record.interfaces[0].private_ipv4s == ("10.0.0.5", "10.0.0.6")
    assert record.tag("a") == "b"
