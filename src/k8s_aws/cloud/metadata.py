"""What the instance metadata service (IMDSv2, through botocore's fetcher) says about the
machine we run on. Retries are bounded: off EC2 the answer is a quick, clear "no"."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.utils import IMDSFetcher, resolve_imds_endpoint_mode

from k8s_aws.cloud.errors import NotConfigured


@dataclass(frozen=True)
class LocalInstance:
    instance_id: str
    region: str
    zone: str


class _MetadataReader:
    """botocore's IMDSv2 client (token handling, endpoint settings, retries) for any path."""

    def __init__(self, timeout: float, attempts: int) -> None:
        # The endpoint settings (AWS_EC2_METADATA_SERVICE_ENDPOINT, config files) as
        # botocore's own credential chain resolves them.
        session = botocore.session.get_session()
        config = {
            "ec2_metadata_service_endpoint": session.get_config_variable(
                "ec2_metadata_service_endpoint"
            ),
            "ec2_metadata_service_endpoint_mode": resolve_imds_endpoint_mode(session),
        }
        self._fetcher: Any = IMDSFetcher(
            timeout=timeout, num_attempts=attempts, config=config  # type: ignore[arg-type]
        )

    def read(self, path: str) -> str:
        fetcher = self._fetcher
        token = fetcher._fetch_metadata_token()
        response = fetcher._get_request(
            url_path=path, retry_func=fetcher._default_retry, token=token
        )
        return str(response.text)


def use_metadata_endpoint(url: str) -> None:
    """Point IMDS reads, ours and botocore's credential chain alike, at `url` (the cloud
    config's ec2imds override) through botocore's own endpoint setting."""
    os.environ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = url


def read_local_instance(timeout: float = 1.0, attempts: int = 2) -> LocalInstance:
    """Instance id, region and zone from IMDS, or NotConfigured saying what is missing."""
    reader = _MetadataReader(timeout, attempts)
    try:
        zone = reader.read("/latest/meta-data/placement/availability-zone/")
        return LocalInstance(
            instance_id=reader.read("/latest/meta-data/instance-id"),
            region=reader.read("/latest/meta-data/placement/region"),
            zone=zone,
        )
    except Exception as exc:
        raise NotConfigured(
            f"not on EC2 or the instance metadata service is unreachable ({type(exc).__name__})"
        ) from None


@dataclass(frozen=True)
class NodeMetadata:
    """What the node service needs about its instance: identity, placement, and what counts
    against its attachment limit (its instance type and network interfaces)."""

    instance_id: str
    region: str
    zone: str
    instance_type: str
    interfaces: int


def read_node_metadata(timeout: float = 1.0, attempts: int = 1) -> NodeMetadata:
    """From IMDS only (the node holds no EC2 credentials), or NotConfigured."""
    reader = _MetadataReader(timeout, attempts)
    try:
        macs = reader.read("/latest/meta-data/network/interfaces/macs/")
        return NodeMetadata(
            instance_id=reader.read("/latest/meta-data/instance-id"),
            region=reader.read("/latest/meta-data/placement/region"),
            zone=reader.read("/latest/meta-data/placement/availability-zone"),
            instance_type=reader.read("/latest/meta-data/instance-type"),
            interfaces=len([m for m in macs.split() if m.strip("/")]),
        )
    except Exception as exc:
        raise NotConfigured(
            f"the instance metadata service is unreachable ({type(exc).__name__})"
        ) from None
