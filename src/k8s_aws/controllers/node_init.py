"""cloud-node: fills in a new Node's cloud facts and removes the uninitialized taint."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from k8s_aws.cloud.errors import CredentialsRejected, Denied
from k8s_aws.cloud.services import InstanceDirectoryReads
from k8s_aws.controllers.worker import RequeueAfter
from k8s_aws.kube.events import EventRecorder, ObjectRef
from k8s_aws.kube.informer import Obj
from k8s_aws.kube.nodes import NodeView, NodeWriter
from k8s_aws.model.instance import InstanceId, InstanceRecord
from k8s_aws.nodes.initialize import UNINITIALIZED_TAINT, plan_initialization
from k8s_aws.nodes.naming import (
    Found,
    Lookup,
    Match,
    Method,
    NotFound,
    choose,
    instance_lookups,
    node_ipv4s,
    refusal,
)
from k8s_aws.nodes.providerid import InvalidProviderId
from k8s_aws.support.workqueue import WorkQueue

log = logging.getLogger(__name__)
NOT_FOUND_RETRY = 30.0


def lookups_for(node: NodeView, region: str) -> tuple[Lookup, ...]:
    ips = node_ipv4s(node.provided_node_ip, node.internal_ips)
    return instance_lookups(node.name, node.provider_id, region, ips)


def name_lookups(node: NodeView, region: str) -> tuple[Lookup, ...]:
    """What a Node's name and IPs may have been matched by, whatever its providerID: what
    to forget when the Node goes."""
    ips = node_ipv4s(node.provided_node_ip, node.internal_ips)
    lookups = instance_lookups(node.name, "", region, ips)
    return tuple(lookup for lookup in lookups if lookup.method is not Method.INSTANCE_ID)


async def _records(
    directory: InstanceDirectoryReads, lookup: Lookup, max_age: float | None
) -> tuple[InstanceRecord, ...]:
    if lookup.method is Method.INSTANCE_ID:
        record = await directory.get(InstanceId(lookup.values[0]), max_age=max_age)
        return (record,) if record else ()
    return await directory.find(lookup.method.value, lookup.values, max_age=max_age)


async def find_instance(
    directory: InstanceDirectoryReads, node: NodeView, region: str, max_age: float | None = None
) -> Match:
    """The node's instance by the first lookup that finds any (see nodes.naming)."""
    tried: list[Lookup] = []
    for lookup in lookups_for(node, region):
        chosen = choose(lookup, await _records(directory, lookup, max_age))
        if chosen is not None:
            return chosen
        tried.append(lookup)
    return NotFound(tuple(tried))


async def prefetch(
    directory: InstanceDirectoryReads, nodes: list[NodeView], region: str, max_age: float | None
) -> None:
    """Look all `nodes` up at once, so the batcher merges them into a few calls; the
    reconciles that follow find the records cached. Failures are left to the reconciles."""
    await asyncio.gather(
        *(find_instance(directory, n, region, max_age) for n in nodes), return_exceptions=True
    )


class NodeInitController:
    name = "cloud-node"

    def __init__(
        self,
        *,
        cache: dict[str, Obj],
        directory: InstanceDirectoryReads,
        writer: NodeWriter,
        events: EventRecorder,
        region: str,
        ip_families: tuple[str, ...] = ("ipv4",),
    ) -> None:
        self.queue: WorkQueue[str] = WorkQueue()
        self._cache = cache
        self._directory = directory
        self._writer = writer
        self._events = events
        self._region = region
        self._ip_families = ip_families

    def on_event(self, event: str, key: str, old: Obj | None, new: Obj | None) -> None:
        if new is not None and NodeView.of(new).has_taint(UNINITIALIZED_TAINT):
            self.queue.add(key)

    async def prefetch(self) -> None:
        """After the caches sync: read every uninitialized node's instance in batches."""
        pending = [NodeView.of(raw) for raw in self._cache.values()]
        pending = [n for n in pending if n.has_taint(UNINITIALIZED_TAINT)]
        await prefetch(self._directory, pending, self._region, None)

    async def reconcile(self, key: str) -> RequeueAfter | None:
        raw = self._cache.get(key)
        if raw is None:
            return None
        node = NodeView.of(raw)
        if not node.has_taint(UNINITIALIZED_TAINT) or node.deleting:
            return None
        ref = ObjectRef.of(raw, "Node")
        try:
            match = await find_instance(self._directory, node, self._region)
        except InvalidProviderId as exc:
            await self._events.record(ref, "Warning", "InvalidProviderID", str(exc))
            return None
        except Denied as exc:
            await self._events.record(ref, "Warning", "PermissionDenied", str(exc))
            raise
        except CredentialsRejected as exc:
            await self._events.record(ref, "Warning", "CredentialsRejected", str(exc))
            raise
        # A dead instance must never lend a new Node its identity.
        if not isinstance(match, Found) or match.instance.state == "terminated":
            reason, message = refusal(node.name, self._region, match, NOT_FOUND_RETRY)
            await self._events.record(ref, "Warning", reason, message)
            return RequeueAfter(NOT_FOUND_RETRY)
        instance = match.instance
        zone_id = await self._directory.zone_id(instance.zone)
        plan = plan_initialization(
            instance, self._region, zone_id, self._ip_families, node_name=node.name
        )
        # Addresses first, then the taint goes: a node is schedulable only once complete.
        updated = await self._writer.set_addresses(
            node, [{"type": a.type, "address": a.address} for a in plan.addresses]
        )
        taints: list[dict[str, Any]] = [
            t for t in node.taints if t.get("key") != UNINITIALIZED_TAINT
        ]
        await self._writer.update_spec(
            updated,
            labels=plan.labels,
            provider_id=None if node.provider_id else plan.provider_id,
            taints=taints,
        )
        log.info("initialized node %s as %s", node.name, plan.provider_id)
        return None
