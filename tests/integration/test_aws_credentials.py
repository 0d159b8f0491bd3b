"""Credentials AWS refuses are reported as such, never as an IAM action to grant.

An emulator of this module's own enforces IAM (the session sandbox enforces it only under
`make test-iam`): unknown key ids and wrong secrets are refused as AWS refuses them, and a
known user without a policy is denied, to tell the two apart.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest

from k8s_aws.cloud.errors import CloudError, CredentialsRejected, Denied
from k8s_aws.cloud.runner import Runner
from k8s_aws.cloud.session import AwsClients, AwsSettings
from tests.fidelity.conftest import emulator_process, wait_for_emulator

pytestmark = pytest.mark.once  # its own emulator: the IAM rerun would repeat it unchanged
REGION = "us-west-2"


@pytest.fixture(scope="module")
def enforcing_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(URL, key id of a user without any policy) of an emulator enforcing IAM."""
    log_path: Path = tmp_path_factory.mktemp("credentials") / "emulator.log"
    with emulator_process(log_path, "--no-fidelity") as (process, url):
        iam = _client(url, "iam", "bootstrap", "bootstrap")
        wait_for_emulator(process, int(url.rsplit(":", 1)[1]), iam.list_users,
                          exited=lambda: f"emulator exited:\n{log_path.read_text()[-3000:]}")
        iam.create_user(UserName="nobody")
        key = iam.create_access_key(UserName="nobody")["AccessKey"]
        request = urllib.request.Request(f"{url}/moto-api/reset-auth", data=b"0", method="POST",
                                         headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(request, timeout=10):
            pass
        yield url, json.dumps([key["AccessKeyId"], key["SecretAccessKey"]])


def _client(url: str, service: str, key: str, secret: str) -> Any:
    session = boto3.session.Session(aws_access_key_id=key, aws_secret_access_key=secret,
                                    region_name=REGION)
    return session.client(service, endpoint_url=url)  # type: ignore[call-overload]


async def _refusal(url: str, service: str, operation: str, key: str, secret: str,
                   monkeypatch: pytest.MonkeyPatch) -> CloudError:
    """The error our boundary raises for one call with these credentials."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    aws = AwsClients(AwsSettings(region=REGION, endpoints={service: url}, max_attempts=1,
                                 app_id="itest-credentials"))
    calls: dict[str, Callable[[], object]] = {
        "ec2": lambda: aws.client("ec2").describe_availability_zones(),
        "sts": lambda: aws.client("sts").get_caller_identity(),
        "elbv2": lambda: aws.client("elbv2").describe_load_balancers(),
    }
    method = calls[service]
    with ThreadPoolExecutor(1) as executor, pytest.raises(CloudError) as info:
        await Runner(executor)(service, operation, method)
    return info.value


@pytest.mark.parametrize(
    ("service", "operation", "code"),
    [
        ("ec2", "DescribeAvailabilityZones", "AuthFailure"),
        ("sts", "GetCallerIdentity", "InvalidClientTokenId"),
        ("elbv2", "DescribeLoadBalancers", "InvalidClientTokenId"),
    ],
)
async def test_an_unknown_key_is_rejected_credentials(
    enforcing_emulator: tuple[str, str], monkeypatch: pytest.MonkeyPatch,
    service: str, operation: str, code: str,
) -> None:
    url, _ = enforcing_emulator
    error = await _refusal(url, service, operation, "AKIAUNKNOWNUNKNOWN00", "x", monkeypatch)
    assert isinstance(error, CredentialsRejected) and not isinstance(error, Denied)
    assert error.code == code
    assert str(error).startswith(f"credentials rejected: {operation}: {code}: ")
    assert "grant" not in str(error)


async def test_a_wrong_secret_is_rejected_credentials(
    enforcing_emulator: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, known = enforcing_emulator
    key_id, _ = json.loads(known)
    error = await _refusal(url, "sts", "GetCallerIdentity", key_id, "not-the-secret", monkeypatch)
    assert isinstance(error, CredentialsRejected)
    assert error.code == "SignatureDoesNotMatch"


async def test_valid_credentials_without_a_policy_name_the_action_to_grant(
    enforcing_emulator: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, known = enforcing_emulator
    key_id, secret = json.loads(known)
    error = await _refusal(url, "ec2", "DescribeAvailabilityZones", key_id, secret, monkeypatch)
    assert isinstance(error, Denied) and not isinstance(error, CredentialsRejected)
    assert error.action == "ec2:DescribeAvailabilityZones"
    assert "grant IAM action ec2:DescribeAvailabilityZones" in str(error)
