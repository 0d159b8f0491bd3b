"""Subnets (public or not, from route tables) and security groups of the cluster's VPC,
read in whole-VPC calls and cached: the network changes rarely, Services often."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from k8s_aws.cloud.runner import Runner
from k8s_aws.model.ids import SecurityGroupId
from k8s_aws.model.network import GroupRecord, SubnetRecord
from k8s_aws.support.expiring import ExpiringCache

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import FilterTypeDef


def public_subnets(route_tables: Sequence[Mapping[str, Any]], subnet_ids: list[str]) -> set[str]:
    """Subnets whose route table (explicit association, else the main one) routes to an IGW."""
    explicit: dict[str, Mapping[str, Any]] = {}
    main: Mapping[str, Any] | None = None
    for table in route_tables:
        for assoc in table.get("Associations", []):
            if assoc.get("Main"):
                main = table
            elif assoc.get("SubnetId"):
                explicit[assoc["SubnetId"]] = table

    def to_igw(table: Mapping[str, Any] | None) -> bool:
        return table is not None and any(
            str(r.get("GatewayId", "")).startswith("igw-") for r in table.get("Routes", [])
        )

    return {s for s in subnet_ids if to_igw(explicit.get(s, main))}


class NetworkDirectory:
    def __init__(self, ec2: EC2Client, run: Runner, ttl: float = 300.0) -> None:
        self._ec2 = ec2
        self._run = run
        self._subnets: ExpiringCache[str, list[SubnetRecord]] = ExpiringCache(ttl)
        self._groups: ExpiringCache[str, GroupRecord] = ExpiringCache(ttl)
        # Concurrent misses (workers reconciling a burst of Services) share one read.
        self._subnets_read = asyncio.Lock()
        self._groups_read = asyncio.Lock()

    async def subnets(self, vpc_id: str) -> list[SubnetRecord]:
        cached = self._subnets.get(vpc_id)
        if cached is not None:
            return cached
        async with self._subnets_read:
            return self._subnets.get(vpc_id) or await self._read_subnets(vpc_id)

    async def _read_subnets(self, vpc_id: str) -> list[SubnetRecord]:
        vpc: list[FilterTypeDef] = [{"Name": "vpc-id", "Values": [vpc_id]}]
        raw = await self._run("ec2", "DescribeSubnets",
                              lambda: self._ec2.describe_subnets(Filters=vpc)["Subnets"])
        tables = await self._run(
            "ec2", "DescribeRouteTables",
            lambda: self._ec2.describe_route_tables(Filters=vpc)["RouteTables"],
        )
        public = public_subnets(tables, [s["SubnetId"] for s in raw])
        records = [
            SubnetRecord(
                id=s["SubnetId"], zone=s["AvailabilityZone"], vpc_id=s["VpcId"],
                public=s["SubnetId"] in public, cidr=s.get("CidrBlock", ""),
                tags=tuple((t["Key"], t["Value"]) for t in s.get("Tags", [])),
            )
            for s in raw
        ]
        self._subnets.put(vpc_id, records)
        return records

    async def groups(self, ids: set[str]) -> dict[str, GroupRecord]:
        found = {i: g for i in ids if (g := self._groups.get(i)) is not None}
        if len(found) == len(ids):
            return found
        async with self._groups_read:
            return await self._read_groups(ids)

    async def _read_groups(self, ids: set[str]) -> dict[str, GroupRecord]:
        found = {i: g for i in ids if (g := self._groups.get(i)) is not None}
        missing = sorted(ids - found.keys())
        if missing:
            raw = await self._run(
                "ec2", "DescribeSecurityGroups",
                lambda: self._ec2.describe_security_groups(
                    Filters=[{"Name": "group-id", "Values": missing}]
                )["SecurityGroups"],
            )
            for group in raw:
                tags = tuple((t["Key"], t["Value"]) for t in group.get("Tags", []))
                record = GroupRecord(SecurityGroupId(group["GroupId"]), tags)
                self._groups.put(record.id, record)
                found[record.id] = record
        return found
