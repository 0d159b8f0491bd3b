"""EC2 instances for the node controllers: batched, cached reads of DescribeInstances.

Lookups by id go through a batcher (ids filtered with `instance-id`, so an unknown id is
simply absent instead of failing the whole call with InvalidInstanceID.NotFound); records
are cached for `ttl`, so a node that does not change costs no call. Lifecycle checks ask for
fresh state, still batched.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from k8s_aws.cloud.errors import translate
from k8s_aws.model.instance import InstanceId, InstanceRecord, InterfaceRecord
from k8s_aws.support.batcher import Batcher
from k8s_aws.support.expiring import ExpiringCache

# EC2 accepts at most 200 values per filter.
MAX_FILTER_VALUES = 200


def instance_record(raw: dict[str, Any]) -> InstanceRecord:
    interfaces = tuple(
        InterfaceRecord(
            device_index=int(eni.get("Attachment", {}).get("DeviceIndex", 0)),
            private_ipv4s=tuple(
                a["PrivateIpAddress"]
                for a in sorted(
                    eni.get("PrivateIpAddresses", []), key=lambda a: not a.get("Primary")
                )
            )
            or ((eni["PrivateIpAddress"],) if eni.get("PrivateIpAddress") else ()),
            ipv6s=tuple(a["Ipv6Address"] for a in eni.get("Ipv6Addresses", [])),
        )
        for eni in raw.get("NetworkInterfaces", [])
    )
    if not interfaces and raw.get("PrivateIpAddress"):
        interfaces = (InterfaceRecord(0, (raw["PrivateIpAddress"],)),)
    return InstanceRecord(
        id=InstanceId(raw["InstanceId"]),
        state=raw.get("State", {}).get("Name", ""),
        instance_type=raw.get("InstanceType", ""),
        zone=raw.get("Placement", {}).get("AvailabilityZone", ""),
        private_dns=raw.get("PrivateDnsName", ""),
        public_dns=raw.get("PublicDnsName", ""),
        public_ipv4=raw.get("PublicIpAddress", ""),
        interfaces=interfaces,
        tags=tuple((t["Key"], t["Value"]) for t in raw.get("Tags", [])),
        vpc_id=raw.get("VpcId", ""),
        security_groups=tuple(g["GroupId"] for g in raw.get("SecurityGroups", [])),
        block_devices=tuple(
            (b["DeviceName"], b.get("Ebs", {}).get("VolumeId", ""))
            for b in raw.get("BlockDeviceMappings", [])
        ),
        root_device=raw.get("RootDeviceName", ""),
    )


class InstanceDirectory:
    def __init__(
        self,
        ec2: Any,
        executor: ThreadPoolExecutor,
        ttl: float = 300.0,
        batch_idle: float = 0.1,
        batch_max_wait: float = 1.0,
    ) -> None:
        self._ec2 = ec2
        self._executor = executor
        self._cache: ExpiringCache[InstanceId, InstanceRecord] = ExpiringCache(ttl)
        self._fetched_at: dict[InstanceId, float] = {}
        self._dns_to_id: dict[str, InstanceId] = {}
        self._zone_ids: dict[str, str] | None = None
        self._zone_lock = asyncio.Lock()
        self._by_id: Batcher[InstanceId, InstanceRecord] = Batcher(
            self._describe_ids, MAX_FILTER_VALUES, batch_idle, batch_max_wait
        )
        self._by_dns: Batcher[str, InstanceRecord] = Batcher(
            self._describe_dns, MAX_FILTER_VALUES, batch_idle, batch_max_wait
        )

    async def _call(self, operation: str, **params: Any) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            pages = self._ec2.get_paginator(operation).paginate(**params)
            return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]

        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, run)
        except Exception as exc:
            raise translate(exc, "ec2", "DescribeInstances") from exc

    async def _describe(self, filter_name: str, values: list[str]) -> list[InstanceRecord]:
        raw = await self._call(
            "describe_instances", Filters=[{"Name": filter_name, "Values": values}]
        )
        records = [instance_record(r) for r in raw]
        now = time.monotonic()
        for record in records:
            self._cache.put(record.id, record)
            self._fetched_at[record.id] = now
            if not record.private_dns:
                continue
            if record.state != "terminated":
                self._dns_to_id[record.private_dns] = record.id
            elif self._dns_to_id.get(record.private_dns) == record.id:
                # AWS hands a terminated instance's private IP, hence its name, to a later
                # instance: the name must be looked up afresh, not mapped to the dead one.
                del self._dns_to_id[record.private_dns]
        return records

    async def _describe_ids(self, ids: list[InstanceId]) -> dict[InstanceId, InstanceRecord]:
        return {r.id: r for r in await self._describe("instance-id", list(ids))}

    async def _describe_dns(self, names: list[str]) -> dict[str, InstanceRecord]:
        found: dict[str, InstanceRecord] = {}
        for record in await self._describe("private-dns-name", names):
            # A terminated instance may share a reused name with a live one: prefer the live.
            if record.private_dns not in found or record.state != "terminated":
                found[record.private_dns] = record
        return found

    def _cached(self, instance_id: InstanceId, max_age: float | None) -> InstanceRecord | None:
        record = self._cache.get(instance_id)
        if record is None or max_age is None:
            return record
        fetched = self._fetched_at.get(instance_id, 0.0)
        return record if time.monotonic() - fetched <= max_age else None

    async def get(
        self, instance_id: InstanceId, max_age: float | None = None
    ) -> InstanceRecord | None:
        """The instance, from cache if read at most `max_age` seconds ago (None: any age
        within the TTL; 0: always read)."""
        cached = self._cached(instance_id, max_age)
        if cached is not None:
            return cached
        return await self._by_id.get(instance_id)

    def forget(self, instance_id: InstanceId | str) -> None:
        """Drop a cached record known to be stale (e.g. its block devices changed)."""
        self._cache.drop(InstanceId(instance_id))
        self._fetched_at.pop(InstanceId(instance_id), None)

    def forget_name(self, private_dns: str) -> None:
        """Drop a name's mapping (when its Node goes): the next instance with that name is
        another one."""
        self._dns_to_id.pop(private_dns, None)

    async def find_by_private_dns(
        self, names: Iterable[str], max_age: float | None = None
    ) -> InstanceRecord | None:
        names = list(names)
        for name in names:
            known = self._dns_to_id.get(name)
            cached = self._cached(known, max_age) if known else None
            if cached is not None:  # mapped names are never a terminated instance's
                return cached
        results = await asyncio.gather(*(self._by_dns.get(n) for n in names))
        return next((r for r in results if r is not None), None)

    async def zone_id(self, zone: str) -> str | None:
        """Zone name -> zone id (`usw2-az1`), read once: the mapping never changes."""
        async with self._zone_lock:
            if self._zone_ids is None:
                def run() -> dict[str, str]:
                    zones = self._ec2.describe_availability_zones()["AvailabilityZones"]
                    return {z["ZoneName"]: z["ZoneId"] for z in zones}

                try:
                    self._zone_ids = await asyncio.get_running_loop().run_in_executor(
                        self._executor, run
                    )
                except Exception as exc:
                    raise translate(exc, "ec2", "DescribeAvailabilityZones") from exc
        return self._zone_ids.get(zone)
