"""cloud-node: fills in a new Node's cloud facts and removes the uninitialized taint."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from k8s_aws.cloud.errors import Denied
from k8s_aws.cloud.instances import InstanceDirectory
from k8s_aws.controllers.worker import RequeueAfter
from k8s_aws.kube.events import EventRecorder, ObjectRef
from k8s_aws.kube.informer import Obj
from k8s_aws.kube.nodes import NodeView, NodeWriter
from k8s_aws.model.instance import InstanceRecord
from k8s_aws.nodes.initialize import UNINITIALIZED_TAINT, plan_initialization
from k8s_aws.nodes.naming import ByInstanceId, instance_lookup
from k8s_aws.nodes.providerid import InvalidProviderId
from k8s_aws.support.workqueue import WorkQueue

log = logging.getLogger(__name__)
NOT_FOUND_RETRY = 30.0


async def find_instance(
    directory: InstanceDirectory, node: NodeView, region: str, max_age: float | None = None
) -> InstanceRecord | None:
    """The node's instance: by providerID or `i-` name, else by private DNS name."""
    lookup = instance_lookup(node.name, node.provider_id, region)
    if isinstance(lookup, ByInstanceId):
        return await directory.get(lookup.instance_id, max_age=max_age)
    return await directory.find_by_private_dns(lookup.names, max_age=max_age)


async def prefetch(
    directory: InstanceDirectory, nodes: list[NodeView], region: str, max_age: float | None
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
        directory: InstanceDirectory,
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
            instance = await find_instance(self._directory, node, self._region)
        except InvalidProviderId as exc:
            await self._events.record(ref, "Warning", "InvalidProviderID", str(exc))
            return None
        except Denied as exc:
            await self._events.record(ref, "Warning", "PermissionDenied", str(exc))
            raise
        if instance is not None and instance.state == "terminated":
            instance = None  # a dead instance must never lend a new Node its identity
        if instance is None:
            await self._events.record(
                ref, "Warning", "InstanceNotFound",
                f"no EC2 instance found for node {node.name} (by providerID, instance id or "
                f"private DNS name in {self._region}); retrying in {NOT_FOUND_RETRY:.0f}s",
            )
            return RequeueAfter(NOT_FOUND_RETRY)
        zone_id = await self._directory.zone_id(instance.zone)
        plan = plan_initialization(instance, self._region, zone_id, self._ip_families)
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
