"""What the service controller keeps between the stages of its deletions, all in memory.

- Deletions waiting for their load balancers' interfaces: the second stage of the plan (the
  group deletions), run once the one batched wait (`cloud.interfaces`) says the groups are
  free, so no DeleteSecurityGroup is retried against DependencyViolation and no load balancer
  already deleted is described again.
- Snapshots of the Services being deleted, read for all of them at once from whole-fleet
  describes (a mass deletion reads a few pages instead of one LB, its tags, its attributes,
  its listeners, its target groups and its groups per Service); each is used once, while
  fresh.
- The keys whose finalizer this replica removed, which the informer may still show: they no
  longer keep the cluster's backend group alive. Each is dropped once the informer shows
  the removal, so a Service that wants a load balancer again counts again.

A crash loses all of it and costs only calls: the next replica observes afresh.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from k8s_aws.cloud.interfaces import InterfaceWaiter
from k8s_aws.cloud.services import LoadBalancerReads
from k8s_aws.loadbalancer.deletion import StagedDeletion
from k8s_aws.model.loadbalancer import Observed
from k8s_aws.support.expiring import ExpiringCache
from k8s_aws.support.workqueue import WorkQueue

log = logging.getLogger(__name__)
SNAPSHOT_TTL = 20.0  # seconds a batch-read deletion snapshot may be used
SNAPSHOT_GATHER = 0.2  # seconds without a new deletion before a batch read starts
SNAPSHOT_GATHER_MAX = 2.0  # seconds a batch read waits for more deletions at most
RELEASE_TIMEOUT = 900.0  # then the deletion starts over from a fresh observation


@dataclass(frozen=True)
class Deleting:
    """A Service being deleted, as the batched snapshot reads it."""

    name: str  # its load balancer's name
    network: bool  # an NLB Service (else a Classic ELB one)
    service: tuple[str, str]  # (namespace, name): its target groups' name prefix


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
        self._reading: dict[str, asyncio.Task[None]] = {}  # key -> the batch read covering it
        self._gathering: asyncio.Task[None] | None = None  # the batch still taking keys
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
    async def snapshot(
        self, key: str, deleting: Callable[[], dict[str, Deleting]]
    ) -> Observed | None:
        """A snapshot for `key` read together with the other Services being deleted: the
        first asking waits for the rest of a mass deletion to reach the informer (until
        none arrives for SNAPSHOT_GATHER), then reads every one of `deleting()` that has
        none yet (Classic ELBs and NLBs each in one batch); those asking meanwhile wait for
        that read. None when its load balancer is not in its family's fleet (then the
        caller observes it alone, every family)."""
        found = self._snapshots.get(key)
        if found is None:
            read = self._reading.get(key) or self._gathering
            if read is None:
                read = self._gathering = asyncio.create_task(self._gather_and_read(deleting))
            await asyncio.shield(read)
            found = self._snapshots.get(key)
        self._snapshots.drop(key)
        return found[0] if found else None

    async def _gather_and_read(self, deleting: Callable[[], dict[str, Deleting]]) -> None:
        # Until no new deletion arrived for SNAPSHOT_GATHER (kubectl deletes one Service at a
        # time), at most SNAPSHOT_GATHER_MAX.
        loop = asyncio.get_running_loop()
        until = loop.time() + SNAPSHOT_GATHER_MAX
        seen = len(deleting())
        while True:
            await asyncio.sleep(min(SNAPSHOT_GATHER, max(0.0, until - loop.time())))
            now_seen = len(deleting())
            if now_seen <= seen or loop.time() >= until:
                break
            seen = now_seen
        this = asyncio.current_task()
        assert this is not None
        if self._gathering is this:
            self._gathering = None
        wanted = {k: d for k, d in deleting().items()
                  if self._snapshots.get(k) is None and k not in self._reading}
        for key in wanted:
            self._reading[key] = this
        try:
            classic = {d.name for d in wanted.values() if not d.network}
            nlbs = {d.name: d.service for d in wanted.values() if d.network}
            read = await self._observer.deletion_snapshots(classic) if classic else {}
            read_nlb = await self._observer.nlb_deletion_snapshots(nlbs) if nlbs else {}
            for other, d in wanted.items():
                self._snapshots.put(other, ((read_nlb if d.network else read).get(d.name),))
        finally:
            for key in wanted:
                if self._reading.get(key) is this:
                    del self._reading[key]
