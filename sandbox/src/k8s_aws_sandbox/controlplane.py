"""Command lines for the real Kubernetes control plane, every listener on 127.0.0.1.

kube-controller-manager, kube-scheduler and etcd's peer port bind other addresses by default;
each is overridden here, with ports chosen at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from k8s_aws_sandbox.pki import ControlPlanePki
from k8s_aws_sandbox.ports import LOOPBACK
from k8s_aws_sandbox.processes import ProcessSpec

# 1022 ClusterIPs (the kubernetes Service keeps 10.0.0.1, the first): room for the
# benchmarks' 500 LoadBalancer Services at 1000 nodes.
SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/22"
CLUSTER_CIDR = "10.200.0.0/16"


@dataclass(frozen=True)
class ControlPlanePorts:
    etcd_client: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int


def etcd_spec(binary: Path, data_dir: Path, ports: ControlPlanePorts) -> ProcessSpec:
    client = f"http://{LOOPBACK}:{ports.etcd_client}"
    peer = f"http://{LOOPBACK}:{ports.etcd_peer}"
    return ProcessSpec(
        name="etcd",
        argv=(
            str(binary),
            "--name=sandbox",
            f"--data-dir={data_dir}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=sandbox={peer}",
            "--unsafe-no-fsync",
            "--quota-backend-bytes=8589934592",
            "--log-level=warn",
        ),
    )


def apiserver_spec(
    binary: Path, pki: ControlPlanePki, token_file: Path, ports: ControlPlanePorts
) -> ProcessSpec:
    return ProcessSpec(
        name="kube-apiserver",
        argv=(
            str(binary),
            f"--etcd-servers=http://{LOOPBACK}:{ports.etcd_client}",
            f"--bind-address={LOOPBACK}",
            f"--advertise-address={LOOPBACK}",
            f"--secure-port={ports.apiserver}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            f"--token-auth-file={token_file}",
            "--authorization-mode=Node,RBAC",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            "--allow-privileged=true",
            "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={pki.service_account_pub}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            "--disable-admission-plugins=ServiceAccount",
            "--profiling=false",
            "--v=1",
        ),
    )


def controller_manager_spec(
    binary: Path, kubeconfig: Path, pki: ControlPlanePki, cert_dir: Path, port: int
) -> ProcessSpec:
    return ProcessSpec(
        name="kube-controller-manager",
        argv=(
            str(binary),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={port}",
            f"--cert-dir={cert_dir}",
            "--cloud-provider=external",
            "--leader-elect=false",
            f"--service-account-private-key-file={pki.service_account_key}",
            f"--root-ca-file={pki.ca_cert}",
            "--use-service-account-credentials=true",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            f"--cluster-cidr={CLUSTER_CIDR}",
            "--allocate-node-cidrs=true",
            "--configure-cloud-routes=false",
            "--profiling=false",
            "--v=1",
        ),
    )


def scheduler_spec(binary: Path, kubeconfig: Path, cert_dir: Path, port: int) -> ProcessSpec:
    return ProcessSpec(
        name="kube-scheduler",
        argv=(
            str(binary),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={port}",
            f"--cert-dir={cert_dir}",
            "--leader-elect=false",
            "--profiling=false",
            "--v=1",
        ),
    )
