"""AWS clients for the operator's tools (`setup`, `doctor`, `gc`), run on a control VM or a
workstation: region from the flag, the standard AWS settings or IMDS; credentials checked
before the first call, so a missing one is a clear line and not a half-done change."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import botocore.session

from k8s_aws.cloud.errors import NotConfigured, translate
from k8s_aws.cloud.metadata import read_local_instance
from k8s_aws.cloud.session import AwsClients, AwsSettings

T = TypeVar("T")


def resolve_region(region_flag: str) -> tuple[str, str]:
    """The region and where it came from (flag, AWS settings, instance metadata)."""
    if region_flag:
        return region_flag, "--region"
    configured = (os.environ.get("AWS_REGION")
                  or botocore.session.get_session().get_config_variable("region"))
    if configured:
        return str(configured), "AWS_REGION / AWS config"
    try:
        return read_local_instance().region, "instance metadata (IMDS)"
    except NotConfigured as exc:
        raise NotConfigured(f"no AWS region: set --region or AWS_REGION ({exc})") from None


def operator_clients(region: str, tool: str) -> AwsClients:
    """Clients named `k8s-aws-<tool>` in the User-Agent (the emulator's call log keys on it)."""
    session = botocore.session.get_session()
    try:
        credentials = session.get_credentials()
    except Exception as exc:  # a broken profile or credential process
        raise NotConfigured(f"no usable AWS credentials: {exc}") from None
    if credentials is None:
        raise NotConfigured(
            "no AWS credentials: run on a VM with an instance profile (IMDS) or set "
            "AWS_PROFILE / AWS_ACCESS_KEY_ID"
        )
    return AwsClients(AwsSettings(region=region, app_id=f"k8s-aws-{tool}", max_attempts=4))


def tags_of(raw: list[dict[str, str]] | None) -> tuple[tuple[str, str], ...]:
    """AWS's [{Key, Value}] as the (key, value) pairs our records hold."""
    return tuple((t["Key"], t["Value"]) for t in raw or [])


def call(service: str, operation: str, request: Callable[[], T]) -> T:
    """One blocking boto3 call, its error translated into ours."""
    try:
        return request()
    except Exception as exc:
        raise translate(exc, service, operation) from exc
