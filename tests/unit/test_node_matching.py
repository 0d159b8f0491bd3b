"""Nodes matched to instances whatever their name: BOSH `<uuid>.k8s` names by the director's
`id` tag, private DNS names, node IPs; one DescribeInstances per lookup method per batch,
limited to the cluster's instances; several matches are refused with a Warning."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, cast

from k8s_aws.controllers.node_init import NOT_FOUND_RETRY, NodeInitController
from k8s_aws.controllers.worker import RequeueAfter
from k8s_aws.kube.events import ObjectRef
from k8s_aws.nodes.initialize import UNINITIALIZED_TAINT
from tests.unit.test_instance_names import Ec2Account, directory

CLUSTER = "prod-1"
CLUSTER_TAG = {"Key": f"kubernetes.io/cluster/{CLUSTER}", "Value": "shared"}
TAINT = {"key": UNINITIALIZED_TAINT, "value": "true", "effect": "NoSchedule"}


def bosh_vm(account: Ec2Account, index: int, vm_uuid: str, cluster_tag: bool = True) -> str:
    instance_id = f"i-{index:08x}"
    tags = [{"Key": "id", "Value": vm_uuid}, {"Key": "name", "Value": f"node/{vm_uuid}"}]
    account.launch(
        instance_id, name=f"ip-10-0-{index // 250}-{index % 250}.us-west-2.compute.internal",
        Tags=[*tags, CLUSTER_TAG] if cluster_tag else tags,
        PrivateIpAddress=f"10.0.{index // 250}.{index % 250}",
        Placement={"AvailabilityZone": "us-west-2a"}, InstanceType="m5.large",
    )
    return instance_id


def node(name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": name, "resourceVersion": "1",
                         "annotations": annotations or {}},
            "spec": {"taints": [TAINT]}}


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []
        self.addresses: dict[str, list[dict[str, str]]] = {}
        self.specs: dict[str, dict[str, Any]] = {}

    async def record(self, ref: ObjectRef, type_: str, reason: str, message: str) -> None:
        self.events.append((type_, reason, message))

    async def set_addresses(self, view: Any, addresses: list[dict[str, str]]) -> Any:
        self.addresses[view.name] = addresses
        return view

    async def update_spec(self, view: Any, **kwargs: Any) -> None:
        self.specs[view.name] = kwargs

    async def zone_id(self, zone: str) -> str:
        return "usw2-az1"


def controller(account: Ec2Account, nodes: dict[str, Any]) -> tuple[NodeInitController,
                                                                       Recorder]:
    recorder = Recorder()
    instances = directory(account, cluster=CLUSTER)
    instances.zone_id = recorder.zone_id  # type: ignore[method-assign]
    init = NodeInitController(cache=nodes, directory=instances, writer=cast(Any, recorder),
                              events=cast(Any, recorder), region="us-west-2")
    return init, recorder


async def test_a_bosh_fleet_costs_one_call_per_200_names_and_nothing_once_known() -> None:
    account = Ec2Account()
    uuids = [str(uuid.UUID(int=i + 1)) for i in range(250)]
    ids = {f"{u}.k8s": bosh_vm(account, i, u) for i, u in enumerate(uuids)}
    dns_named = bosh_vm(account, 999, str(uuid.uuid4()))
    dns_name = "ip-10-0-3-249.us-west-2.compute.internal"
    nodes = {name: node(name) for name in [*ids, dns_name]}
    init, recorder = controller(account, nodes)
    await init.prefetch()
    # 250 ids: two calls of at most 200 values; the private DNS name: one call of its own.
    assert sorted(account.filters) == [["private-dns-name", "tag-key"]] + [
        ["tag-key", "tag:id"]] * 2
    calls = account.calls
    for name in nodes:
        assert await init.reconcile(name) is None
    assert account.calls == calls, "the reconciles after the prefetch cost AWS calls"
    assert recorder.events == []
    for name, instance_id in [*ids.items(), (dns_name, dns_named)]:
        assert recorder.specs[name]["provider_id"] == f"aws:///us-west-2a/{instance_id}"
        assert recorder.specs[name]["taints"] == []
        addresses = recorder.addresses[name]
        assert addresses[0]["type"] == "InternalIP"
        assert {"type": "Hostname", "address": name} in addresses


@dataclass
class SharedId:
    """Two of the cluster's VMs carrying one director `id` tag, and the Node named by it."""

    account: Ec2Account
    shared: str
    first: str
    second: str
    init: NodeInitController
    recorder: Recorder

    @property
    def name(self) -> str:
        return f"{self.shared}.k8s"


def two_vms_sharing_an_id() -> SharedId:
    account, shared = Ec2Account(), str(uuid.uuid4())
    first, second = bosh_vm(account, 1, shared), bosh_vm(account, 2, shared)
    init, recorder = controller(account, {f"{shared}.k8s": node(f"{shared}.k8s")})
    return SharedId(account, shared, first, second, init, recorder)


async def test_two_vms_sharing_an_id_tag_get_a_warning_and_no_change() -> None:
    case = two_vms_sharing_an_id()
    assert await case.init.reconcile(case.name) == RequeueAfter(NOT_FOUND_RETRY)
    ((type_, reason, message),) = case.recorder.events
    assert (type_, reason) == ("Warning", "AmbiguousInstance")
    assert case.first in message and case.second in message
    assert f"tag id={case.shared}" in message
    assert case.recorder.addresses == {} and case.recorder.specs == {}


async def test_another_clusters_vm_with_the_same_id_is_not_this_nodes() -> None:
    account = Ec2Account()
    vm_uuid = str(uuid.uuid4())
    ours = bosh_vm(account, 1, vm_uuid)
    bosh_vm(account, 2, vm_uuid, cluster_tag=False)
    name = f"{vm_uuid}.k8s"
    init, recorder = controller(account, {name: node(name)})
    assert await init.reconcile(name) is None
    assert recorder.specs[name]["provider_id"].endswith(ours)


async def test_a_custom_name_is_found_by_its_node_ip_after_private_dns() -> None:
    account = Ec2Account()
    instance_id = bosh_vm(account, 7, str(uuid.uuid4()))
    name = "worker-7.corp.example"
    nodes = {name: node(name, {"alpha.kubernetes.io/provided-node-ip": "10.0.0.7"})}
    init, recorder = controller(account, nodes)
    assert await init.reconcile(name) is None
    assert recorder.specs[name]["provider_id"].endswith(instance_id)
    assert [f for f in account.filters if "tag-key" in f] == [
        ["private-dns-name", "tag-key"], ["private-ip-address", "tag-key"]]


async def test_a_name_found_by_nothing_gets_a_warning_naming_what_was_tried() -> None:
    account = Ec2Account()
    vm_uuid = str(uuid.uuid4())
    init, recorder = controller(account, {f"{vm_uuid}.k8s": node(f"{vm_uuid}.k8s")})
    assert await init.reconcile(f"{vm_uuid}.k8s") == RequeueAfter(NOT_FOUND_RETRY)
    ((type_, reason, message),) = recorder.events
    assert (type_, reason) == ("Warning", "InstanceNotFound")
    assert f"BOSH director tag id={vm_uuid}" in message
    assert recorder.specs == {}


async def test_a_fixed_duplicate_is_read_again_not_answered_from_cache() -> None:
    case = two_vms_sharing_an_id()
    impostor, worker, name = case.first, case.second, case.name
    assert await case.init.reconcile(name) == RequeueAfter(NOT_FOUND_RETRY)
    case.account.terminate(impostor)
    assert await case.init.reconcile(name) is None
    assert case.recorder.specs[name]["provider_id"].endswith(worker)
