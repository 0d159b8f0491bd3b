"""The EBS CSI controller pod, as processes on the control VM: our driver in controller mode
and the real sidecars (csi-provisioner, csi-attacher, csi-resizer, csi-snapshotter), each with
the pod's ServiceAccount token and RBAC, plus the snapshot-controller with its own; the
CSIDriver object and the snapshot CRDs (from the snapshotter's client module) applied first.

The flags come from `k8s_aws.deploy.csi_sidecars`, the one place the deploy manifests share.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from k8s_aws.deploy.csi_sidecars import SIDECARS, Sidecar, sidecar_argv
from k8s_aws_sandbox import binaries
from k8s_aws_sandbox.controllers import manifest, run_kubectl, service_account_kubeconfig
from k8s_aws_sandbox.ports import LOOPBACK, free_ports
from k8s_aws_sandbox.processes import ProcessSpec

CSI_MANIFESTS = ("csi-controller-rbac.yaml", "csi-driver.yaml")


class Starter(Protocol):
    def start(self, spec: ProcessSpec, ready: Callable[[], bool], timeout: float = 60,
              port: int | None = None) -> None: ...


def snapshot_crds(sidecars_bin: Path) -> list[Path]:
    """The CRDs the build copied from the client module's config/crd (snapshot.storage.k8s.io
    and groupsnapshot.storage.k8s.io)."""
    return sorted(p for p in sidecars_bin.glob("*.yaml") if "storage.k8s.io_" in p.name)


def install_csi_objects(kubectl: Path, admin_kubeconfig: Path, sidecars_bin: Path) -> None:
    """Sidecar RBAC, the CSIDriver and the snapshot CRDs, established before any sidecar
    starts (a snapshotter without its CRDs fails its informers)."""
    files = [manifest(name) for name in CSI_MANIFESTS] + snapshot_crds(sidecars_bin)
    args = [arg for path in files for arg in ("-f", str(path))]
    run_kubectl(kubectl, admin_kubeconfig, "apply", "--server-side", *args, timeout=120)
    crd_args = [arg for path in snapshot_crds(sidecars_bin) for arg in ("-f", str(path))]
    run_kubectl(kubectl, admin_kubeconfig, "wait", "--for=condition=Established",
                "--timeout=60s", *crd_args, timeout=90)


def sidecar_spec(sidecar: Sidecar, sidecars_bin: Path, socket: Path, port: int,
                 kubeconfig: Path) -> ProcessSpec:
    argv = sidecar_argv(sidecar, f"unix://{socket}", f"{LOOPBACK}:{port}", str(kubeconfig))
    return ProcessSpec(name=sidecar.name, argv=(str(sidecars_bin / sidecar.name), *argv))


def start_sidecars(
    starter: Starter,
    kubectl: Path,
    admin_kubeconfig: Path,
    server: str,
    ca_cert: Path,
    root: Path,
    socket: Path,
) -> list[str]:
    """Start every sidecar once the driver serves `socket`; returns their names."""
    sidecars_bin = binaries.install_dir(binaries.CSI_SIDECARS)
    install_csi_objects(kubectl, admin_kubeconfig, sidecars_bin)
    kubeconfigs = {
        account: service_account_kubeconfig(
            kubectl, admin_kubeconfig, server, ca_cert, root / f"{account}.kubeconfig",
            account=account,
        )
        for account in {s.service_account for s in SIDECARS}
    }
    ports = free_ports(len(SIDECARS))
    for sidecar, port in zip(SIDECARS, ports, strict=True):
        starter.start(
            sidecar_spec(sidecar, sidecars_bin, socket, port,
                         kubeconfigs[sidecar.service_account]),
            lambda: True,
            port=port,
        )
    return [s.name for s in SIDECARS]
