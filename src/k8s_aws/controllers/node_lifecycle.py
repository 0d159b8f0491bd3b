"""cloud-node-lifecycle: deletes Nodes whose instance is gone, taints stopped ones.

Only NotReady nodes cost an AWS call (fresh state, batched); a Ready node is decided from the
Node alone. NotReady nodes are looked at again every monitor period, since an instance can be
terminated without its Node changing.
"""

from __future__ import annotations

import asyncio
import logging

from k8s_aws.cloud.services import InstanceDirectoryReads
from k8s_aws.controllers.node_init import find_instance, prefetch
from k8s_aws.controllers.worker import RequeueAfter
from k8s_aws.kube.events import EventRecorder, ObjectRef
from k8s_aws.kube.informer import Obj
from k8s_aws.kube.nodes import NodeView, NodeWriter
from k8s_aws.nodes.lifecycle import (
    SHUTDOWN_TAINT,
    LifecycleAction,
    needs_instance_state,
    plan_lifecycle,
)
from k8s_aws.nodes.naming import Found, Method, NotFound
from k8s_aws.support.workqueue import WorkQueue

log = logging.getLogger(__name__)
SHUTDOWN = {"key": SHUTDOWN_TAINT, "effect": "NoSchedule"}


def wants_attention(node: NodeView) -> bool:
    return needs_instance_state(node.ready) or node.has_taint(SHUTDOWN_TAINT)


class NodeLifecycleController:
    name = "cloud-node-lifecycle"

    def __init__(
        self,
        *,
        cache: dict[str, Obj],
        directory: InstanceDirectoryReads,
        writer: NodeWriter,
        events: EventRecorder,
        region: str,
        monitor_period: float = 5.0,
    ) -> None:
        self.queue: WorkQueue[str] = WorkQueue()
        self._cache = cache
        self._directory = directory
        self._writer = writer
        self._events = events
        self._region = region
        self.monitor_period = monitor_period
        self.sweeps = 0

    def on_event(self, event: str, key: str, old: Obj | None, new: Obj | None) -> None:
        if new is not None and wants_attention(NodeView.of(new)):
            self.queue.add(key)

    async def monitor(self) -> None:
        """Every period, look again at the nodes that are NotReady or shut down, reading
        the NotReady ones' instances in one batch first."""
        while True:
            await asyncio.sleep(self.monitor_period)
            nodes = {key: NodeView.of(raw) for key, raw in list(self._cache.items())}
            not_ready = [n for n in nodes.values() if needs_instance_state(n.ready)]
            if not_ready:
                await prefetch(self._directory, not_ready, self._region, 0)
            for key, node in nodes.items():
                if wants_attention(node):
                    self.queue.add(key)
            self.sweeps += 1

    async def reconcile(self, key: str) -> RequeueAfter | None:
        raw = self._cache.get(key)
        if raw is None:
            return None
        node = NodeView.of(raw)
        if node.deleting:
            return None
        state: str | None = None
        if needs_instance_state(node.ready):
            # Fresh enough if the sweep just read it; otherwise read it now.
            match = await find_instance(
                self._directory, node, self._region, max_age=self.monitor_period
            )
            by_id = isinstance(match, NotFound) and [t.method for t in match.tried] == [
                Method.INSTANCE_ID
            ]
            if not isinstance(match, Found) and not by_id:
                # Not found by a name or IP proves nothing (custom DHCP domains, a tag
                # removed), nor do several matches: keep the Node.
                return None
            state = match.instance.state if isinstance(match, Found) else None
        action = plan_lifecycle(node.ready, node.has_taint(SHUTDOWN_TAINT), state)
        ref = ObjectRef.of(raw, "Node")
        if action is LifecycleAction.DELETE_NODE:
            reason = "terminated" if state else "gone"
            await self._events.record(
                ref, "Normal", "DeletingNode",
                f"deleting node {node.name}: its EC2 instance is {reason}",
            )
            await self._writer.delete(node)
            log.info("deleted node %s: instance %s", node.name, reason)
        elif action is LifecycleAction.ADD_SHUTDOWN_TAINT:
            await self._writer.update_spec(node, taints=[*node.taints, SHUTDOWN])
            log.info("node %s: instance stopped, tainted %s", node.name, SHUTDOWN_TAINT)
        elif action is LifecycleAction.REMOVE_SHUTDOWN_TAINT:
            taints = [t for t in node.taints if t.get("key") != SHUTDOWN_TAINT]
            await self._writer.update_spec(node, taints=taints)
            log.info("node %s: instance running again, removed %s", node.name, SHUTDOWN_TAINT)
        return None
