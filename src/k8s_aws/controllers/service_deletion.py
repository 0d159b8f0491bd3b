"""What the service controller keeps between the stages of its deletions, all in memory.

- Deletions waiting for their load balancers' interfaces: the second stage of the plan (the
  group deletions), run once the one batched wait (`cloud.interfaces`) says the groups are
  free, so no DeleteSecurityGroup is retried against DependencyViolation and no load balancer
  already deleted is described again.
- Snapshots of the Services being deleted, read for all of them at once from whole-fleet
  describes (a mass deletion reads a few pages instead of one LB, its tags, its attributes
  and its groups per Service); each is used once, while fresh.
- The keys whose finalizer this replica removed, which the informer may still show: they no
  longer keep the cluster's backend group alive. Each is dropped once the informer shows
  the removal, so a Service that wants a load balancer again counts again.

A crash loses all of it and costs only calls: the next replica observes afresh.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from k8s_aws.cloud.interfaces import InterfaceWaiter
from k8s_aws.cloud.services import LoadBalancerReads
from k8s_aws.loadbalancer.deletion import StagedDeletion
from k8s_aws.model.loadbalancer import Observed
from k8s_aws.support.expiring import ExpiringCache
from k8s_aws.support.workqueue import WorkQueue

log = logging.getLogger(__name__)
SNAPSHOT_TTL = 20.0  # seconds a batch-read deletion snapshot may be used
RELEASE_TIMEOUT = 900.0  # then the deletion starts over from a fresh observation


@dataclass
class Awaiting:
    staged: StagedDeletion
    observed: Observed
    released: bool = False


class Deletions:
    def __init__(
        self, observer: LoadBalancerReads, waiter: InterfaceWaiter | None,
        queue: WorkQueue[str],
    ) -> None:
        self._observer = observer
        self._waiter = waiter
        self._queue = queue
        self._awaiting: dict[str, Awaiting] = {}
        # (snapshot,) or (None,) for a Service whose load balancer the fleet read missed
        self._snapshots: ExpiringCache[str, tuple[Observed | None]] = ExpiringCache(
            SNAPSHOT_TTL)
        self._tasks: set[asyncio.Task[None]] = set()
        self.released: dict[str, str] = {}  # key -> uid

    # -- the wait between the stages ------------------------------------------------------
    def can_wait(self) -> bool:
        return self._waiter is not None

    def awaiting(self, key: str) -> Awaiting | None:
        return self._awaiting.get(key)

    def forget(self, key: str) -> None:
        self._awaiting.pop(key, None)

    def wait_then_requeue(self, key: str, staged: StagedDeletion, observed: Observed) -> None:
        """Remember the second stage; requeue `key` once the groups' interfaces are gone."""
        entry = Awaiting(staged, observed)
        self._awaiting[key] = entry
        task = asyncio.create_task(self._release(key, entry))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _release(self, key: str, entry: Awaiting) -> None:
        assert self._waiter is not None
        try:
            await asyncio.wait_for(self._waiter.released(entry.staged.groups), RELEASE_TIMEOUT)
            entry.released = True
        except TimeoutError:
            log.warning("%s: interfaces of %s not released in %.0f s; observing afresh",
                        key, ", ".join(entry.staged.groups), RELEASE_TIMEOUT)
            if self._awaiting.get(key) is entry:
                self.forget(key)
        self._queue.add(key)

    # -- batch-read snapshots -------------------------------------------------------------
    async def snapshot(self, key: str, deleting: dict[str, str]) -> Observed | None:
        """A snapshot for `key` read together with every Service in `deleting` (key -> load
        balancer name) that has none yet; None when its load balancer is not a Classic ELB
        in the fleet (then the caller observes it alone, every family)."""
        found = self._snapshots.get(key)
        if found is None and key in deleting:
            wanted = {k: n for k, n in deleting.items() if self._snapshots.get(k) is None}
            read = await self._observer.deletion_snapshots(set(wanted.values()))
            for other, name in wanted.items():
                self._snapshots.put(other, (read.get(name),))
            found = self._snapshots.get(key)
        self._snapshots.drop(key)
        return found[0] if found else None
