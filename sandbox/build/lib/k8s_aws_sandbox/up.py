"""Bring a sandbox up: control plane, AWS emulator, VPC and VMs, IMDS, kwok and kubelets."""

from __future__ import annotations

import os
import shutil
import ssl
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from k8s_aws.support import netguard
from k8s_aws.support.deadline import wait_until
from k8s_aws_sandbox import binaries, controlplane, procfs
from k8s_aws_sandbox.controllers import (
    aws_environment,
    controller_manager_spec,
    csi_driver_spec,
    install_rbac,
    service_account_kubeconfig,
)
from k8s_aws_sandbox.csi_controller import start_sidecars
from k8s_aws_sandbox.fidelity.control import ControlError, FidelityControl
from k8s_aws_sandbox.iam import enable_enforcement
from k8s_aws_sandbox.kubeconfig import (
    ADMIN_GROUPS,
    Identity,
    new_identity,
    token_auth_csv,
    write_kubeconfig,
)
from k8s_aws_sandbox.layout import NODE_NAMING
from k8s_aws_sandbox.loopdevices import DEVICES_DIR
from k8s_aws_sandbox.pki import create_pki
from k8s_aws_sandbox.ports import LOOPBACK, free_ports
from k8s_aws_sandbox.processes import ProcessGroup, ProcessSpec
from k8s_aws_sandbox.state import STATE_FILE, SandboxState, ready_nodes, uninitialized_nodes
from k8s_aws_sandbox.world import provision

STAGES_DIR = Path(__file__).parent / "stages"


class SandboxError(RuntimeError):
    """The sandbox could not be brought up; the message says which part failed and why."""


@dataclass(frozen=True)
class SandboxOptions:
    dir: Path
    nodes: int = 3
    region: str = "us-west-2"
    cluster: str = "sandbox"
    kubelet_interval: float = 1.0
    ready_timeout: float = 180.0
    controllers: bool = True
    iam_enforcement: bool = False
    node_naming: str = NODE_NAMING[0]  # the BOSH release's `<id>.k8s`, or private-dns

    @property
    def node_count(self) -> int:
        """Nodes to wait for: the BOSH release's control VM runs a kubelet too."""
        return self.nodes + (1 if self.node_naming == "bosh" else 0)


def _say(message: str) -> None:
    print(f"[sandbox] {message}", file=sys.stderr, flush=True)


def _python_spec(name: str, module: str, *args: str, keys: tuple[str, str]) -> ProcessSpec:
    env = {
        "AWS_ACCESS_KEY_ID": keys[0],
        "AWS_SECRET_ACCESS_KEY": keys[1],
        # The sandbox's own helpers never look for an IMDS: they are not on an instance.
        "AWS_EC2_METADATA_DISABLED": "true",
        netguard.ENV_FLAG: os.environ.get(netguard.ENV_FLAG, "1"),
        "PYTHONUNBUFFERED": "1",
    }
    return ProcessSpec(name=name, argv=(sys.executable, "-m", module, *args), env=env)


def _http_ok(url: str, expect: str | None = None) -> bool:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(url, timeout=2, context=context) as response:
        body = response.read().decode()
    return expect is None or expect in body


def _imds_ok(url: str) -> bool:
    request = urllib.request.Request(
        url + "/latest/api/token",
        method="PUT",
        headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"},
    )
    with urllib.request.urlopen(request, timeout=2) as response:
        return bool(response.status == 200)


class _Starter:
    """Starts processes one by one and waits for each to be ready, failing with its log."""

    def __init__(self, group: ProcessGroup) -> None:
        self.group = group

    def start(self, spec: ProcessSpec, ready: Callable[[], bool], timeout: float = 60,
              port: int | None = None) -> None:
        """`port`: the process is ready only once its own session listens there, so `ready`
        cannot be answered by another sandbox's server that took the port first."""
        _say(f"starting {spec.name}")
        session = self.group.start(spec)  # each process leads a session of its own

        def check() -> bool:
            self.group.check_alive(spec.name)
            if port is not None and not procfs.session_listens(session, port):
                return False
            return ready()

        wait_until(check, timeout=timeout, what=f"{spec.name} to be ready")


def _register_block_devices(emulator_url: str, instance_id: str) -> None:
    """The control VM runs the CSI node service: its attachments become loop devices
    (a fidelity behaviour; without the layer, attachments stay paper only)."""
    try:
        FidelityControl(emulator_url).set_block_device_instances([instance_id])
    except (ControlError, OSError) as exc:
        _say(f"no block devices for attachments ({exc})")


def _write_aws_env(path: Path, variables: dict[str, str]) -> None:
    lines = [
        "# Point boto3 and the AWS CLI at the sandbox's emulator, with credentials from its",
        "# instance metadata service (the control VM's instance profile), as on the real VM.",
        *(f"export {key}={value}" for key, value in variables.items()),
        "",
    ]
    path.write_text("\n".join(lines))


