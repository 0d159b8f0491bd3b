"""The service controller's drift sweep: whole-fleet describes compared with the cached
snapshots; a Service whose load balancer, frontend group or rule on a node group drifted is
forgotten and re-queued, so its next reconcile observes in full and repairs it."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from k8s_aws.cloud.errors import CloudError
from k8s_aws.cloud.services import LoadBalancerReads
from k8s_aws.loadbalancer.drift import group_drifted, load_balancer_drifted, network_lb_drifted
from k8s_aws.model.ids import LoadBalancerName
from k8s_aws.model.loadbalancer import Observed, ObservedGroup
from k8s_aws.support.workqueue import WorkQueue

log = logging.getLogger(__name__)


class DriftSweeper:
    def __init__(
        self, observer: LoadBalancerReads, known: dict[str, Observed], queue: WorkQueue[str]
    ) -> None:
        self._observer = observer
        self._known = known
        self._queue = queue
        self.sweeps = 0

    async def _node_rules_lost(self, snapshots: dict[str, Observed]) -> set[str]:
        """Services whose snapshot says a node group holds our backend rule that it lost."""
        by_backend: dict[str, set[str]] = {}
        for key, known in snapshots.items():
            if known.backend_group is not None and known.node_groups_admitting:
                by_backend.setdefault(known.backend_group.id, set()).add(key)
        lost = set()
        for backend, keys in by_backend.items():
            admitting = await self._observer.admitting(backend)
            lost |= {k for k in keys if not snapshots[k].node_groups_admitting <= admitting}
        return lost

    async def _nlbs_drifted(
        self, snapshots: dict[str, Observed], by_nlb: dict[LoadBalancerName, str],
        groups: dict[str, ObservedGroup],
    ) -> set[str]:
        fleet = await self._observer.nlb_fleet(set(by_nlb))
        drifted = set()
        for name, key in by_nlb.items():
            known = snapshots[key]
            front = known.frontend_group
            assert known.network_lb is not None
            if network_lb_drifted(known.network_lb, known.target_groups, fleet.get(name)) or (
                    group_drifted(front, groups.get(front.id) if front else None)):
                drifted.add(key)
        return drifted

    async def sweep(self) -> list[str]:
        snapshots = dict(self._known)  # reconciles change the cache while this awaits
        by_name = {
            known.load_balancer.name: key
            for key, known in snapshots.items() if known.load_balancer is not None
        }
        by_nlb = {known.network_lb.name: key
                  for key, known in snapshots.items() if known.network_lb is not None}
        if not by_name and not by_nlb:
            self.sweeps += 1
            return []
        lbs = await self._observer.fleet(set(by_name)) if by_name else {}
        groups = await self._observer.fleet_groups()
        drifted = await self._node_rules_lost(snapshots)
        drifted |= await self._nlbs_drifted(snapshots, by_nlb, groups)
        for name, key in by_name.items():
            known = snapshots[key]
            front = known.frontend_group
            assert known.load_balancer is not None
            if load_balancer_drifted(known.load_balancer, lbs.get(name)) or group_drifted(
                front, groups.get(front.id) if front else None
            ):
                drifted.add(key)
        for key in sorted(drifted):
            self._known.pop(key, None)
            self._queue.add(key)
        self.sweeps += 1
        if drifted:
            log.info("drift sweep: %d load balancer(s) drifted: %s", len(drifted), sorted(drifted))
        return sorted(drifted)

    async def loop(self, period: float, trigger: asyncio.Event) -> None:
        """Sweep every `period` seconds, or at once when `trigger` is set (SIGUSR1)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(trigger.wait(), period)
            trigger.clear()
            try:
                await self.sweep()
            except CloudError as exc:
                log.warning("drift sweep failed: %s; next one in %.0fs", exc, period)
