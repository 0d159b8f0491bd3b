"""User mistakes give one readable line and a non-zero exit, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from k8s_aws.cli.main import cli


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["controller-manager", *args])
    return result.exit_code, result.output


def test_bad_cloud_config_is_rejected_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "cloud.conf"
    config.write_text("[Global]\nRegion = us-west-2\nElbSecurityGroupp = sg-1\n")
    code, output = invoke("--cloud-config", str(config), "--cluster-name", "c")
    assert code == 1
    assert f"--cloud-config {config}: [Global]: unknown key 'elbsecuritygroupp'" in output
    assert "Traceback" not in output


def test_missing_cloud_config_file(tmp_path: Path) -> None:
    code, output = invoke("--cloud-config", str(tmp_path / "nope.conf"))
    assert code == 1
    assert "No such file or directory" in output


def test_unknown_controller(tmp_path: Path) -> None:
    code, output = invoke("--controllers", "cloud-node,service-x", "--region", "us-west-2",
                          "--cluster-name", "c")
    assert code == 1
    assert "unknown controller 'service-x'" in output


def test_bad_bind_address() -> None:
    code, output = invoke("--metrics-bind-address", "localhost", "--region", "us-west-2")
    assert code == 2
    assert "--metrics-bind-address" in output and "HOST:PORT" in output


def test_renew_deadline_must_be_shorter_than_lease() -> None:
    code, output = invoke("--leader-elect-lease-duration", "5", "--leader-elect-renew-deadline",
                          "6")
    assert code == 2
    assert "--leader-elect-renew-deadline" in output


def test_retry_period_must_fit_the_renew_deadline() -> None:
    code, output = invoke("--leader-elect-renew-deadline", "2", "--leader-elect-retry-period",
                          "2")
    assert code == 2
    assert "1.2 x --leader-elect-retry-period" in output


def test_off_ec2_and_unconfigured_exits_quickly_with_one_line() -> None:
    # An IMDS endpoint where nothing listens, as off EC2: bounded retries, then one line.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://127.0.0.1:{port}/",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "K8S_AWS_LOOPBACK_ONLY": "1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "k8s_aws.cli.main", "controller-manager"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "--region (or [Global] Region) and --cluster-name" in lines[0]
    assert "not on EC2 or the instance metadata service is unreachable" in lines[0]
