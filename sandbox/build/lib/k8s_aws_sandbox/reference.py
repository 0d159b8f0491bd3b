"""The reference cloud provider (kubernetes/cloud-provider-aws) on a sandbox, for benchmarks.

It runs as a user runs it on the control VM: `--cloud-provider=aws`, a cloud config whose
`[ServiceOverride]` sections point EC2 and both ELB APIs at the emulator, credentials from
the instance profile through IMDS. It is not our code, so it runs in a network namespace
with nothing but loopback (see `relay`): the API server, the emulator and IMDS are relayed
in on their own ports, and any endpoint the overrides miss fails instead of reaching AWS.
Its calls carry the app id `cloud-provider-aws` (AWS_SDK_UA_APP_ID), which is how the
emulator's call log tells them from ours.
"""

from __future__ import annotations

import sys
import urllib.parse
from pathlib import Path

from k8s_aws_sandbox import binaries
from k8s_aws_sandbox.processes import ProcessSpec
from k8s_aws_sandbox.state import SandboxState

APP_ID = "cloud-provider-aws"
BINARY = "aws-cloud-controller-manager"
# The SDK's service ids, which the reference compares [ServiceOverride] Service with.
OVERRIDDEN_SERVICES = ("EC2", "Elastic Load Balancing", "Elastic Load Balancing v2")
CONTROLLERS = "cloud-node,cloud-node-lifecycle,service"


def loopback_ports(state: SandboxState) -> list[int]:
    """The ports the reference needs: API server, emulator, IMDS."""
    urls = (state.apiserver_url, state.emulator_url, state.imds_url)
    return [int(urllib.parse.urlsplit(url).port or 0) for url in urls]


def cloud_config(state: SandboxState) -> str:
    world, region = state.world, state.region
    private = sorted(sid for name, sid in world.subnets.items() if "-private-" in name)
    lines = [
        "[Global]",
        f"Region = {region}",
        f"VPC = {world.vpc_id}",
        f"SubnetID = {private[0] if private else ''}",
        f"KubernetesClusterID = {state.cluster}",
        "",
    ]
    for index, service in enumerate(OVERRIDDEN_SERVICES, start=1):
        lines += [
            f'[ServiceOverride "{index}"]',
            f"Service = {service}",
            f"Region = {region}",
            f"URL = {state.emulator_url}",
            f"SigningRegion = {region}",
            "",
        ]
    return "\n".join(lines)


def reference_specs(
    state: SandboxState, name: str, concurrent_service_syncs: int, extra_args: tuple[str, ...] = ()
) -> tuple[ProcessSpec, ProcessSpec]:
    """(host-side relay, the reference in its namespace); start them in this order."""
    root = state.root
    binary = binaries.install_dir(binaries.CLOUD_PROVIDER_AWS) / BINARY
    config = root / f"{name}.cloud.conf"
    config.write_text(cloud_config(state))
    sockets = root / "relay"
    sockets.mkdir(exist_ok=True)
    ports = loopback_ports(state)
    outside = [f"unix:{_socket(sockets, name, p)}=tcp:127.0.0.1:{p}" for p in ports]
    inside = [f"tcp:127.0.0.1:{p}=unix:{_socket(sockets, name, p)}" for p in ports]
    relay = (sys.executable, "-m", "k8s_aws_sandbox.relay")
    host_relay = ProcessSpec(name=f"{name}-relay", argv=(*relay, *outside))
    argv = (
        "unshare", "--net", "--", *relay, "--loopback-up", *inside, "--",
        str(binary),
        "--cloud-provider=aws",
        f"--cloud-config={config}",
        f"--kubeconfig={state.kubeconfig}",
        f"--cluster-name={state.cluster}",
        f"--controllers={CONTROLLERS}",
        "--configure-cloud-routes=false",
        "--allocate-node-cidrs=false",
        "--leader-elect=false",
        "--use-service-account-credentials=false",
        "--bind-address=127.0.0.1",
        "--secure-port=0",
        f"--concurrent-service-syncs={concurrent_service_syncs}",
        "--v=2",
        *extra_args,
    )
    env = {
        "AWS_SDK_UA_APP_ID": APP_ID,
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": state.imds_url + "/",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv4",
        # Credentials only from IMDS: no keys, no shared files of whoever runs the bench.
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "false",
    }
    return host_relay, ProcessSpec(name=name, argv=argv, env=env)


def _socket(directory: Path, name: str, port: int) -> Path:
    return directory / f"{name}-{port}.sock"
