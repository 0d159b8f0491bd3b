"""One real emulator process (with its fidelity layer) for these tests, talked to over HTTP.

Each test starts from a wiped emulator, the test configuration below, an empty call log and
no crash hooks. Delays are long, so a resource stays in its transitional state until the
test moves emulator time on (`control.advance`); tests that need real time set short ones.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from k8s_aws.support import netguard
from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox import procfs
from k8s_aws_sandbox.fidelity.control import FidelityControl
from k8s_aws_sandbox.ports import LOOPBACK, free_port

REGION = "us-west-2"
ZONES = ("us-west-2a", "us-west-2b")
APP_ID = "fidelity-test"
IMAGE = "ami-12c6146b"  # one of the emulator's images (listing them all takes seconds)
LONG = 60.0  # seconds: longer than any test, so only `advance` moves a state on
TEST_CONFIG: dict[str, Any] = {
    "delays": {
        "volume_create": LONG, "volume_attach": LONG, "volume_detach": LONG,
        "volume_modify": LONG, "volume_optimize": LONG, "snapshot": LONG,
        "load_balancer": LONG, "target_deregistration": LONG, "interface_linger": LONG,
        "target_health": LONG, "load_balancer_deletion": LONG,
    },
    "limits": {"modification_window": 6 * 3600.0},
}


@contextlib.contextmanager
def emulator_process(log_path: Path, *args: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """(process, URL) of an emulator on a free loopback port, stopped on exit."""
    port = free_port()
    env = {**os.environ, netguard.ENV_FLAG: "1", "PYTHONUNBUFFERED": "1"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "k8s_aws_sandbox.emulator", f"--port={port}", *args],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    try:
        yield process, f"http://{LOOPBACK}:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log_path: Path = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with emulator_process(log_path) as (process, url):
        port = int(url.rsplit(":", 1)[1])
        wait_for_emulator(process, port, FidelityControl(url).config,
                          exited=lambda: f"emulator exited:\n{log_path.read_text()[-3000:]}")
        yield url


def wait_for_emulator(process: subprocess.Popen[bytes], port: int, answers: Callable[[], object],
                      exited: Callable[[], str] = lambda: "the emulator exited") -> None:
    """Wait until `process` itself listens on `port`, then until `answers()` succeeds.

    The port was free when chosen; another run on the machine may have taken it since, and
    its emulator would answer just as well.
    """

    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(exited())
        if not procfs.listens([process.pid], port):
            return False
        answers()
        return True

    wait_until(ready, timeout=60, what=f"the emulator (pid {process.pid}) to answer on {port}")


@pytest.fixture
def control(emulator: str) -> FidelityControl:
    control = FidelityControl(emulator)
    control.reset_emulator()
    control.set_config(control.reset_config().merged(TEST_CONFIG))
    control.clear_calls()
    control.clear_crash_hooks()
    return control


@functools.cache
def _session(access_key: str, secret_key: str) -> Any:
    """One session per identity: a session loads botocore's models once, then caches them."""
    return boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                                 region_name=REGION)


@dataclass
class Aws:
    """boto3 clients for one caller, no retries (so injected faults are seen as they are)."""

    url: str
    app_id: str | None = APP_ID  # None: botocore's default (AWS_SDK_UA_APP_ID, else none)
    access_key: str = "testing"
    secret_key: str = "testing"

    def client(self, service: str, **config: Any) -> Any:
        session = _session(self.access_key, self.secret_key)
        settings = {"user_agent_appid": self.app_id, "retries": {"total_max_attempts": 1}, **config}
        return session.client(service, endpoint_url=self.url, config=Config(**settings))


@pytest.fixture
def aws(control: FidelityControl) -> Aws:
    return Aws(control.endpoint)


@pytest.fixture
def ec2(aws: Aws) -> Any:
    return aws.client("ec2")


@dataclass(frozen=True)
class World:
    vpc: str
    subnets: dict[str, str]  # zone -> subnet id
    group: str
    instance: str  # an m5.large in ZONES[0]
    image: str


@pytest.fixture
def world(ec2: Any) -> World:
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = {
        zone: ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24",
                                AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for i, zone in enumerate(ZONES)
    }
    group = ec2.create_security_group(GroupName="nodes", Description="nodes",
                                      VpcId=vpc)["GroupId"]
    instance = launch(ec2, IMAGE, subnets[ZONES[0]], group, "m5.large")
    return World(vpc, subnets, group, instance, IMAGE)


def launch(ec2: Any, image: str, subnet: str, group: str, instance_type: str) -> str:
    reservation = ec2.run_instances(ImageId=image, InstanceType=instance_type, MinCount=1,
                                    MaxCount=1, SubnetId=subnet, SecurityGroupIds=[group])
    return str(reservation["Instances"][0]["InstanceId"])


def error_of(excinfo: pytest.ExceptionInfo[Any]) -> tuple[str, int]:
    """(AWS error code, HTTP status) of a botocore ClientError."""
    response = excinfo.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]
