"""The product's wheel stands alone: installed with its pinned dependencies into a clean venv,
with no Go on the PATH and no sandbox, it runs what a cluster and an operator need, serves
CSI from the stubs it carries, and answers `k8s-aws sandbox` with the package to install.

`make dist` (a prerequisite of `make test`) builds the wheels and dist/wheels/, the wheelhouse
this installs from with no index.
"""

from __future__ import annotations

import json
import os
import subprocess
import venv
import zipfile
from collections.abc import Iterator
from email.parser import Parser
from pathlib import Path

import pytest

from k8s_aws import __version__
from k8s_aws.support.deadline import wait_until

ROOT = Path(__file__).resolve().parents[2]
DIST = ROOT / "dist"
PRODUCT_WHEEL = DIST / f"k8s_aws-{__version__}-py3-none-any.whl"
SANDBOX_WHEEL = DIST / f"k8s_aws_sandbox-{__version__}-py3-none-any.whl"
WHEELHOUSE = DIST / "wheels"
# What only the test bed needs: never a runtime dependency of the product.
TEST_BED_ONLY = ("moto", "cryptography", "grpcio-tools", "werkzeug", "flask")


def _wheel(path: Path) -> zipfile.ZipFile:
    if not path.is_file():
        pytest.fail(f"{path.relative_to(ROOT)} is missing: run `make dist`")
    return zipfile.ZipFile(path)


def _metadata(path: Path) -> tuple[list[str], list[str]]:
    """(Requires-Dist, every file) of a wheel."""
    with _wheel(path) as wheel:
        names = wheel.namelist()
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = Parser().parsestr(wheel.read(meta_name).decode())
    return meta.get_all("Requires-Dist") or [], names


def test_product_wheel_carries_the_generated_parts_and_no_test_bed() -> None:
    requires, names = _metadata(PRODUCT_WHEEL)
    assert "k8s_aws/volumes/csi/proto/csi_pb2.py" in names
    assert "k8s_aws/volumes/csi/proto/csi_pb2_grpc.py" in names
    assert "k8s_aws/volumes/attach_limits.json" in names
    assert "k8s_aws/cloud/botocore_data/ec2/2016-11-15/service-2.json" in names
    assert "k8s_aws/cloud/botocore_data/botocore-version" in names
    assert not [n for n in names if n.startswith("k8s_aws_sandbox")]
    lowered = [r.lower() for r in requires if "extra ==" not in r]  # runtime ones only
    assert not [r for r in lowered if r.startswith(TEST_BED_ONLY)], lowered
    assert any(r.startswith("boto3==") for r in lowered)


def test_sandbox_wheel_pins_the_product_and_plugs_in_its_command() -> None:
    requires, names = _metadata(SANDBOX_WHEEL)
    assert f"k8s-aws=={__version__}" in requires
    assert any(r.startswith("moto[server]") or r.startswith("moto==") for r in requires)
    with _wheel(SANDBOX_WHEEL) as wheel:
        entry = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        points = wheel.read(entry).decode()
    assert "[k8s_aws.commands]" in points
    assert "sandbox = k8s_aws_sandbox.cli:sandbox" in points
    assert "k8s_aws_sandbox/stages/node-ready.yaml" in names


@pytest.fixture(scope="module")
def product_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding only the product wheel and its dependencies, installed offline."""
    _wheel(PRODUCT_WHEEL).close()
    home = tmp_path_factory.mktemp("product-venv")
    venv.create(home, with_pip=True)
    subprocess.run(
        [str(home / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check",
         "--no-index", "--find-links", str(WHEELHOUSE), str(PRODUCT_WHEEL)],
        check=True, timeout=300,
    )
    return home


def _environment(home: Path) -> dict[str, str]:
    """No Go, no sandbox, no way off loopback, no IMDS to fall back to."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTHON"))}
    env["PATH"] = f"{home / 'bin'}:/usr/bin:/bin"
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["K8S_AWS_LOOPBACK_ONLY"] = "1"
    return env


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(home / "bin" / "k8s-aws"), *args], capture_output=True, text=True,
        env=_environment(home), cwd=home, timeout=120, check=False,
    )


