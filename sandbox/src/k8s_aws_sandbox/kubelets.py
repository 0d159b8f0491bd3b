"""Stand-in kubelets: the link between each emulated VM and its Node.

A real kubelet on a running VM registers its Node (with the uninitialized taint and no
providerID, as with `--cloud-provider=external`) and, when the VM stops or terminates, stops
posting status. This process does both from the emulator's view of the VMs: it registers a
Node for every running VM that has none and marks the Node of a VM that is not running, so
kwok's stages report it NotReady (Ready=Unknown).

Two shapes (`--node-naming`). `bosh`, the default, is the Kubernetes BOSH release with
`cloud-provider.type: external`: Nodes named `<BOSH instance id>.k8s`, no addresses and no
node IP, the control VM a Node too (labelled and tainted `node-role.kubernetes.io/master`);
and, on a kubelet restart (asked for by annotating the Node `sandbox.k8s-aws.io/restart-
kubelet`), the release's delete-and-re-register of a Node whose providerID is set.
`private-dns` is other installers': worker Nodes named by private DNS, with their node IP.

Run as `python -m k8s_aws_sandbox.kubelets --kubeconfig F --emulator URL --region R --cluster C
[--node-naming bosh|private-dns]`.
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
from k8s_aws.model.cluster_tag import cluster_tag_key
from k8s_aws.support import netguard
from k8s_aws_sandbox import csinodes
from k8s_aws_sandbox.binaries import KUBERNETES_VERSION
from k8s_aws_sandbox.layout import NODE_NAMING

log = logging.getLogger("k8s_aws_sandbox.kubelets")

KWOK_ANNOTATION = "kwok.x-k8s.io/node"
KUBELET_ANNOTATION = "sandbox.k8s-aws.io/kubelet"
RESTART_ANNOTATION = "sandbox.k8s-aws.io/restart-kubelet"
UNINITIALIZED_TAINT = "node.cloudprovider.kubernetes.io/uninitialized"
MASTER_ROLE = "node-role.kubernetes.io/master"
RUNNING_STATES = frozenset({"running"})
CONTROL_GROUP = "control"


@dataclass(frozen=True)
class Vm:
    instance_id: str
    state: str
    private_dns: str
    private_ip: str
    bosh_id: str = ""
    instance_group: str = "worker"
    zone: str = ""
    instance_type: str = ""


def node_name(vm: Vm, naming: str) -> str:
    """The release's kubelet: `<spec.id>.k8s` for any cloud provider type but `aws`."""
    return f"{vm.bosh_id}.k8s" if naming == "bosh" else vm.private_dns


def node_manifest(vm: Vm, naming: str = "private-dns") -> dict[str, Any]:
    """The Node a kubelet started with --cloud-provider=external registers: the BOSH
    release's kubelet passes no --node-ip, others pass the VM's IP."""
    name = node_name(vm, naming)
    labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "beta.kubernetes.io/arch": "amd64",
    }
    annotations = {
        KWOK_ANNOTATION: "fake",
        "volumes.kubernetes.io/controller-managed-attach-detach": "true",
        "node.alpha.kubernetes.io/ttl": "0",
    }
    if naming != "bosh":
        annotations["alpha.kubernetes.io/provided-node-ip"] = vm.private_ip
    taints = [{"key": UNINITIALIZED_TAINT, "value": "true", "effect": "NoSchedule"}]
    if vm.instance_group == CONTROL_GROUP:
        # The kubelet job's `master: true`: its taint, and the label its post-deploy adds.
        labels[MASTER_ROLE] = ""
        taints.append({"key": MASTER_ROLE, "value": "true", "effect": "NoSchedule"})
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": {"taints": taints},
        "status": {"nodeInfo": {"kubeletVersion": KUBERNETES_VERSION}},
    }


def kubelet_annotation(vm: Vm | None) -> str | None:
    """`stopped` when the VM behind a Node is not running (or gone), else no annotation."""
    return None if vm is not None and vm.state in RUNNING_STATES else "stopped"


def vm_of(raw: dict[str, Any]) -> Vm:
    tags = {t["Key"]: t["Value"] for t in raw.get("Tags", [])}
    return Vm(raw["InstanceId"], raw["State"]["Name"], raw.get("PrivateDnsName", ""),
              raw.get("PrivateIpAddress", ""), tags.get("id", ""),
              tags.get("instance_group", ""), raw.get("Placement", {}).get("AvailabilityZone", ""),
              raw.get("InstanceType", ""))


def vms_by_node_name(vms: list[Vm], naming: str) -> dict[str, Vm]:
    """A terminated VM keeps its old name (DNS name, or the BOSH id a recreated VM gets
    again); a running one with the same name wins."""
    by_name: dict[str, Vm] = {}
    for vm in vms:
        name = node_name(vm, naming)
        if name and name != ".k8s" and (name not in by_name or vm.state in RUNNING_STATES):
            by_name[name] = vm
    return by_name


def _owner_uid(csinode: Any) -> str | None:
    """The uid of the Node a CSINode belongs to (None: no owner recorded)."""
    owners = csinode.metadata.owner_references or []
    return str(owners[0].uid) if owners else None


