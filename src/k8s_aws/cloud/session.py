"""boto3 sessions and clients configured once: region, retries with client-side rate limiting,
endpoint overrides, the user-agent app id, optional AssumeRole, and call accounting."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast, overload

import boto3
import botocore.session
from botocore.client import BaseClient
from botocore.config import Config
from botocore.credentials import (
    AssumeRoleCredentialFetcher,
    DeferredRefreshableCredentials,
)

from k8s_aws.cloud.botocore_models import use_trimmed_models
from k8s_aws.cloud.calls import CallRecorder

if TYPE_CHECKING:  # the stubs are a development dependency: typing only
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_elb import ElasticLoadBalancingClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_sts import STSClient

# One botocore data loader per process: it holds the parsed service models (EC2's in full is
# about 23 MB; trimmed to our operations, botocore_models.py, far less), and each botocore
# session would otherwise load and keep its own copy.
_SHARED_LOADER: list[Any] = []


def shared_botocore_session() -> botocore.session.Session:
    """A new botocore session whose data loader (and so its model cache) is shared."""
    session = botocore.session.get_session()
    if _SHARED_LOADER:
        session.register_component("data_loader", _SHARED_LOADER[0])
    else:
        use_trimmed_models(session)
        _SHARED_LOADER.append(session.get_component("data_loader"))
    return session


def new_session(region: str) -> boto3.session.Session:
    return boto3.session.Session(region_name=region, botocore_session=shared_botocore_session())


@dataclass(frozen=True)
class AwsSettings:
    region: str
    app_id: str = "k8s-aws"
    retry_mode: str = "adaptive"
    max_attempts: int = 8
    max_pool_connections: int = 32
    role_arn: str = ""
    source_arn: str = ""
    endpoints: dict[str, str] = field(default_factory=dict)  # boto3 service -> URL


class AwsClients:
    """Creates each boto3 client once; clients are thread-safe and shared by all workers."""

    def __init__(self, settings: AwsSettings, recorder: CallRecorder | None = None) -> None:
        self.settings = settings
        self._recorder = recorder
        self._session = new_session(settings.region)
        if settings.role_arn:
            self._session = self._assume_role_session(settings)
        self._clients: dict[str, BaseClient] = {}
        options: dict[str, Any] = {
            "region_name": settings.region,
            "retries": {"mode": settings.retry_mode, "total_max_attempts": settings.max_attempts},
            # Puts `app/<id>` in the User-Agent: the emulator's call log keys clients on it.
            "user_agent_appid": settings.app_id,
            "max_pool_connections": settings.max_pool_connections,
            "connect_timeout": 5,
            "read_timeout": 30,
        }
        self._config = Config(**options)

    @staticmethod
    def _assume_role_session(settings: AwsSettings) -> boto3.session.Session:
        base = new_session(settings.region)
        extra: dict[str, Any] = {"RoleSessionName": settings.app_id}
        if settings.source_arn:
            extra["SourceArn"] = settings.source_arn
        fetcher = AssumeRoleCredentialFetcher(
            client_creator=lambda *a, **kw: cast(Any, base).client(
                *a, endpoint_url=settings.endpoints.get("sts"), **kw
            ),
            source_credentials=base.get_credentials(),
            role_arn=settings.role_arn,
            extra_args=extra,
        )
        credentials = DeferredRefreshableCredentials(
            method="assume-role", refresh_using=fetcher.fetch_credentials
        )
        botocore_session: Any = shared_botocore_session()
        botocore_session._credentials = credentials  # botocore's way to inject credentials
        return boto3.session.Session(region_name=settings.region, botocore_session=botocore_session)

    @overload
    def client(self, service: Literal["ec2"]) -> EC2Client: ...
    @overload
    def client(self, service: Literal["elb"]) -> ElasticLoadBalancingClient: ...
    @overload
    def client(self, service: Literal["elbv2"]) -> ElasticLoadBalancingv2Client: ...
    @overload
    def client(self, service: Literal["sts"]) -> STSClient: ...
    @overload
    def client(self, service: Literal["iam"]) -> IAMClient: ...

    def client(self, service: str) -> Any:
        """The shared client of `service`, typed by its mypy-boto3 stub."""
        if service not in self._clients:
            client = cast(Any, self._session).client(
                service, config=self._config, endpoint_url=self.settings.endpoints.get(service)
            )
            if self._recorder is not None:
                self._recorder.attach(client, service)
            self._clients[service] = client
        return self._clients[service]
