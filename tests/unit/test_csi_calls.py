"""The driver's AWS call savings (issue 14): the shared poller (one fetch per tick covers every
wait, first looks at the learned completion time), the instance record kept up to date by
our own attaches, and a device name taken outside the driver picked again."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, cast

import grpc
import pytest

from k8s_aws.cloud.instances import InstanceDirectory
from k8s_aws.model.instance import InstanceId, InstanceRecord
from k8s_aws.support.deadline import DeadlineExceeded
from k8s_aws.support.expiring import ExpiringCache
from k8s_aws.support.poller import Ewma, SharedPoller, completion_estimate
from tests.fakes.ebs import FakeInstances
from tests.unit.test_csi_controller_fake import ZONE, Aborted, Driver
from tests.unit.test_instance_names import Ec2Account

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


class Clocked:
    """A fetch over keys that become done at given offsets (seconds) from the start."""

    def __init__(self, ready_after: Mapping[str, float]) -> None:
        self.ready_after = dict(ready_after)
        self.fetches: list[list[str]] = []
        self.start = asyncio.get_running_loop().time()

    async def __call__(self, keys: list[str]) -> dict[str, bool]:
        self.fetches.append(sorted(keys))
        elapsed = asyncio.get_running_loop().time() - self.start
        return {k: elapsed >= self.ready_after[k] for k in keys}


def is_done(value: bool | None) -> bool:
    return bool(value)


@pytest.mark.parametrize(("ready_after", "first_wait", "most_fetches"), [
    # Both done before the first look: one fetch answers both (the later one early).
    ({"a": 0.0, "b": 0.0}, {"a": 0.05, "b": 0.4}, 1),
    # Spread due times, all done by the first: still one fetch.
    ({"a": 0.0, "b": 0.0, "c": 0.0}, {"a": 0.05, "b": 0.2, "c": 0.3}, 1),
    # The first look comes too early for one: it alone is looked at again, with back-off.
    ({"a": 0.0, "b": 0.2}, {"a": 0.05, "b": 0.05}, 3),
])
async def test_waits_share_each_fetch(ready_after: dict[str, float],
                                      first_wait: dict[str, float], most_fetches: int) -> None:
    fetch = Clocked(ready_after)
    poller: SharedPoller[str, bool] = SharedPoller(fetch, lag=0.02, interval=0.1)
    results = await asyncio.gather(*(
        poller.wait(k, is_done, first_wait=first_wait[k], timeout=5.0, what=k)
        for k in ready_after))
    assert results == [True] * len(ready_after)
    assert 1 <= len(fetch.fetches) <= most_fetches
    assert fetch.fetches[0] == sorted(ready_after)  # every waiting key in each fetch


async def test_a_wait_never_done_times_out_naming_it() -> None:
    poller: SharedPoller[str, bool] = SharedPoller(Clocked({"a": 99.0}), lag=0.0, interval=0.05)
    with pytest.raises(DeadlineExceeded, match="vol-a to be available"):
        await poller.wait("a", is_done, first_wait=0.0, timeout=0.3, what="vol-a to be available")


async def test_a_failed_fetch_fails_the_due_waits_only() -> None:
    calls = 0

    async def fetch(keys: list[str]) -> dict[str, bool]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("throttled")
        return dict.fromkeys(keys, True)

    poller: SharedPoller[str, bool] = SharedPoller(fetch, lag=0.0)
    due = asyncio.create_task(poller.wait("due", is_done, first_wait=0.0, timeout=5, what="d"))
    later = asyncio.create_task(poller.wait("later", is_done, first_wait=0.2, timeout=5,
                                            what="l"))
    with pytest.raises(RuntimeError):
        await due
    assert await later is True


async def test_the_learned_completion_time_is_reported() -> None:
    learned: list[float] = []
    poller: SharedPoller[str, bool] = SharedPoller(Clocked({"a": 0.0}), lag=0.0)
    await poller.wait("a", is_done, first_wait=0.1, timeout=5, what="a", learned=learned.append)
    assert len(learned) == 1 and 0.05 < learned[0] < 0.5


@pytest.mark.parametrize(("seen", "first_wait", "last_miss", "estimate"), [
    (0.5, 0.5, None, 0.475),  # seen done at the first look: a little earlier, to probe down
    (0.9, 0.5, None, 0.475),  # the look came late (slack, load): still from its due time
    (0.3, 0.5, None, 0.285),  # seen done early by another wait's look
    (1.0, 0.5, 0.6, 0.8),  # between the look that missed and the one that saw it
])
def test_completion_estimate(seen: float, first_wait: float, last_miss: float | None,
                             estimate: float) -> None:
    assert completion_estimate(seen, first_wait, last_miss) == pytest.approx(estimate)


@pytest.mark.parametrize(("observed", "expected"), [
    ([], 0.5),
    ([0.4] * 30, 0.4),  # converges on what is seen
    ([0.0] * 30, 0.1),  # floored
    ([60.0] * 30, 5.0),  # capped
])
def test_ewma_learns_within_its_bounds(observed: list[float], expected: float) -> None:
    ewma = Ewma(0.5, floor=0.1, cap=5.0)
    for seconds in observed:
        ewma.observe(seconds)
    assert ewma.value == pytest.approx(expected, abs=0.01)


def test_expiring_cache_replace_keeps_the_expiry() -> None:
    now = [0.0]
    cache: ExpiringCache[str, int] = ExpiringCache(10.0, clock=lambda: now[0])
    cache.put("a", 1)
    now[0] = 9.0
    cache.replace("a", 2)
    cache.replace("b", 3)  # absent: stays absent
    assert (cache.get("a"), cache.get("b")) == (2, None)
    now[0] = 10.5
    assert cache.get("a") is None


# -- the instance record our own attaches keep up to date ---------------------------------

async def test_our_attach_and_detach_update_the_cached_instance() -> None:
    account = Ec2Account()
    account.launch("i-1", BlockDeviceMappings=[
        {"DeviceName": "/dev/sda1", "Ebs": {"VolumeId": "vol-root"}}])
    instances = InstanceDirectory(cast("EC2Client", account), ThreadPoolExecutor(1),
                                  ttl=60.0, batch_idle=0.0, batch_max_wait=0.0)
    record = await instances.get(InstanceId("i-1"))
    assert record is not None and account.calls == 1
    instances.note_attached("i-1", "/dev/xvdaa", "vol-a")
    instances.note_attached("i-1", "/dev/xvdab", "vol-b")
    instances.note_detached("i-1", "vol-a")
    cached = await instances.get(InstanceId("i-1"))
    assert cached is not None and account.calls == 1  # no read: kept from our own calls
    assert cached.block_devices == (("/dev/sda1", "vol-root"), ("/dev/xvdab", "vol-b"))
    assert await instances.get(InstanceId("i-1"), max_age=0) is not None
    assert account.calls == 2  # a fresh read is still a read


class StaleInstances(FakeInstances):
    """An instance cache: reads by default answer the first record seen (kept up to date
    only by the driver's own notes), `max_age=0` reads the fake EC2 (unless `blind`)."""

    def __init__(self, driver: Driver, blind: bool = False) -> None:
        super().__init__(driver.ebs)
        self.cached: dict[str, InstanceRecord] = {}
        self.blind = blind

    async def get(self, instance_id: InstanceId,
                  max_age: float | None = None) -> InstanceRecord | None:
        if instance_id in self.cached and (max_age is None or self.blind):
            return self.cached[instance_id]
        record = await super().get(instance_id, max_age)
        if record is not None:
            self.cached[instance_id] = record
        return record

    def note_attached(self, instance_id: InstanceId | str, device: str, volume_id: str) -> None:
        record = self.cached[instance_id]
        self.cached[instance_id] = InstanceRecord(
            record.id, record.state, record.instance_type, record.zone,
            block_devices=(*record.block_devices, (device, volume_id)),
            root_device=record.root_device)


def take_outside(driver: Driver, node: InstanceId, *devices: str) -> None:
    instance = driver.ebs.instances[node]
    for device in devices:
        instance.devices[device] = f"vol-outside-{device[-2:]}"
    driver.ebs._refresh(instance)


async def test_publishes_to_one_node_read_it_once() -> None:
    driver = Driver()
    driver.backend.instances = instances = StaleInstances(driver)
    node = driver.ebs.add_instance(ZONE)
    devices = []
    for name in ("pvc-1", "pvc-2", "pvc-3"):
        volume = await driver.create(name)
        devices.append((await driver.publish(volume.volume_id, node))["devicePath"])
    assert devices == ["/dev/xvdaa", "/dev/xvdab", "/dev/xvdac"]
    assert driver.ebs.calls.count("DescribeInstances") == 1
    assert [d for d, _ in instances.cached[node].block_devices][1:] == devices


@pytest.mark.parametrize(("taken", "blind", "outcome", "attaches"), [
    # The cached view misses /dev/xvdab: refused, the instance is read, the next free name.
    (("/dev/xvdab",), False, "/dev/xvdac", 2),
    # The instance keeps hiding what holds the names: three refusals, then give up.
    (("/dev/xvdab", "/dev/xvdac", "/dev/xvdad"), True, grpc.StatusCode.FAILED_PRECONDITION, 3),
])
async def test_a_device_taken_outside_the_driver_is_chosen_again(
        taken: tuple[str, ...], blind: bool, outcome: object, attaches: int) -> None:
    driver = Driver()
    driver.backend.instances = StaleInstances(driver, blind=blind)
    node = driver.ebs.add_instance(ZONE)
    first = await driver.create("pvc-1")
    assert (await driver.publish(first.volume_id, node))["devicePath"] == "/dev/xvdaa"
    take_outside(driver, node, *taken)
    second = await driver.create("pvc-2")
    before = driver.ebs.calls.count("AttachVolume")
    tried: list[str] = []
    attach = driver.ebs.attach

    async def recording(volume_id: str, instance_id: str, device: str) -> str:
        tried.append(device)
        return await attach(volume_id, instance_id, device)

    driver.ebs.attach = recording  # type: ignore[method-assign]
    if isinstance(outcome, str):
        assert (await driver.publish(second.volume_id, node))["devicePath"] == outcome
        assert driver.ebs.calls.count("DescribeInstances") == 2  # the refusal read it
    else:
        with pytest.raises(Aborted) as info:
            await driver.publish(second.volume_id, node)
        assert info.value.code == outcome and "outside the driver" in info.value.details
    assert driver.ebs.calls.count("AttachVolume") - before == attaches
    assert len(set(tried)) == attaches  # a refused name is never tried again


@pytest.mark.parametrize(("tagged", "reads", "filters"), [
    # Every node tagged: one call reads the fleet, the other nodes come from the cache.
    ({"i-1", "i-2", "i-3"}, 1, [["tag-key"]]),
    # An untagged node: the fleet read misses it, so it is read by id as well.
    ({"i-1", "i-2"}, 2, [["tag-key"], ["instance-id"]]),
])
async def test_fleet_reads_fill_the_cache_for_the_cluster(
        tagged: set[str], reads: int, filters: list[list[str]]) -> None:
    account = Ec2Account()
    for instance_id in ("i-1", "i-2", "i-3"):
        tags = [{"Key": "kubernetes.io/cluster/c1", "Value": "owned"}] if (
            instance_id in tagged) else []
        account.launch(instance_id, name=f"ip-{instance_id}", Tags=tags)
    instances = InstanceDirectory(cast("EC2Client", account), ThreadPoolExecutor(1),
                                  ttl=60.0, batch_idle=0.0, batch_max_wait=0.0, cluster="c1",
                                  fleet_reads=True)
    for instance_id in ("i-1", "i-2", "i-3"):
        found = await instances.get(InstanceId(instance_id))
        assert found is not None and found.id == instance_id
    assert (account.calls, account.filters) == (reads, filters)


async def test_batches_arriving_during_a_fleet_read_share_it() -> None:
    account = Ec2Account()
    for instance_id in ("i-1", "i-2", "i-3"):
        account.launch(instance_id, name=f"ip-{instance_id}",
                       Tags=[{"Key": "kubernetes.io/cluster/c1", "Value": "owned"}])
    instances = InstanceDirectory(cast("EC2Client", account), ThreadPoolExecutor(1),
                                  ttl=60.0, batch_idle=0.0, batch_max_wait=0.0, cluster="c1",
                                  fleet_reads=True)
    found = await asyncio.gather(*(instances.get(InstanceId(i)) for i in ("i-1", "i-2", "i-3")))
    assert [f.id for f in found if f] == ["i-1", "i-2", "i-3"]
    assert account.filters == [["tag-key"]]
