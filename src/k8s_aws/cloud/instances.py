"""EC2 instances for the node controllers: batched, cached reads of DescribeInstances.

Lookups by id go through a batcher (ids filtered with `instance-id`, so an unknown id is
simply absent instead of failing the whole call with InvalidInstanceID.NotFound); lookups by
any other filter (private DNS name, a tag, private IP) go through one batcher per filter and
are limited to the cluster's instances (EC2 ANDs different filters), so a fleet costs one call
per filter and 200 values. Records are cached for `ttl`, and a value once matched is mapped to
its instances, so a node that does not change costs no call. Lifecycle checks ask for fresh
state, still batched.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from k8s_aws.cloud.errors import translate
from k8s_aws.cloud.runner import Runner
from k8s_aws.model.cluster_tag import cluster_tag_key
from k8s_aws.model.instance import InstanceId, InstanceRecord, InterfaceRecord
from k8s_aws.support.batcher import Batcher
from k8s_aws.support.expiring import ExpiringCache

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import FilterTypeDef, InstanceTypeDef

# EC2 accepts at most 200 values per filter.
MAX_FILTER_VALUES = 200


def values_for(filter_name: str) -> Callable[[InstanceRecord], tuple[str, ...]]:
    """What a record holds for an EC2 filter, to tell which requested value it matched."""
    if filter_name.startswith("tag:"):
        key = filter_name[len("tag:"):]
        return lambda r: tuple(v for k, v in r.tags if k == key)
    if filter_name == "private-dns-name":
        return lambda r: (r.private_dns,)
    if filter_name == "private-ip-address":
        return lambda r: tuple(ip for i in r.interfaces for ip in i.private_ipv4s)
    raise ValueError(f"no lookup by EC2 filter {filter_name!r}")


def instance_record(raw: Mapping[str, Any]) -> InstanceRecord:
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
        ec2: EC2Client,
        executor: ThreadPoolExecutor,
        ttl: float = 300.0,
        batch_idle: float = 0.1,
        batch_max_wait: float = 1.0,
        cluster: str = "",
        fleet_reads: bool = False,
    ) -> None:
        """`cluster`: lookups other than by id find only instances carrying its cluster tag
        (any value); empty means any instance of the account and region. `fleet_reads` (with
        a cluster): a read by id, at most once per `ttl`, reads every instance of the cluster
        in the same call (one DescribeInstances fills the cache for the whole fleet; an id
        it did not return is read by id)."""
        self._ec2 = ec2
        self._run = Runner(executor)
        self._cache: ExpiringCache[InstanceId, InstanceRecord] = ExpiringCache(ttl)
        self._fetched_at: dict[InstanceId, float] = {}
        # (filter, value) -> the ids of the not-terminated instances it matched when read.
        self._matches: dict[tuple[str, str], tuple[InstanceId, ...]] = {}
        self._cluster_filter: list[FilterTypeDef] = (
            [{"Name": "tag-key", "Values": [cluster_tag_key(cluster)]}] if cluster else []
        )
        self._batch = (batch_idle, batch_max_wait)
        self._fleet_reads = fleet_reads and bool(cluster)
        self._fleet_read_at = -ttl
        self._fleet_read: asyncio.Future[list[InstanceRecord]] | None = None
        self._ttl = ttl
        self._zone_ids: dict[str, str] | None = None
        self._zone_lock = asyncio.Lock()
        self._by_id: Batcher[InstanceId, InstanceRecord] = Batcher(
            self._describe_ids, MAX_FILTER_VALUES, batch_idle, batch_max_wait
        )
        self._by_filter: dict[str, Batcher[str, tuple[InstanceRecord, ...]]] = {}

    async def _call(self, filters: list[FilterTypeDef]) -> list[InstanceTypeDef]:
        def run() -> list[InstanceTypeDef]:
            pages = self._ec2.get_paginator("describe_instances").paginate(Filters=filters)
            return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]

        return await self._run("ec2", "DescribeInstances", run)

    async def _describe(
        self, filters: list[FilterTypeDef]
    ) -> list[InstanceRecord]:
        raw = await self._call(filters)
        records = [instance_record(r) for r in raw]
        now = time.monotonic()
        for record in records:
            self._cache.put(record.id, record)
            self._fetched_at[record.id] = now
        self._drop_terminated({r.id for r in records if r.state == "terminated"})
        return records

    def _drop_terminated(self, dead: set[InstanceId]) -> None:
        """AWS hands a terminated instance's private IP, hence its DNS name, to a later
        instance, and BOSH gives a recreated VM its old `id` tag: a value must be looked up
        afresh, not mapped to the dead instance."""
        if not dead:
            return
        for key, ids in list(self._matches.items()):
            if dead & set(ids):
                kept = tuple(i for i in ids if i not in dead)
                if kept:
                    self._matches[key] = kept
                else:
                    del self._matches[key]

    async def _describe_ids(self, ids: list[InstanceId]) -> dict[InstanceId, InstanceRecord]:
        found: dict[InstanceId, InstanceRecord] = {}
        under_way = self._fleet_read is not None and not self._fleet_read.done()
        if self._fleet_reads and (
                under_way or time.monotonic() - self._fleet_read_at > self._ttl):
            # The fleet's records last one TTL: a miss within it (an untagged instance, a
            # new one, a fresh read after a refusal) is read by id. Batches arriving while
            # the fleet read is under way share it.
            if self._fleet_read is None or not under_way:
                self._fleet_read_at = time.monotonic()
                self._fleet_read = asyncio.ensure_future(
                    self._describe(list(self._cluster_filter)))
            found = {r.id: r for r in await asyncio.shield(self._fleet_read)}
            ids = [i for i in ids if i not in found]
            if not ids:
                return found
        filters: list[FilterTypeDef] = [{"Name": "instance-id", "Values": list(ids)}]
        found.update({r.id: r for r in await self._describe(filters)})
        return found

    def _batcher(self, filter_name: str) -> Batcher[str, tuple[InstanceRecord, ...]]:
        if filter_name not in self._by_filter:
            held_by = values_for(filter_name)

            async def fetch(values: list[str]) -> dict[str, tuple[InstanceRecord, ...]]:
                filters: list[FilterTypeDef] = [
                    {"Name": filter_name, "Values": values}, *self._cluster_filter]
                found: dict[str, list[InstanceRecord]] = {}
                for record in await self._describe(filters):
                    for value in set(held_by(record)) & set(values):
                        found.setdefault(value, []).append(record)
                for value, records in found.items():
                    live = tuple(r.id for r in records if r.state != "terminated")
                    if live:
                        self._matches[(filter_name, value)] = live
                return {value: tuple(records) for value, records in found.items()}

            self._by_filter[filter_name] = Batcher(fetch, MAX_FILTER_VALUES, *self._batch)
        return self._by_filter[filter_name]

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

    def note_attached(self, instance_id: InstanceId | str, device: str, volume_id: str) -> None:
        """Our own AttachVolume succeeded: the cached record gains the mapping (its age and
        expiry are unchanged: a change made outside the driver is still read in time)."""
        self._update(InstanceId(instance_id), lambda devices: (
            *[d for d in devices if d[0] != device and d[1] != volume_id], (device, volume_id)))

    def note_detached(self, instance_id: InstanceId | str, volume_id: str) -> None:
        """Our own DetachVolume finished: the cached record loses the mapping."""
        self._update(InstanceId(instance_id),
                     lambda devices: tuple(d for d in devices if d[1] != volume_id))

    def _update(self, instance_id: InstanceId, change: Callable[
            [tuple[tuple[str, str], ...]], tuple[tuple[str, str], ...]]) -> None:
        record = self._cache.get(instance_id)
        if record is not None:
            self._cache.replace(instance_id, dataclasses.replace(
                record, block_devices=tuple(change(record.block_devices))))

    def forget_values(self, filter_name: str, values: Sequence[str]) -> None:
        """Drop what these values were matched to (when their Node goes): the next instance
        with that name is another one."""
        for value in values:
            self._matches.pop((filter_name, value), None)

    async def find(
        self, filter_name: str, values: Sequence[str], max_age: float | None = None
    ) -> tuple[InstanceRecord, ...]:
        """The cluster's instances matching any of `values` by an EC2 filter (terminated
        ones included: the caller decides). A value already matched to one instance answers
        from cache; one matched to several is read again (the mistake may have been fixed)."""
        for value in values:
            ids = self._matches.get((filter_name, value), ())
            cached = self._cached(ids[0], max_age) if len(ids) == 1 else None
            if cached is not None:
                return (cached,)
        batcher = self._batcher(filter_name)
        results = await asyncio.gather(*(batcher.get(v) for v in values))
        unique = {r.id: r for records in results if records for r in records}
        return tuple(unique.values())

    async def zone_id(self, zone: str) -> str | None:
        """Zone name -> zone id (`usw2-az1`), read once: the mapping never changes."""
        async with self._zone_lock:
            if self._zone_ids is None:
                def run() -> dict[str, str]:
                    zones = self._ec2.describe_availability_zones()["AvailabilityZones"]
                    return {z["ZoneName"]: z["ZoneId"] for z in zones}

                self._zone_ids = await self._run("ec2", "DescribeAvailabilityZones", run)
        return self._zone_ids.get(zone)


def read_instance(ec2: EC2Client, instance_id: InstanceId) -> InstanceRecord | None:
    """One instance read at start-up, before any event loop runs (bootstrap's own instance)."""
    try:
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    except Exception as exc:
        raise translate(exc, "ec2", "DescribeInstances") from exc
    instances = [i for r in reservations for i in r["Instances"]]
    return instance_record(instances[0]) if instances else None
