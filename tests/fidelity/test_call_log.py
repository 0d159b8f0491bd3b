"""The call log: who called what, when, with which outcome, per client."""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from k8s_aws_sandbox.fidelity.control import FidelityControl

from .conftest import ZONES, Aws


def test_calls_are_logged_per_client_in_order(control: FidelityControl, aws: Aws) -> None:
    before = time.time()
    manager = Aws(aws.url, app_id="k8s-aws-controller-manager").client("ec2")
    driver = Aws(aws.url, app_id="k8s-aws-csi-driver").client("ec2")
    manager.describe_instances()
    volume = driver.create_volume(Size=1, AvailabilityZone=ZONES[0])["VolumeId"]
    with pytest.raises(ClientError):
        driver.attach_volume(VolumeId=volume, InstanceId="i-0123456789abcdef0",
                             Device="/dev/xvdba")
    calls = control.calls(client="k8s-aws-csi-driver")
    assert [(c.action, c.mutating, c.status, c.error, c.applied) for c in calls] == [
        ("CreateVolume", True, 200, None, True),
        ("AttachVolume", True, 400, "InvalidInstanceID.NotFound", False),
    ]
    assert all(c.service == "ec2" and c.region == "us-west-2" for c in calls)
    assert before <= calls[0].time <= calls[1].time <= time.time()
    assert [c.client for c in control.calls()] == [
        "k8s-aws-controller-manager", "k8s-aws-csi-driver", "k8s-aws-csi-driver"]


def test_reading_what_came_after_and_clearing(control: FidelityControl, ec2: Any) -> None:
    ec2.describe_volumes()
    last = control.calls()[-1].seq
    ec2.describe_instances()
    assert [c.action for c in control.calls(since=last)] == ["DescribeInstances"]
    control.clear_calls()
    assert control.calls() == []


def test_the_app_id_from_the_environment(
    control: FidelityControl, aws: Aws, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SDK_UA_APP_ID", "from-env")
    Aws(aws.url, app_id=None).client("ec2").describe_volumes()
    assert control.calls()[-1].client == "from-env"


def test_without_an_app_id_the_access_key_names_the_client(
    control: FidelityControl, aws: Aws
) -> None:
    Aws(aws.url, app_id=None, access_key="AKIDCONTROL").client("ec2").describe_volumes()
    assert control.calls()[-1].client == "AKIDCONTROL"
    Aws(aws.url, app_id=None).client("ec2", signature_version=UNSIGNED).describe_volumes()
    assert control.calls()[-1].client == "unknown"


def test_load_balancer_calls_name_their_api(control: FidelityControl, aws: Aws) -> None:
    aws.client("elb").describe_load_balancers()
    aws.client("elbv2").describe_load_balancers()
    assert [c.service for c in control.calls()] == ["elb", "elbv2"]


def test_the_log_can_be_switched_off(control: FidelityControl, ec2: Any) -> None:
    control.patch_config({"behaviours": {"call_log": False}})
    ec2.describe_volumes()
    assert control.calls() == []


def test_a_request_cut_short_by_its_dying_client_is_no_call(
    control: FidelityControl, ec2: Any
) -> None:
    """A client killed between its headers and its body: AWS acts on nothing, logs nothing."""
    host, port = control.endpoint.removeprefix("http://").split(":")
    scope = "AKIDTEST/20261208/us-west-2/elasticloadbalancing/aws4_request"
    head = (
        "POST / HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n"
        "User-Agent: Botocore/1.0 app/k8s-aws-controller-manager\r\n"
        f"Authorization: AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0\r\n"
        "Content-Length: 120\r\n\r\n"
        "Action=CreateLoadBalancer&LoadBalancerName=cut"
    )
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(head.encode())
        conn.shutdown(socket.SHUT_WR)
        answer = conn.recv(1024)
    assert answer.startswith(b"HTTP/1.1 400")
    ec2.describe_volumes()  # the emulator still answers, and logs whole calls
    assert [(c.service, c.action) for c in control.calls()] == [("ec2", "DescribeVolumes")]
