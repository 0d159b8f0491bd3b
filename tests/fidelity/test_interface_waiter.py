"""The controller's one batched wait for load balancers' interfaces (`cloud.interfaces`),
against the emulator's lingering interfaces and its controllable clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from k8s_aws.cloud.interfaces import InterfaceWaiter
from k8s_aws.cloud.runner import Runner
from k8s_aws_sandbox.fidelity.control import FidelityControl

from .conftest import APP_ID, Aws, World

T = TypeVar("T")


def lb_with_group(elb: Any, ec2: Any, world: World, name: str, *shared: str) -> str:
    group = ec2.create_security_group(GroupName=f"k8s-elb-{name}", Description="front",
                                      VpcId=world.vpc)["GroupId"]
    elb.create_load_balancer(
        LoadBalancerName=name, Subnets=list(world.subnets.values()),
        SecurityGroups=[group, *shared],
        Listeners=[{"Protocol": "TCP", "LoadBalancerPort": 80, "InstancePort": 30080}])
    return str(group)


def deleted_lbs(control: FidelityControl, elb: Any, ec2: Any, world: World,
                names: tuple[str, ...], *shared: str) -> list[str]:
    """The frontend groups of Classic ELBs just deleted, their interfaces lingering 120 s."""
    control.patch_config({"delays": {"interface_linger": 120.0}})
    groups = [lb_with_group(elb, ec2, world, name, *shared) for name in names]
    for name in names:
        elb.delete_load_balancer(LoadBalancerName=name)
    return groups


async def until(condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out: {what}"
        await asyncio.sleep(0.02)


def test_groups_are_released_together_once_their_interfaces_go(
    control: FidelityControl, aws: Aws, ec2: Any, world: World
) -> None:
    # Each also carries one shared group, as ours carry the cluster's backend group.
    backend = ec2.create_security_group(GroupName="backend", Description="shared",
                                        VpcId=world.vpc)["GroupId"]
    groups = deleted_lbs(control, aws.client("elb"), ec2, world, ("w1", "w2", "w3"), backend)
    control.clear_calls()

    async def scenario() -> None:
        with ThreadPoolExecutor(2) as pool:
            waiter = InterfaceWaiter(ec2, Runner(pool), first=0.05, longest=0.1)
            waits = [asyncio.create_task(waiter.released((g,))) for g in groups]
            await until(lambda: waiter.polls >= 3, "three rounds")
            assert not any(w.done() for w in waits)  # interfaces still there
            control.advance(130)
            await asyncio.wait_for(asyncio.gather(*waits), 10)
            reads = [c for c in control.calls(client=APP_ID)
                     if c.action == "DescribeNetworkInterfaces"]
            assert len(reads) == waiter.polls  # one call a round for all three groups

    asyncio.run(scenario())
    for group in groups:  # and now the groups can go
        ec2.delete_security_group(GroupId=group)


def test_a_group_arriving_during_a_read_waits_for_the_next_round(
    control: FidelityControl, aws: Aws, ec2: Any, world: World
) -> None:
    early = ec2.create_security_group(GroupName="k8s-elb-early", Description="free",
                                      VpcId=world.vpc)["GroupId"]  # on no interface
    (late,) = deleted_lbs(control, aws.client("elb"), ec2, world, ("late",))

    async def scenario() -> None:
        with ThreadPoolExecutor(2) as pool:
            runner = Runner(pool)
            arrivals: list[asyncio.Task[None]] = []

            async def run(service: str, operation: str, call: Callable[[], T]) -> T:
                result = await runner(service, operation, call)
                if not arrivals:  # `late` asks while the first round's read is in flight
                    arrivals.append(asyncio.create_task(waiter.released((late,))))
                    await asyncio.sleep(0)
                return result

            waiter = InterfaceWaiter(ec2, run, first=0.05, longest=0.1)  # type: ignore[arg-type]
            await asyncio.wait_for(waiter.released((early,)), 10)
            await until(lambda: waiter.polls >= 3, "more rounds")
            assert not arrivals[0].done(), "released without its interfaces being read"
            control.advance(130)
            await asyncio.wait_for(arrivals[0], 10)

    asyncio.run(scenario())