class Kubelets:
    def __init__(
        self, ec2: Any, core: client.CoreV1Api, cluster: str, naming: str = NODE_NAMING[0],
        storage: client.StorageV1Api | None = None,
    ) -> None:
        self._ec2 = ec2
        self._core = core
        self._storage = storage
        self._cluster = cluster
        self._naming = naming
        # Only the BOSH release runs a kubelet on its control VMs.
        self._groups = ["worker", CONTROL_GROUP] if naming == "bosh" else ["worker"]
        # Node name -> uid of the Node whose CSINode and labels are in place: registered
        # once, as node-driver-registrar does, not re-checked on every sync.
        self._csi_registered: dict[str, str] = {}

    def _vms(self) -> list[Vm]:
        pages = self._ec2.get_paginator("describe_instances").paginate(
            Filters=[
                {"Name": "tag-key", "Values": [cluster_tag_key(self._cluster)]},
                {"Name": "tag:instance_group", "Values": self._groups},
            ]
        )
        return [vm_of(i) for page in pages for r in page["Reservations"] for i in r["Instances"]]

    async def _restart(self, node: Any) -> bool:
        """The release's bin/kubelet on start: a Node whose providerID differs from the
        empty one it computes is deleted, to be registered again. True if deleted."""
        name = node.metadata.name
        if node.spec.provider_id:
            log.info("kubelet on %s restarted: deleting its node to re-register", name)
            await self._core.delete_node(name)
            return True
        await self._core.patch_node(
            name, {"metadata": {"annotations": {RESTART_ANNOTATION: None}}}
        )
        return False

    async def sync_once(self) -> None:
        vms = await asyncio.to_thread(self._vms)
        nodes = (await self._core.list_node()).items
        ours = {
            n.metadata.name: n
            for n in nodes
            if (n.metadata.annotations or {}).get(KWOK_ANNOTATION) == "fake"
        }
        for name, node in list(ours.items()):
            if RESTART_ANNOTATION in (node.metadata.annotations or {}) and (
                await self._restart(node)
            ):
                del ours[name]  # registered again on the next sync, once the delete is done
        listed = {n.metadata.name for n in nodes}
        by_name = vms_by_node_name(vms, self._naming)
        for name, vm in by_name.items():
            if vm.state in RUNNING_STATES and name not in listed:
                log.info("registering node %s for %s", name, vm.instance_id)
                await self._core.create_node(cast(Any, node_manifest(vm, self._naming)))
        for name, node in ours.items():
            wanted = kubelet_annotation(by_name.get(name))
            current = (node.metadata.annotations or {}).get(KUBELET_ANNOTATION)
            if wanted != current:
                log.info("kubelet on %s: %s", name, wanted or "running")
                await self._core.patch_node(
                    name, {"metadata": {"annotations": {KUBELET_ANNOTATION: wanted}}}
                )
        if self._storage is not None:
            await self._register_csi(ours, by_name)

    async def _register_csi(self, ours: dict[str, Any], by_name: dict[str, Vm]) -> None:
        """node-driver-registrar's job on each running VM's Node: the CSINode and the
        topology labels (see `csinodes`), once per Node (a re-registered Node has a new uid).
        CSINodes are listed only while some Node still needs its registration."""
        assert self._storage is not None
        self._csi_registered = {
            name: uid for name, uid in self._csi_registered.items() if name in ours}
        pending: list[tuple[str, Any, Vm]] = []
        for name, node in ours.items():
            vm = by_name.get(name)
            if (self._csi_registered.get(name) != node.metadata.uid and vm is not None
                    and vm.state in RUNNING_STATES and vm.zone):
                pending.append((name, node, vm))
        if not pending:
            return
        owners = {c.metadata.name: _owner_uid(c)
                  for c in (await self._storage.list_csi_node()).items}
        for name, node, vm in pending:
            missing = csinodes.needs_labels(node.metadata.labels or {}, vm.zone)
            if missing:
                await self._core.patch_node(name, {"metadata": {"labels": missing}})
            if name not in owners:
                log.info("registering CSI driver on %s as %s", name, vm.instance_id)
                body = csinodes.csinode_manifest(
                    name, node.metadata.uid, vm.instance_id, vm.instance_type)
                await self._storage.create_csi_node(cast(Any, body))
            elif owners[name] not in (None, node.metadata.uid):
                continue  # the deleted Node's CSINode, not yet collected: a later sync
            self._csi_registered[name] = node.metadata.uid

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
        kubelets = Kubelets(ec2, client.CoreV1Api(api), args.cluster, args.node_naming,
                            client.StorageV1Api(api) if args.csi else None)
        await kubelets.run(args.interval)


def main() -> None:
    netguard.install_if_requested()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    parser = argparse.ArgumentParser(prog="k8s-aws-kubelets")
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--emulator", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--cluster", required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--node-naming", choices=NODE_NAMING, default=NODE_NAMING[0])
    parser.add_argument("--csi", action="store_true",
                        help="also do node-driver-registrar's job: CSINodes, topology labels")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
