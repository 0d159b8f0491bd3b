"""One contract, two implementations: the in-memory FakeEbs the unit tests use, and our
boto3-backed EbsVolumes / InstanceDirectory against the emulator. The same cases run on both
so the fake cannot drift from what the CSI driver meets in production.

Time moves only when a case says so (`advance`): the emulator's delays are long here
(conftest), the fake's transitions wait for `advance()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import pytest

from k8s_aws.cloud.ebs import NAME_TAG, CreateRequest, EbsVolumes
from k8s_aws.cloud.errors import (
    Conflict,
    InUse,
    Invalid,
    NotFound,
    RateWindowExceeded,
    TokenReused,
    WrongState,
)
from k8s_aws.cloud.instances import InstanceDirectory
from k8s_aws.cloud.services import InstanceLookup, SnapshotService, VolumeService
from k8s_aws.cloud.snapshots import NAME_TAG as SNAPSHOT_NAME_TAG
from k8s_aws.cloud.snapshots import EbsSnapshots
from k8s_aws.model.instance import InstanceId
from k8s_aws_sandbox.fidelity.control import FidelityControl
from tests.fakes.ebs import FakeEbs, FakeInstances, FakeSnapshots

from .conftest import LONG, ZONES, World, launch

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


@dataclass
class Account:
    volumes: VolumeService
    instances: InstanceLookup
    instance: InstanceId  # both m5.large in ZONES[0]
    other: InstanceId
    advance: Callable[[], object]
    snapshots: SnapshotService


@pytest.fixture(params=["fake", "emulator"])
def account(request: pytest.FixtureRequest) -> Iterator[Account]:
    if request.param == "fake":
        ebs = FakeEbs(auto_advance=False)
        yield Account(ebs, FakeInstances(ebs), ebs.add_instance(ZONES[0]),
                      ebs.add_instance(ZONES[0]), ebs.advance, FakeSnapshots(ebs))
        return
    control: FidelityControl = request.getfixturevalue("control")
    world: World = request.getfixturevalue("world")
    raw: Any = request.getfixturevalue("ec2")
    other = launch(raw, world.image, world.subnets[ZONES[0]], world.group, "m5.large")
    ec2 = cast("EC2Client", raw)
    with ThreadPoolExecutor(4) as executor:
        # Past every delay of a modification too (modifying, then optimizing).
        yield Account(EbsVolumes(ec2, executor, batch_idle=0.0, batch_max_wait=0.0),
                      InstanceDirectory(ec2, executor, batch_idle=0.0, batch_max_wait=0.0),
                      InstanceId(world.instance), InstanceId(other),
                      lambda: control.advance(3 * LONG),
                      EbsSnapshots(ec2, executor, batch_idle=0.0, batch_max_wait=0.0))


def request_for(name: str, token: str = "t-1", size: int = 4,
                zone: str = ZONES[0]) -> CreateRequest:
    return CreateRequest(zone=zone, size_gib=size, volume_type="gp3",
                         tags={NAME_TAG: name, "k8s-aws/test": "contract"}, client_token=token)


async def available(account: Account, name: str) -> str:
    volume = await account.volumes.create(request_for(name, token=f"token-{name}"))
    account.advance()
    return volume.id


async def test_a_volume_is_created_creating_then_available(account: Account) -> None:
    created = await account.volumes.create(request_for("pvc-a"))
    assert (created.state, created.size_gib, created.volume_type, created.zone) == (
        "creating", 4, "gp3", ZONES[0])
    assert created.tag(NAME_TAG) == "pvc-a"
    account.advance()
    found = await account.volumes.find_by_name("pvc-a")
    assert found is not None and found.id == created.id and found.state == "available"
    assert (await account.volumes.get(created.id)) == found


async def test_a_client_token_makes_one_volume_and_refuses_other_parameters(
    account: Account,
) -> None:
    first = await account.volumes.create(request_for("pvc-b"))
    again = await account.volumes.create(request_for("pvc-b"))
    assert again.id == first.id
    with pytest.raises(TokenReused) as info:
        await account.volumes.create(request_for("pvc-b", size=8))
    assert info.value.code == "IdempotentParameterMismatch"


async def test_an_unknown_volume_is_absent_not_an_error(account: Account) -> None:
    assert await account.volumes.get("vol-0000000000000dead") is None
    assert await account.volumes.delete("vol-0000000000000dead") is False
    with pytest.raises(NotFound):
        await account.volumes.attach("vol-0000000000000dead", account.instance, "/dev/xvdba")


async def test_attach_and_detach_pass_through_their_states_with_aws_refusals(
    account: Account,
) -> None:
    creating = await account.volumes.create(request_for("pvc-c"))
    with pytest.raises(WrongState):
        await account.volumes.attach(creating.id, account.instance, "/dev/xvdba")
    account.advance()
    assert await account.volumes.attach(creating.id, account.instance, "/dev/xvdba") == (
        "attaching")
    volume = await account.volumes.get(creating.id)
    assert volume is not None and [(a.instance_id, a.state) for a in volume.attachments] == [
        (account.instance, "attaching")]
    with pytest.raises(InUse) as info:
        await account.volumes.attach(creating.id, account.other, "/dev/xvdbb")
    assert info.value.code == "VolumeInUse"
    with pytest.raises(InUse):
        await account.volumes.delete(creating.id)
    account.advance()
    volume = await account.volumes.get(creating.id)
    assert volume is not None and volume.attachment_to(account.instance) is not None
    assert volume.attachments[0].state == "attached"
    instance = await account.instances.get(account.instance, max_age=0)
    assert instance is not None and ("/dev/xvdba", creating.id) in instance.block_devices

    await account.volumes.detach(creating.id, account.instance)
    account.advance()
    volume = await account.volumes.get(creating.id)
    assert volume is not None and volume.state == "available" and volume.attachments == ()
    with pytest.raises(WrongState) as detach_info:
        await account.volumes.detach(creating.id, account.instance)
    assert detach_info.value.code == "IncorrectState"
    assert await account.volumes.delete(creating.id) is True
    assert await account.volumes.get(creating.id) is None


async def test_modifications_wait_for_the_last_and_for_the_rate_window(
    account: Account,
) -> None:
    volume_id = await available(account, "pvc-d")
    started = await account.volumes.modify(volume_id, size_gib=8)
    assert started.target_size_gib == 8
    with pytest.raises(WrongState) as info:
        await account.volumes.modify(volume_id, size_gib=9)
    assert info.value.code == "IncorrectModificationState"
    account.advance()
    latest = await account.volumes.modification(volume_id)
    assert latest is not None and latest.state == "completed"
    volume = await account.volumes.get(volume_id)
    assert volume is not None and volume.size_gib == 8
    with pytest.raises(RateWindowExceeded):
        await account.volumes.modify(volume_id, size_gib=10)


async def test_an_attach_is_refused_across_zones_and_onto_a_taken_device(
    account: Account,
) -> None:
    elsewhere = await account.volumes.create(
        request_for("pvc-e", token="token-pvc-e", zone=ZONES[1]))
    here = await available(account, "pvc-f")
    second = await available(account, "pvc-g")
    with pytest.raises(Conflict) as zone_info:
        await account.volumes.attach(elsewhere.id, account.instance, "/dev/xvdba")
    assert zone_info.value.code == "InvalidVolume.ZoneMismatch"
    await account.volumes.attach(here, account.instance, "/dev/xvdba")
    with pytest.raises(Invalid) as device_info:
        await account.volumes.attach(second, account.instance, "/dev/xvdba")
    assert device_info.value.code == "InvalidParameterValue"


async def test_a_snapshot_is_pending_then_completed_and_found_by_its_name(
    account: Account,
) -> None:
    volume_id = await available(account, "pvc-h")
    made = await account.snapshots.create(volume_id, {SNAPSHOT_NAME_TAG: "snapshot-a"})
    assert (made.state, made.volume_id, made.size_gib) == ("pending", volume_id, 4)
    account.advance()
    found = await account.snapshots.find_by_name("snapshot-a")
    assert found is not None and found.id == made.id and found.state == "completed"
    assert [s.id for s in await account.snapshots.list_ours()] == [made.id]
    assert await account.snapshots.delete(made.id) is True
    assert await account.snapshots.get(made.id) is None
