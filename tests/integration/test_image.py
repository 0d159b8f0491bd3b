"""The OCI image `make image` builds (dist/k8s-aws-<version>.oci.tar) loads into podman, runs,
carries its labels and a non-root user, ships no build leftovers, and its controller-manager
initializes a sandbox's Nodes exactly as the in-process one does (IMDSv2 credentials, the
ServiceAccount's token, loopback only)."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from k8s_aws import __version__
from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox.controllers import install_rbac, service_account_kubeconfig
from k8s_aws_sandbox.ports import free_port
from k8s_aws_sandbox.state import SandboxState

from .conftest import _sandbox, kubectl_json

pytestmark = pytest.mark.once

REPO = Path(__file__).resolve().parents[2]
VERSION = __version__
ARCHIVE = REPO / "dist" / f"k8s-aws-{VERSION}.oci.tar"
CONTAINERS_CONF = REPO / "packaging" / "image" / "containers.conf"
IMAGE = f"localhost/k8s-aws:{VERSION}"
UID = 65532
UNINITIALIZED = "node.cloudprovider.kubernetes.io/uninitialized"
# What a build must never leave in the image (paths relative to its root).
FORBIDDEN = [
    (re.compile(r"^usr/(local/)?bin/((x86_64-linux-gnu-)?(gcc|g\+\+|cpp|c\+\+)(-\d+)?|cc|clang.*|tcc)$"), "a compiler"),
    (re.compile(r"^var/lib/apt/lists/."), "apt lists"),
    (re.compile(r"^var/cache/apt/."), "the apt cache"),
    (re.compile(r"(^|/)\.cache/pip(/|$)"), "a pip cache"),
    (re.compile(r"^opt/k8s-aws/lib/python3\.11/site-packages/pip/"), "pip"),
    (re.compile(r"^usr/share/(man|info|locale)/."), "man pages, info or locales"),
    (re.compile(r"^usr/share/doc/[^/]+/(?!copyright$)."), "docs other than copyright files"),
    (re.compile(r"^dev/."), "device nodes"),
]
# What the CSI node service runs.
REQUIRED = ["usr/sbin/mkfs.ext4", "usr/sbin/resize2fs", "usr/sbin/mkfs.xfs", "usr/sbin/xfs_growfs",
            "usr/sbin/blkid", "usr/bin/mount", "usr/bin/umount", "opt/k8s-aws/bin/k8s-aws"]


@dataclass(frozen=True)
class Podman:
    """podman with its own storage under the test's temp dir (no other run's images touched)
    and the repository's containers.conf (runc, ulimits)."""

    store: Path

    def __call__(self, *args: str, timeout: float = 120, check: bool = True) -> str:
        result = subprocess.run(
            ["podman", "--root", str(self.store / "root"), "--runroot", str(self.store / "run"),
             "--tmpdir", str(self.store / "tmp"), *args],
            capture_output=True, text=True, timeout=timeout, check=False,
            env={**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)},
        )
        if check and result.returncode != 0:
            raise AssertionError(f"podman {' '.join(args)} failed: {result.stderr}")
        return result.stdout


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Podman]:
    """The archive loaded (`podman load`), removed again at the end."""
    if not ARCHIVE.exists():
        pytest.fail(f"{ARCHIVE} is missing: run `make image` (make test does)")
    tool = Podman(tmp_path_factory.mktemp("podman"))
    loaded = tool("load", "-i", str(ARCHIVE), timeout=300)
    assert IMAGE in loaded, loaded
    yield tool
    tool("rmi", "--force", IMAGE, check=False)
    shutil.rmtree(tool.store, ignore_errors=True)


def run(podman: Podman, *args: str) -> str:
    """A throwaway container of the image with no network at all."""
    return podman("run", "--rm", "--pull=never", "--network=none", *args)


def test_prints_its_version(podman: Podman) -> None:
    assert run(podman, IMAGE, "--version").strip() == f"k8s-aws, version {VERSION}"


