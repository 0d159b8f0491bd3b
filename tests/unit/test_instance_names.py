"""A private DNS name outlives its instance: AWS gives a terminated VM's IP to a later one
(BOSH recreates VMs with their static IPs). The directory's name -> instance map must follow,
and node initialization must never take a dead instance's identity."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, cast

from k8s_aws.cloud.instances import InstanceDirectory
from k8s_aws.controllers.node_init import NOT_FOUND_RETRY, NodeInitController
from k8s_aws.controllers.worker import RequeueAfter
from k8s_aws.kube.events import ObjectRef
from k8s_aws.model.instance import InstanceId
from k8s_aws.nodes.initialize import UNINITIALIZED_TAINT

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

NAME = "ip-10-0-1-5.us-west-2.compute.internal"


class Ec2Account:
    """DescribeInstances over a list of instances, filtered as EC2 filters them."""

    def __init__(self) -> None:
        self.instances: list[dict[str, Any]] = []
        self.calls = 0
        self.filters: list[list[str]] = []

    def launch(self, instance_id: str, name: str = NAME, **extra: Any) -> None:
        self.instances.append({"InstanceId": instance_id, "PrivateDnsName": name,
                               "State": {"Name": "running"}, **extra})

    def terminate(self, instance_id: str) -> None:
        for instance in self.instances:
            if instance["InstanceId"] == instance_id:
                instance["State"] = {"Name": "terminated"}

    def get_paginator(self, operation: str) -> Ec2Account:
        assert operation == "describe_instances"
        return self

    def paginate(self, Filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.calls += 1
        self.filters.append(sorted(f["Name"] for f in Filters))
        found = [i for i in self.instances if all(matches(i, f) for f in Filters)]
        return [{"Reservations": [{"Instances": found}]}]


def matches(instance: dict[str, Any], ec2_filter: dict[str, Any]) -> bool:
    """One EC2 filter: any of its values (different filters are ANDed by the caller)."""
    name, values = ec2_filter["Name"], ec2_filter["Values"]
    tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
    if name == "tag-key":
        return bool(set(values) & tags.keys())
    if name.startswith("tag:"):
        return tags.get(name[4:]) in values
    key = {"instance-id": "InstanceId", "private-dns-name": "PrivateDnsName",
           "private-ip-address": "PrivateIpAddress"}[name]
    return instance.get(key) in values


def directory(account: Ec2Account, cluster: str = "") -> InstanceDirectory:
    # A stand-in for EC2's DescribeInstances paginator, the only part the directory uses.
    return InstanceDirectory(cast("EC2Client", account), ThreadPoolExecutor(1), batch_idle=0.0, batch_max_wait=0.0,
                             cluster=cluster)


async def named(instances: InstanceDirectory) -> str | None:
    found = [r for r in await instances.find("private-dns-name", [NAME])
             if r.state != "terminated"]
    return found[0].id if found else None


async def test_a_forgotten_name_is_looked_up_again() -> None:
    account = Ec2Account()
    account.launch("i-old")
    instances = directory(account)
    assert await named(instances) == "i-old"
    account.terminate("i-old")
    account.launch("i-new")
    # Until the name is forgotten the cached mapping answers, without a call...
    calls = account.calls
    assert await named(instances) == "i-old"
    assert account.calls == calls
    # ...and once its Node is gone, the name is asked for afresh.
    instances.forget_values("private-dns-name", [NAME])
    assert await named(instances) == "i-new"


async def test_an_instance_read_as_terminated_gives_its_name_up() -> None:
    account = Ec2Account()
    account.launch("i-old")
    instances = directory(account)
    await instances.find("private-dns-name", [NAME])
    account.terminate("i-old")
    account.launch("i-new")
    old = await instances.get(InstanceId("i-old"), max_age=0)
    assert old is not None and old.state == "terminated"
    assert await named(instances) == "i-new"


async def test_a_name_only_a_terminated_instance_had_finds_nothing_alive() -> None:
    account = Ec2Account()
    account.launch("i-old")
    account.terminate("i-old")
    (found,) = await directory(account).find("private-dns-name", [NAME])
    assert found.state == "terminated"  # node_init refuses it


class Recorder:
    """Events and Node writes a reconcile makes, kept instead of sent."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.writes: list[str] = []

    async def record(self, ref: ObjectRef, type_: str, reason: str, message: str) -> None:
        self.events.append((type_, reason))

    async def set_addresses(self, *args: Any) -> None:
        self.writes.append("addresses")

    async def update_spec(self, *args: Any, **kwargs: Any) -> None:
        self.writes.append("spec")


async def test_a_new_node_is_never_given_a_terminated_instances_identity() -> None:
    account = Ec2Account()
    account.launch("i-old")
    account.terminate("i-old")  # the only instance that ever had the name
    node = {"metadata": {"name": NAME}, "spec": {"taints": [
        {"key": UNINITIALIZED_TAINT, "value": "true", "effect": "NoSchedule"}]}}
    recorder = Recorder()
    init = NodeInitController(
        cache={NAME: node}, directory=directory(account), writer=cast(Any, recorder),
        events=cast(Any, recorder), region="us-west-2",
    )
    assert await init.reconcile(NAME) == RequeueAfter(NOT_FOUND_RETRY)
    assert recorder.events == [("Warning", "InstanceNotFound")]
    assert recorder.writes == []
