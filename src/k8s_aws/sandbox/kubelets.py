"""Stand-in kubelets: the link between each emulated worker VM and its Node.

A real kubelet on a running VM registers its Node (named after the private DNS name, with the
uninitialized taint and no providerID, as with `--cloud-provider=external`) and, when the VM
stops or terminates, stops posting status. This process does both from the emulator's view
of the VMs: it registers a Node for every running worker VM that has none and marks the Node
of a VM that is not running, so kwok's stages report it NotReady (Ready=Unknown).

Run as `python -m k8s_aws.sandbox.kubelets --kubeconfig F --emulator URL --region R --cluster C`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import boto3
from botocore.config import Config
from kubernetes_asyncio import client

from k8s_aws.kube.client import api_client
from k8s_aws.sandbox.binaries import KUBERNETES_VERSION
from k8s_aws.sandbox.layout import cluster_tag_key
from k8s_aws.support import netguard

log = logging.getLogger("k8s_aws.sandbox.kubelets")

KWOK_ANNOTATION = "kwok.x-k8s.io/node"
KUBELET_ANNOTATION = "sandbox.k8s-aws.io/kubelet"
UNINITIALIZED_TAINT = "node.cloudprovider.kubernetes.io/uninitialized"
RUNNING_STATES = frozenset({"running"})


@dataclass(frozen=True)
class Vm:
    instance_id: str
    state: str
    private_dns: str
    private_ip: str


def node_manifest(vm: Vm) -> dict[str, Any]:
    """The Node a kubelet started with --cloud-provider=external registers."""
    name = vm.private_dns
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": "amd64",
            },
            "annotations": {
                KWOK_ANNOTATION: "fake",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                "alpha.kubernetes.io/provided-node-ip": vm.private_ip,
                "node.alpha.kubernetes.io/ttl": "0",
            },
        },
        "spec": {
            "taints": [{"key": UNINITIALIZED_TAINT, "value": "true", "effect": "NoSchedule"}]
        },
        "status": {"nodeInfo": {"kubeletVersion": KUBERNETES_VERSION}},
    }


def kubelet_annotation(vm: Vm | None) -> str | None:
    """`stopped` when the VM behind a Node is not running (or gone), else no annotation."""
    return None if vm is not None and vm.state in RUNNING_STATES else "stopped"


class Kubelets:
    def __init__(self, ec2: Any, core: client.CoreV1Api, cluster: str) -> None:
        self._ec2 = ec2
        self._core = core
        self._cluster = cluster

    def _worker_vms(self) -> list[Vm]:
        pages = self._ec2.get_paginator("describe_instances").paginate(
            Filters=[
                {"Name": "tag-key", "Values": [cluster_tag_key(self._cluster)]},
                {"Name": "tag:instance_group", "Values": ["worker"]},
            ]
        )
        return [
            Vm(i["InstanceId"], i["State"]["Name"], i.get("PrivateDnsName", ""),
               i.get("PrivateIpAddress", ""))
            for page in pages
            for r in page["Reservations"]
            for i in r["Instances"]
        ]

    async def sync_once(self) -> None:
        vms = await asyncio.to_thread(self._worker_vms)
        nodes = (await self._core.list_node()).items
        ours = {
            n.metadata.name: n
            for n in nodes
            if (n.metadata.annotations or {}).get(KWOK_ANNOTATION) == "fake"
        }
        by_name: dict[str, Vm] = {}
        for vm in vms:
            # A terminated VM keeps its old name; a running one with the same name wins.
            if vm.private_dns and (
                vm.private_dns not in by_name or vm.state in RUNNING_STATES
            ):
                by_name[vm.private_dns] = vm
        for name, vm in by_name.items():
            if vm.state in RUNNING_STATES and name not in ours:
                log.info("registering node %s for %s", name, vm.instance_id)
                await self._core.create_node(cast(Any, node_manifest(vm)))
        for name, node in ours.items():
            wanted = kubelet_annotation(by_name.get(name))
            current = (node.metadata.annotations or {}).get(KUBELET_ANNOTATION)
            if wanted != current:
                log.info("kubelet on %s: %s", name, wanted or "running")
                await self._core.patch_node(
                    name, {"metadata": {"annotations": {KUBELET_ANNOTATION: wanted}}}
                )

    async def run(self, interval: float) -> None:
        """Sync every `interval` seconds, or twice as long as the last sync took: with
        thousands of VMs a full DescribeInstances is slow in the emulator, and these stand-ins
        must not crowd out the controllers under test."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await self.sync_once()
            except Exception:
                log.exception("kubelet sync failed; retrying")
            await asyncio.sleep(max(interval, 2 * (loop.time() - started)))


async def _main(args: argparse.Namespace) -> None:
    session = boto3.session.Session(region_name=args.region)  # the sandbox's keys, from env
    # The app id names these calls in the emulator's call log (botocore-stubs lag on it).
    app_id: dict[str, Any] = {"user_agent_appid": "sandbox-kubelets"}
    ec2 = session.client("ec2", endpoint_url=args.emulator, config=Config(**app_id))
    async with await api_client(Path(args.kubeconfig)) as api:
        await Kubelets(ec2, client.CoreV1Api(api), args.cluster).run(args.interval)


def main() -> None:
    netguard.install_if_requested()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = argparse.ArgumentParser(prog="k8s-aws-kubelets")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--emulator", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--cluster", required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
