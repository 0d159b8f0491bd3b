"""The CSI sidecars' flags, timeouts and images, in one place: the sandbox starts them from
here and `k8s-aws deploy manifests` renders them from here, so a timeout is never tuned in one
and forgotten in the other. The images are the releases of the versions the sandbox builds
from their Go modules (a unit test holds the two together).

csi-provisioner's default `--timeout` (10 s) is shorter than a CreateVolume that waits for
EBS to report `available` (or an attach waiting for `attached`): the sidecar would give up and
retry a call the driver is still serving. Every sidecar that calls the driver gets
`CSI_TIMEOUT`, a little above the driver's own wait for AWS.
"""

from __future__ import annotations

from dataclasses import dataclass

DRIVER_NAME = "ebs.csi.aws.com"
CSI_TIMEOUT = "150s"  # above the driver's 120 s create/attach/modify waits
LEASE_NAMESPACE = "kube-system"
CONTROLLER_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
SNAPSHOT_CONTROLLER_SERVICE_ACCOUNT = "snapshot-controller"
# The node plugin's sidecar: kubelet-facing only, so not built for the sandbox (which does its
# job itself); a current release.
REGISTRAR_IMAGE = "registry.k8s.io/sig-storage/csi-node-driver-registrar:v2.13.0"


@dataclass(frozen=True)
class Sidecar:
    """One container of the CSI controller pod (or the snapshot-controller Deployment)."""

    name: str  # the binary and the container name
    args: tuple[str, ...]
    calls_driver: bool = True  # talks to the driver's socket (`--csi-address`)
    service_account: str = CONTROLLER_SERVICE_ACCOUNT
    image: str = ""  # what a cluster runs: the release of the version the sandbox builds


def _image(name: str, version: str) -> str:
    return f"registry.k8s.io/sig-storage/{name}:{version}"


# Every sidecar elects a leader (its Lease in the namespace it is deployed to): sidecar_argv.
# client-go's default 5 requests/s (burst 10) throttles the sidecars' own API writes (PVs,
# VolumeAttachment finalizers and status, Events): 100 claims at once queued a minute behind
# it in bench/ebs_e2e.py. The driver's concurrency also lets its describes batch.
_API = ("--kube-api-qps=50", "--kube-api-burst=100")

SIDECARS: tuple[Sidecar, ...] = (
    Sidecar(
        "csi-provisioner",
        (
            f"--timeout={CSI_TIMEOUT}",
            # PVC/PV names reach CreateVolume: the driver tags volumes with them.
            "--extra-create-metadata",
            "--default-fstype=ext4",
            "--retry-interval-start=1s",
            "--retry-interval-max=30s",
            *_API,
        ),
        image=_image("csi-provisioner", "v6.3.0"),
    ),
    Sidecar(
        "csi-attacher",
        (
            f"--timeout={CSI_TIMEOUT}",
            "--retry-interval-start=1s",
            "--retry-interval-max=30s",
            "--worker-threads=50",  # default 10: attaches waiting on EBS need not queue
            *_API,
        ),
        image=_image("csi-attacher", "v4.12.0"),
    ),
    Sidecar(
        "csi-resizer",
        (
            f"--timeout={CSI_TIMEOUT}",
            # EBS grows in-use volumes: an online resize is never refused for being in use.
            "--handle-volume-inuse-error=false",
            "--retry-interval-start=1s",
            "--retry-interval-max=30s",
            *_API,
        ),
        image=_image("csi-resizer", "v2.2.0"),
    ),
    Sidecar(
        "csi-snapshotter",
        (f"--timeout={CSI_TIMEOUT}", "--extra-create-metadata", *_API),
        image=_image("csi-snapshotter", "v8.6.0"),
    ),
    Sidecar(
        "snapshot-controller",
        _API,
        calls_driver=False,
        service_account=SNAPSHOT_CONTROLLER_SERVICE_ACCOUNT,
        image=_image("snapshot-controller", "v8.6.0"),
    ),
)


def sidecar_argv(
    sidecar: Sidecar, csi_address: str, http_endpoint: str = "", kubeconfig: str = "",
    lease_namespace: str = LEASE_NAMESPACE,
) -> tuple[str, ...]:
    """The full argument list: the shared flags, leader election, then where this copy finds
    the driver, its metrics/health endpoint and (outside a cluster) its kubeconfig."""
    args = [*sidecar.args, "--leader-election", f"--leader-election-namespace={lease_namespace}"]
    if sidecar.calls_driver:
        args.append(f"--csi-address={csi_address}")
    if http_endpoint:
        args.append(f"--http-endpoint={http_endpoint}")
    if kubeconfig:
        args.append(f"--kubeconfig={kubeconfig}")
    return tuple(args)