def _write_kubectl(path: Path, kubectl: Path, kubeconfig: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nexec "{kubectl}" --kubeconfig="{kubeconfig}" "$@"\n')
    path.chmod(0o755)


def _kwok_config(target: Path, kwok_dir: Path) -> Path:
    """Our node stages plus the pod stages kwok ships, as one multi-document file."""
    documents = [p.read_text() for p in sorted(STAGES_DIR.glob("*.yaml"))]
    documents += [p.read_text() for p in sorted(kwok_dir.glob("pod-*.yaml"))]
    target.write_text("\n---\n".join(d.strip() for d in documents) + "\n")
    return target


def up(options: SandboxOptions) -> SandboxState:
    root = options.dir.resolve()
    root.mkdir(parents=True, exist_ok=True)
    group = ProcessGroup(root)
    if any(p.alive() for p in group.pidfiles()):
        raise SandboxError(f"a sandbox is already running in {root}: run 'k8s-aws sandbox down'")
    group.stop_all()  # pidfiles of a crashed run whose processes are all gone
    (root / STATE_FILE).unlink(missing_ok=True)
    try:
        return _bring_up(options, root, group)
    except Exception:
        _say(f"failed; stopping what was started (logs stay in {root / 'logs'})")
        group.stop_all()
        raise


def _bring_up(options: SandboxOptions, root: Path, group: ProcessGroup) -> SandboxState:
    built = binaries.ensure_all()
    kube_bin, etcd_bin, kwok_bin = built["kubernetes"], built["etcd"], built["kwok"]
    (etcd_port, peer_port, api_port, kcm_port, sched_port, aws_port, imds_port, kwok_port,
     ccm_port) = free_ports(9)
    ports = controlplane.ControlPlanePorts(etcd_port, peer_port, api_port, kcm_port, sched_port)
    pki = create_pki(root / "pki")
    admin = new_identity("sandbox-admin", ADMIN_GROUPS)
    identities: dict[str, Identity] = {
        "admin": admin,
        "kube-controller-manager": new_identity("system:kube-controller-manager"),
        "kube-scheduler": new_identity("system:kube-scheduler"),
        "kwok": new_identity("kwok", ADMIN_GROUPS),
        "kubelets": new_identity("sandbox-kubelets", ADMIN_GROUPS),
    }
    token_file = root / "pki" / "tokens.csv"
    token_file.write_text(token_auth_csv(list(identities.values())))
    token_file.chmod(0o600)
    starter = _Starter(group)

    etcd_data = root / "etcd"
    shutil.rmtree(etcd_data, ignore_errors=True)
    starter.start(
        controlplane.etcd_spec(etcd_bin / "etcd", etcd_data, ports),
        lambda: _http_ok(f"http://{LOOPBACK}:{etcd_port}/health", '"health":"true"'),
        port=etcd_port,
    )
    api_url = f"https://{LOOPBACK}:{api_port}"
    starter.start(
        controlplane.apiserver_spec(kube_bin / "kube-apiserver", pki, token_file, ports),
        lambda: _http_ok(f"{api_url}/readyz", "ok"),
        timeout=120,
        port=api_port,
    )
    kubeconfigs = {
        name: write_kubeconfig(
            root / ("kubeconfig" if name == "admin" else f"{name}.kubeconfig"),
            api_url,
            pki.ca_cert,
            ident,
            "k8s-aws-sandbox",
        )
        for name, ident in identities.items()
    }
    starter.start(
        controlplane.controller_manager_spec(
            kube_bin / "kube-controller-manager",
            kubeconfigs["kube-controller-manager"],
            pki,
            root / "certs" / "kube-controller-manager",
            kcm_port,
        ),
        lambda: _http_ok(f"https://{LOOPBACK}:{kcm_port}/healthz", "ok"),
        port=kcm_port,
    )
    starter.start(
        controlplane.scheduler_spec(
            kube_bin / "kube-scheduler",
            kubeconfigs["kube-scheduler"],
            root / "certs" / "kube-scheduler",
            sched_port,
        ),
        lambda: _http_ok(f"https://{LOOPBACK}:{sched_port}/healthz", "ok"),
        port=sched_port,
    )
    emulator_url = f"http://{LOOPBACK}:{aws_port}"
    starter.start(
        _python_spec("aws-emulator", "k8s_aws_sandbox.emulator", f"--port={aws_port}",
                     f"--block-device-dir={root / DEVICES_DIR}", keys=("sandbox", "sandbox")),
        lambda: _http_ok(f"{emulator_url}/moto-api/data.json"),
        port=aws_port,
    )
    _say(f"provisioning the AWS account: VPC, subnets, IAM, {options.nodes} worker VMs")
    world = provision(
        emulator_url, options.cluster, options.region, options.nodes, options.node_naming
    )
    _register_block_devices(emulator_url, world.control_instance)
    keys = ("sandbox", "sandbox")
    if options.iam_enforcement:
        _say("switching IAM enforcement on: controllers hold only the generated policy")
        keys = enable_enforcement(emulator_url, options.region)
    imds_url = f"http://{LOOPBACK}:{imds_port}"
    starter.start(
        _python_spec(
            "imds",
            "k8s_aws_sandbox.imds",
            f"--emulator={emulator_url}",
            f"--instance-id={world.control_instance}",
            f"--region={options.region}",
            f"--port={imds_port}",
            keys=keys,
        ),
        lambda: _imds_ok(imds_url),
        port=imds_port,
    )
    state = SandboxState(
        dir=str(root),
        cluster=options.cluster,
        region=options.region,
        apiserver_url=api_url,
        emulator_url=emulator_url,
        imds_url=imds_url,
        admin_token=admin.token,
        world=world,
        etcd_url=f"http://{LOOPBACK}:{etcd_port}",
        access_key=keys[0],
        secret_key=keys[1],
        iam_enforced=options.iam_enforcement,
    )
    state.save()
    aws_env = aws_environment(emulator_url, imds_url, options.region)
    _write_aws_env(root / "aws.env", aws_env)
    _write_kubectl(root / "bin" / "kubectl", kube_bin / "kubectl", state.kubeconfig)
    starter.start(
        ProcessSpec(
            name="kwok",
            argv=(
                str(kwok_bin / "kwok"),
                f"--kubeconfig={kubeconfigs['kwok']}",
                "--manage-all-nodes=false",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                f"--config={_kwok_config(root / 'kwok-stages.yaml', kwok_bin)}",
                f"--server-address={LOOPBACK}:{kwok_port}",
                "--node-lease-duration-seconds=40",
                f"--cidr={controlplane.CLUSTER_CIDR}",
            ),
        ),
        lambda: True,
        port=kwok_port,
    )
    starter.start(
        _python_spec(
            "kubelets",
            "k8s_aws_sandbox.kubelets",
            f"--kubeconfig={kubeconfigs['kubelets']}",
            f"--emulator={emulator_url}",
            f"--region={options.region}",
            f"--cluster={options.cluster}",
            f"--interval={options.kubelet_interval}",
            f"--node-naming={options.node_naming}",
            "--csi",
            keys=keys,
        ),
        lambda: True,
    )
    _say(f"waiting for {options.node_count} nodes to be Ready ({options.node_naming} names)")

    def all_ready() -> bool:
        for name in ("kwok", "kubelets"):
            group.check_alive(name)
        return len(ready_nodes(state)[0]) >= options.node_count

    wait_until(all_ready, timeout=options.ready_timeout,
               what=f"{options.node_count} Ready nodes")
    if options.controllers:
        _start_controllers(starter, state, options, kube_bin / "kubectl", aws_env, ccm_port)
    return state


def _start_controllers(
    starter: _Starter,
    state: SandboxState,
    options: SandboxOptions,
    kubectl: Path,
    aws_env: dict[str, str],
    ccm_port: int,
) -> None:
    root, group = state.root, starter.group
    install_rbac(kubectl, state.kubeconfig)
    ccm_kubeconfig = service_account_kubeconfig(
        kubectl, state.kubeconfig, state.apiserver_url, state.ca_cert,
        root / "controller-manager.kubeconfig",
    )
    (root / "calls").mkdir(exist_ok=True)
    state.controller_manager_url = f"http://{LOOPBACK}:{ccm_port}"
    state.save()
    starter.start(
        controller_manager_spec(
            "controller-manager", ccm_kubeconfig, ccm_port,
            root / "calls" / "controller-manager.jsonl", aws_env,
        ),
        lambda: _http_ok(f"{state.controller_manager_url}/readyz", "ok"),
        # Ready once its caches synced and every uninitialized node's instance was read.
        timeout=max(60.0, options.ready_timeout),
        port=ccm_port,
    )
    csi_socket = root / "csi" / "csi.sock"
    starter.start(
        csi_driver_spec("csi-driver", csi_socket, root / "calls" / "csi-driver.jsonl", aws_env,
                        state.cluster),
        csi_socket.is_socket,
    )
    state.csi_sidecars = start_sidecars(
        starter, kubectl, state.kubeconfig, state.apiserver_url, state.ca_cert, root, csi_socket
    )
    state.save()
    _say("waiting for the controller-manager to initialize the nodes")

    def all_initialized() -> bool:
        group.check_alive("controller-manager")
        return uninitialized_nodes(state) == 0

    wait_until(
        all_initialized,
        timeout=options.ready_timeout,
        what="every node initialized (uninitialized taint removed)",
    )
