"""A real sandbox for the integration tests, brought up once per session through the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import boto3
import pytest

from k8s_aws_sandbox.fidelity.control import FidelityControl
from k8s_aws_sandbox.state import SandboxState

NODES = 3
DNS_NODES = 2
OPS_CLUSTER = "opstest"  # ops_sandbox's, which the operator tools' tests name
IAM_ENFORCEMENT_ENV = "K8S_AWS_IAM_ENFORCEMENT"
CLI = [sys.executable, "-m", "k8s_aws.cli.main"]
# The error codes of a call refused for its permissions or its credentials.
DENIALS = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                     "AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch"})


def run_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


def _sandbox(directory: Path, *args: str) -> Iterator[SandboxState]:
    # K8S_AWS_IAM_ENFORCEMENT=1 (make test-iam): the emulator enforces IAM and the
    # controllers hold only the generated least-privilege policy.
    enforce = ["--iam-enforcement"] if os.environ.get(IAM_ENFORCEMENT_ENV) == "1" else []
    result = run_cli("sandbox", "up", "--dir", str(directory), *args, *enforce)
    if result.returncode != 0:
        logs = "\n".join(
            f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-15:])
            for p in sorted((directory / "logs").glob("*.log"))
        )
        pytest.fail(f"sandbox up failed:\n{result.stderr}\n{logs}")
    state = SandboxState.load(directory)
    yield state
    run_cli("sandbox", "down", "--dir", str(directory))


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxState]:
    """The BOSH release's shape (the default): `<instance id>.k8s` Nodes, control VM too."""
    yield from _sandbox(tmp_path_factory.mktemp("sandbox"), "--nodes", str(NODES),
                        "--cluster-name", "itest")


@pytest.fixture(scope="session")
def dns_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxState]:
    """Other installers' shape: worker Nodes named by private DNS, with their node IP."""
    yield from _sandbox(tmp_path_factory.mktemp("dns-sandbox"), "--nodes", str(DNS_NODES),
                        "--cluster-name", "dnstest", "--node-naming", "private-dns")


@pytest.fixture(scope="session")
def ops_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxState]:
    """The operator tools' own (doctor retags it; gc, running after, stops its API server)."""
    yield from _sandbox(tmp_path_factory.mktemp("ops-sandbox"), "--nodes", "2",
                        "--cluster-name", OPS_CLUSTER)


@pytest.fixture(params=["sandbox", "dns_sandbox"], ids=["bosh-names", "private-dns-names"])
def any_sandbox(request: pytest.FixtureRequest) -> SandboxState:
    """Each node-naming shape in turn, for the tests that must hold on both."""
    return cast(SandboxState, request.getfixturevalue(request.param))


def ec2_of(state: SandboxState) -> Any:
    return emulator_session(state).client("ec2", endpoint_url=state.emulator_url)


def emulator_session(state: SandboxState) -> boto3.session.Session:
    """The sandbox's own access to the emulator (an administrator under IAM enforcement),
    for checking what the controllers did."""
    return boto3.session.Session(
        aws_access_key_id=state.access_key, aws_secret_access_key=state.secret_key,
        region_name=state.region,
    )


@pytest.fixture(scope="session")
def ec2(sandbox: SandboxState) -> Any:
    return emulator_session(sandbox).client("ec2", endpoint_url=sandbox.emulator_url)


@pytest.fixture(scope="session")
def elb(sandbox: SandboxState) -> Any:
    return emulator_session(sandbox).client("elb", endpoint_url=sandbox.emulator_url)


@pytest.fixture(scope="session")
def elbv2(sandbox: SandboxState) -> Any:
    return emulator_session(sandbox).client("elbv2", endpoint_url=sandbox.emulator_url)


@pytest.fixture(scope="session")
def control(sandbox: SandboxState) -> FidelityControl:
    """The emulator's control API: call log, fault rules, crash hooks."""
    return FidelityControl(sandbox.emulator_url)


def kubectl(state: SandboxState, *args: str, check: bool = True) -> str:
    result = subprocess.run(
        [str(state.root / "bin" / "kubectl"), *args],
        capture_output=True, text=True, timeout=60, check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)} failed: {result.stderr}")
    return result.stdout


def kubectl_json(state: SandboxState, *args: str) -> Any:
    return json.loads(kubectl(state, *args, "-o", "json"))


def aws_env(state: SandboxState) -> dict[str, str]:
    """The environment a user gets from `. DIR/aws.env` (no keys: IMDS gives them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    for line in (state.root / "aws.env").read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            env[key] = value
    return env
