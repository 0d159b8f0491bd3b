"""One batched wait for load balancers' network interfaces to let go of their security groups.

AWS keeps a deleted load balancer's interfaces for minutes, and a security group they carry
cannot be deleted until they are gone (DependencyViolation). Instead of retrying each group's
deletion, every group waiting for release is watched by one poll loop: one
DescribeNetworkInterfaces of the load balancers' interfaces per round, at a growing interval,
so deleting 20 or 100 load balancers at once costs a handful of calls whatever the time AWS
takes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from k8s_aws.cloud.runner import Runner

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import NetworkInterfaceTypeDef

log = logging.getLogger(__name__)


class InterfaceWaiter:
    def __init__(
        self, ec2: EC2Client, run: Runner, first: float = 1.0, longest: float = 15.0
    ) -> None:
        self._ec2 = ec2
        self._run = run
        self._first = first
        self._longest = longest
        self._waiting: dict[str, list[asyncio.Future[None]]] = {}
        self._loop: asyncio.Task[None] | None = None
        self.polls = 0  # DescribeNetworkInterfaces calls made (for tests and metrics)

    async def released(self, groups: tuple[str, ...]) -> None:
        """Return once no network interface carries any of `groups`."""
        futures = []
        for group in groups:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiting.setdefault(group, []).append(future)
            futures.append(future)
        if self._loop is None or self._loop.done():
            self._loop = asyncio.create_task(self._poll())
        await asyncio.gather(*futures)

    async def _poll(self) -> None:
        delay = self._first
        while self._waiting:
            await asyncio.sleep(delay)
            asked = sorted(self._waiting)  # groups arriving during the read wait a round
            try:
                held = await self._held(asked)
            except Exception:  # transient: the SDK already retried; try again next round
                log.warning("reading load balancer interfaces failed", exc_info=True)
                held = set(asked)
            for group in [g for g in asked if g not in held]:
                for future in self._waiting.pop(group):
                    if not future.done():
                        future.set_result(None)
            delay = min(delay * 2, self._longest)

    async def _held(self, groups: list[str]) -> set[str]:
        """The groups among `groups` that some load balancer's interface still carries: one
        read of the ELB-managed interfaces (described `ELB <name>` or `ELB net/...`), their
        groups matched here (the emulator's group-id filter, unlike AWS's, misses interfaces
        that carry other groups too when several ids are asked)."""
        self.polls += 1
        found = await self._run("ec2", "DescribeNetworkInterfaces", self._describe)
        return {g["GroupId"] for i in found for g in i.get("Groups", [])} & set(groups)

    def _describe(self) -> list[NetworkInterfaceTypeDef]:
        return [i for page in self._ec2.get_paginator("describe_network_interfaces").paginate(
                    Filters=[{"Name": "description", "Values": ["ELB *"]}])
                for i in page["NetworkInterfaces"]]