def test_the_installed_product_has_neither_go_nor_the_sandbox(product_venv: Path) -> None:
    env = _environment(product_venv)
    assert subprocess.run(["sh", "-c", "command -v go"], env=env, check=False).returncode != 0
    probe = subprocess.run(
        [str(product_venv / "bin" / "python"), "-c",
         "import importlib.util as u; print(u.find_spec('k8s_aws_sandbox'), u.find_spec('moto'))"],
        capture_output=True, text=True, env=env, check=True,
    )
    assert probe.stdout.split() == ["None", "None"]


@pytest.mark.parametrize("command", [
    ["--help"], ["controller-manager", "--help"], ["csi-driver", "--help"],
    ["iam-policy", "--help"], ["bosh", "--help"], ["plan", "--help"],
])
def test_installed_commands_answer(product_venv: Path, command: list[str]) -> None:
    result = _run(product_venv, *command)
    assert result.returncode == 0, result.stderr
    assert "Usage: k8s-aws" in result.stdout


def test_installed_version_is_the_one_version(product_venv: Path) -> None:
    result = _run(product_venv, "--version")
    assert result.stdout.strip() == f"k8s-aws, version {__version__}"


def test_installed_operator_tools_generate(product_venv: Path) -> None:
    policy = _run(product_venv, "iam-policy", "--cluster-name", "demo")
    assert policy.returncode == 0, policy.stderr
    assert json.loads(policy.stdout)["Version"] == "2012-10-17"
    cloud_config = _run(product_venv, "bosh", "cloud-config")
    assert cloud_config.returncode == 0, cloud_config.stderr
    assert "iam_instance_profile" in cloud_config.stdout


def test_sandbox_without_its_package_is_one_line_naming_it(product_venv: Path) -> None:
    result = _run(product_venv, "sandbox", "up")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Error: 'k8s-aws sandbox' comes with the k8s-aws-sandbox package, which is not "
        "installed here: pip install k8s-aws-sandbox"
    ]
    assert "sandbox" not in _run(product_venv, "--help").stdout


@pytest.fixture
def csi_node(product_venv: Path, tmp_path: Path) -> Iterator[Path]:
    """The installed csi-driver's node service on a unix socket (no AWS, no IMDS needed)."""
    socket = tmp_path / "csi.sock"
    driver = subprocess.Popen(
        [str(product_venv / "bin" / "k8s-aws"), "csi-driver", "--endpoint", f"unix://{socket}",
         "--mode", "node", "--node-id", "i-0123456789abcdef0", "--zone", "us-west-2a"],
        env=_environment(product_venv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: socket.exists() or driver.poll() is not None, timeout=60,
                   what="the installed csi-driver's socket")
        assert driver.poll() is None, driver.stderr.read() if driver.stderr else ""
        yield socket
    finally:
        driver.terminate()
        driver.wait(timeout=30)


def test_installed_csi_driver_serves_from_its_shipped_stubs(
    product_venv: Path, csi_node: Path
) -> None:
    client = (
        "import grpc, sys\n"
        "from k8s_aws.volumes.csi.proto import csi_pb2, csi_pb2_grpc\n"
        f"channel = grpc.insecure_channel('unix://{csi_node}')\n"
        "info = csi_pb2_grpc.IdentityStub(channel).GetPluginInfo(\n"
        "    csi_pb2.GetPluginInfoRequest(), timeout=30)\n"
        "node = csi_pb2_grpc.NodeStub(channel).NodeGetInfo(\n"
        "    csi_pb2.NodeGetInfoRequest(), timeout=30)\n"
        "print(info.name, info.vendor_version, node.node_id)\n"
    )
    result = subprocess.run(
        [str(product_venv / "bin" / "python"), "-c", client], capture_output=True, text=True,
        env=_environment(product_venv), timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ebs.csi.aws.com", __version__, "i-0123456789abcdef0"]

