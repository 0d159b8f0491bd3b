"""The sandbox IMDS speaks IMDSv2 as AWS does, and botocore's own IMDS clients accept it."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest
from botocore.utils import InstanceMetadataFetcher, InstanceMetadataRegionFetcher

from k8s_aws_sandbox.imds import TokenStore, make_handler
from k8s_aws_sandbox.metadata import metadata_tree

from .test_metadata import FACTS

CREDENTIALS = json.dumps(
    {
        "Code": "Success", "LastUpdated": "2026-01-01T00:00:00Z", "Type": "AWS-HMAC",
        "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "secret", "Token": "session",
        "Expiration": "2099-01-01T00:00:00Z",
    }
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def imds(clock: FakeClock) -> Iterator[str]:
    tree = metadata_tree(FACTS, lambda: CREDENTIALS)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(tree, TokenStore(clock)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def request(
    url: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, str]:
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def token(base: str, ttl: str = "60") -> str:
    status, body = request(
        base + "/latest/api/token", "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": ttl}
    )
    assert status == 200
    return body


@pytest.mark.parametrize("ttl", [None, "0", "21601", "abc", "-5"])
def test_token_request_without_a_valid_ttl_is_rejected(imds: str, ttl: str | None) -> None:
    headers = {} if ttl is None else {"X-aws-ec2-metadata-token-ttl-seconds": ttl}
    assert request(imds + "/latest/api/token", "PUT", headers)[0] == 400


def test_token_request_through_a_proxy_is_forbidden(imds: str) -> None:
    headers = {"X-aws-ec2-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "10.1.1.1"}
    assert request(imds + "/latest/api/token", "PUT", headers)[0] == 403


def test_get_without_token_is_unauthorized(imds: str) -> None:
    assert request(imds + "/latest/meta-data/instance-id")[0] == 401


def test_get_with_unknown_token_is_unauthorized(imds: str) -> None:
    headers = {"X-aws-ec2-metadata-token": "forged"}
    assert request(imds + "/latest/meta-data/instance-id", headers=headers)[0] == 401


def test_get_with_token_serves_metadata_until_the_token_expires(
    imds: str, clock: FakeClock
) -> None:
    headers = {"X-aws-ec2-metadata-token": token(imds, "30")}
    served = request(imds + "/latest/meta-data/instance-id", headers=headers)
    assert served == (200, FACTS.instance_id)
    clock.now += 29
    assert request(imds + "/latest/meta-data/instance-id", headers=headers)[0] == 200
    clock.now += 2
    assert request(imds + "/latest/meta-data/instance-id", headers=headers)[0] == 401


def test_unknown_path_is_not_found_and_other_methods_not_allowed(imds: str) -> None:
    headers = {"X-aws-ec2-metadata-token": token(imds)}
    assert request(imds + "/latest/meta-data/nope", headers=headers)[0] == 404
    assert request(imds + "/latest/meta-data/instance-id", "POST", headers)[0] == 405


def test_botocore_fetches_role_credentials_through_imdsv2(
    imds: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    fetcher = InstanceMetadataFetcher(timeout=2, num_attempts=1, base_url=imds)
    creds = fetcher.retrieve_iam_role_credentials()
    assert creds["role_name"] == "ctl"
    assert creds["access_key"] == "ASIAEXAMPLE"
    assert creds["token"] == "session"


def test_botocore_reads_the_region_through_imdsv2(
    imds: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED")
    fetcher = InstanceMetadataRegionFetcher(timeout=2, num_attempts=1, base_url=imds)
    assert fetcher.retrieve_region() == "us-west-2"