def test_config_labels_user_and_entrypoint(podman: Podman) -> None:
    config = json.loads(podman("image", "inspect", IMAGE))[0]["Config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == VERSION
    # The commit it was built from (HEAD then; an archive may predate the latest commit).
    revision = labels["org.opencontainers.image.revision"]
    assert re.fullmatch(r"[0-9a-f]{40}", revision)
    assert subprocess.run(["git", "-C", str(REPO), "merge-base", "--is-ancestor", revision, "HEAD"],
                          capture_output=True, check=False).returncode == 0
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["org.opencontainers.image.title"] == "k8s-aws"
    assert labels["org.opencontainers.image.source"].startswith("https://")
    assert config["User"] == f"{UID}:{UID}"
    assert config["Entrypoint"] == ["/opt/k8s-aws/bin/k8s-aws"]
    assert any(e.startswith("PATH=/opt/k8s-aws/bin:") for e in config["Env"])
    # Numeric, so a runAsNonRoot pod admits it without a passwd lookup; and it is no root.
    who = run(podman, "--entrypoint", "/bin/sh", IMAGE, "-c", "id -u; id -g; command -v k8s-aws")
    assert who.split() == [str(UID), str(UID), "/opt/k8s-aws/bin/k8s-aws"]


def layer_paths() -> set[str]:
    """Every path in the archive's layers, read from the archive itself."""
    paths: set[str] = set()
    with tarfile.open(ARCHIVE) as archive:

        def member(name: str) -> Any:
            found = archive.extractfile(name)
            assert found is not None, name
            return found

        def blob(digest: str) -> Any:
            return member("blobs/sha256/" + digest.removeprefix("sha256:"))

        index = json.load(member("index.json"))
        manifest = json.load(blob(index["manifests"][0]["digest"]))
        for layer in manifest["layers"]:
            with gzip.open(blob(layer["digest"])) as raw, tarfile.open(fileobj=raw, mode="r|") as tar:
                paths.update(m.name.removeprefix("./").rstrip("/") for m in tar)
    return paths


def test_contents_tools_and_no_build_leftovers(podman: Podman) -> None:
    paths = layer_paths()
    for pattern, what in FORBIDDEN:
        found = sorted(p for p in paths if pattern.search(p))
        assert not found, f"{what} in the image: {found[:5]}"
    assert not [p for p in REQUIRED if p not in paths]
    # The node tools start (ICU, which only xfs_scrub links, is left out of the image).
    out = run(podman, "--entrypoint", "/bin/sh", IMAGE, "-c",
              "mkfs.xfs -V && xfs_growfs -V && mkfs.ext4 -V 2>&1 && blkid -V && mount -V")
    assert "mkfs.xfs version" in out and "xfs_growfs version" in out and "blkid from" in out


@pytest.fixture(scope="module")
def bare_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxState]:
    """A sandbox without its own controllers: only the image's controller-manager acts."""
    yield from _sandbox(tmp_path_factory.mktemp("image-sandbox"), "--nodes", "2",
                        "--cluster-name", "imagetest", "--without-controllers")


def uninitialized(state: SandboxState) -> list[str]:
    return [n["metadata"]["name"] for n in kubectl_json(state, "get", "nodes")["items"]
            if not n["spec"].get("providerID")
            or any(t["key"] == UNINITIALIZED for t in n["spec"].get("taints") or [])]


def test_controller_manager_from_the_image_initializes_the_nodes(
    podman: Podman, bare_sandbox: SandboxState, tmp_path: Path
) -> None:
    state = bare_sandbox
    assert uninitialized(state), "the sandbox's nodes came up initialized: nothing to prove"
    kubectl = state.root / "bin" / "kubectl"
    # As the sandbox's own controller-manager: its RBAC and its ServiceAccount's token.
    install_rbac(kubectl, state.kubeconfig)
    kubeconfig = service_account_kubeconfig(
        kubectl, state.kubeconfig, state.apiserver_url, state.ca_cert, tmp_path / "kubeconfig")
    os.chown(kubeconfig, UID, UID)  # a token file the pod's user, and only it, reads
    name = f"k8s-aws-image-test-{os.getpid()}"
    port = free_port()
    # Host network: the API server, the emulator and IMDS listen on 127.0.0.1. aws.env holds
    # endpoints only; credentials come from the control VM's instance profile through IMDSv2.
    # Locked down as a restricted pod runs it: read-only root, no capabilities.
    podman(
        "run", "--detach", "--name", name, "--pull=never", "--network=host",
        "--read-only", "--cap-drop=ALL", "--security-opt=no-new-privileges",
        "--volume", f"{kubeconfig}:/etc/k8s-aws/kubeconfig:ro",
        "--volume", f"{state.root / 'aws.env'}:/etc/k8s-aws/aws.env:ro",
        "--env", "AWS_EC2_METADATA_DISABLED=false", "--env", "K8S_AWS_LOOPBACK_ONLY=1",
        "--entrypoint", "/bin/sh", IMAGE, "-c",
        ". /etc/k8s-aws/aws.env && exec k8s-aws controller-manager"
        " --kubeconfig=/etc/k8s-aws/kubeconfig --leader-elect --node-monitor-period=1"
        f" --metrics-bind-address=127.0.0.1:{port}",
    )
    try:
        def running() -> bool:
            return podman("inspect", "--format", "{{.State.Running}}", name).strip() == "true"

        try:
            wait_until(lambda: not running() or not uninitialized(state), timeout=120,
                       what="every node initialized by the image's controller-manager")
        except TimeoutError as error:
            raise AssertionError(f"{error}\n{podman('logs', name, check=False)}") from error
        assert running(), f"the container exited:\n{podman('logs', name, check=False)}"
        nodes = kubectl_json(state, "get", "nodes")["items"]
        assert len(nodes) == 3  # two workers and the control VM
        for node in nodes:
            assert re.fullmatch(r"aws:///[a-z0-9-]+/i-[0-9a-f]+", node["spec"]["providerID"])
        lease = kubectl_json(state, "get", "lease", "-n", "kube-system",
                             "k8s-aws-controller-manager")
        assert lease["spec"]["holderIdentity"]
    finally:
        podman("rm", "--force", "--time", "10", name, check=False)
