"""Run k8s-aws's own deployables in the sandbox as a real deployment runs them: the
controller-manager with its ServiceAccount's token and RBAC, credentials from the (emulated)
instance profile through IMDS, the cluster name from its instance's tags, leader election on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

from k8s_aws.support import netguard
from k8s_aws_sandbox.kubeconfig import Identity, write_kubeconfig
from k8s_aws_sandbox.processes import ProcessSpec

SERVICE_ACCOUNT = "k8s-aws-controller-manager"


def aws_environment(emulator_url: str, imds_url: str, region: str) -> dict[str, str]:
    """The AWS settings of a process on the control VM: endpoints only, no keys."""
    return {
        "AWS_ENDPOINT_URL": emulator_url,
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds_url + "/",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv4",
        "AWS_EC2_METADATA_V1_DISABLED": "true",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
    }


def manifest(name: str) -> Path:
    return Path(str(resources.files("k8s_aws.deploy").joinpath(name)))


def install_rbac(kubectl: Path, admin_kubeconfig: Path) -> None:
    run_kubectl(kubectl, admin_kubeconfig, "apply", "-f", str(manifest("rbac.yaml")))


def service_account_kubeconfig(
    kubectl: Path, admin_kubeconfig: Path, server: str, ca_cert: Path, target: Path,
    account: str = SERVICE_ACCOUNT,
) -> Path:
    """A kubeconfig holding a token issued for a kube-system ServiceAccount (by default the
    controller-manager's)."""
    token = run_kubectl(
        kubectl, admin_kubeconfig, "create", "token", account,
        "--namespace=kube-system", "--duration=8760h",
    ).strip()
    identity = Identity(f"system:serviceaccount:kube-system:{account}", (), token)
    return write_kubeconfig(target, server, ca_cert, identity, "k8s-aws-sandbox")


def control_vm_env(aws_env: dict[str, str]) -> dict[str, str]:
    """The environment of a k8s-aws process on the control VM: AWS endpoints, credentials
    through IMDS (the tests' own process disables IMDS; a process on a VM must use it)."""
    return {
        **aws_env,
        "AWS_EC2_METADATA_DISABLED": "false",
        netguard.ENV_FLAG: os.environ.get(netguard.ENV_FLAG, "1"),
        "PYTHONUNBUFFERED": "1",
    }


def controller_manager_spec(
    name: str,
    kubeconfig: Path,
    metrics_port: int,
    call_log: Path,
    aws_env: dict[str, str],
    extra_args: tuple[str, ...] = (),
) -> ProcessSpec:
    return ProcessSpec(
        name=name,
        argv=(
            sys.executable, "-m", "k8s_aws.cli.main", "controller-manager",
            f"--kubeconfig={kubeconfig}",
            "--leader-elect",
            f"--metrics-bind-address=127.0.0.1:{metrics_port}",
            f"--call-log={call_log}",
            "--node-monitor-period=1",
            *extra_args,
        ),
        env=control_vm_env(aws_env),
    )


def run_kubectl(kubectl: Path, kubeconfig: Path, *args: str, timeout: float = 60) -> str:
    result = subprocess.run(
        [str(kubectl), f"--kubeconfig={kubeconfig}", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def csi_driver_spec(
    name: str, socket: Path, call_log: Path, aws_env: dict[str, str], cluster: str
) -> ProcessSpec:
    """The CSI driver's controller as it runs on the control VM: identity, zone and
    credentials from IMDS, endpoints from the environment; the sidecars would talk to
    `socket`."""
    return ProcessSpec(
        name=name,
        argv=(
            sys.executable, "-m", "k8s_aws.cli.main", "csi-driver",
            f"--endpoint=unix://{socket}", "--mode=controller",
            f"--cluster-name={cluster}", f"--call-log={call_log}",
        ),
        env=control_vm_env(aws_env),
    )
