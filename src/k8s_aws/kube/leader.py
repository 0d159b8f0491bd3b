"""Lease-based leader election (kubernetes_asyncio's elector), plus the release on shutdown
that it lacks, so a successor takes over at once instead of after the lease duration."""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, cast

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException
from kubernetes_asyncio.leaderelection import electionconfig, leaderelection
from kubernetes_asyncio.leaderelection.resourcelock.leaselock import LeaseLock

log = logging.getLogger(__name__)


async def _nothing() -> None:
    """Losing the lease is handled by `run` returning; no callback needed."""


@dataclass(frozen=True)
class LeaderElectionSettings:
    name: str = "k8s-aws-controller-manager"
    namespace: str = "kube-system"
    lease_duration: int = 15
    renew_deadline: float = 10.0
    retry_period: float = 2.0


class LeaderElector:
    def __init__(
        self, api: client.ApiClient, identity: str, settings: LeaderElectionSettings
    ) -> None:
        self._api = api
        self.identity = identity
        self._settings = settings

    async def run(self, lead: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Wait to become leader, run `lead` while leading; return when leadership is lost."""
        s = self._settings
        lock = LeaseLock(s.name, s.namespace, self.identity, self._api)
        config = electionconfig.Config(
            lock=lock,
            lease_duration=s.lease_duration,
            renew_deadline=s.renew_deadline,
            retry_period=s.retry_period,
            onstarted_leading=lead,
            onstopped_leading=_nothing,
        )
        await leaderelection.LeaderElection(config).run()

    async def release(self) -> bool:
        """Give the Lease up if we hold it; True when released."""
        s = self._settings
        api = client.CoordinationV1Api(self._api)
        try:
            lease = await api.read_namespaced_lease(s.name, s.namespace)
            if lease.spec is None or lease.spec.holder_identity != self.identity:
                return False
            now = datetime.datetime.now(datetime.UTC)
            cast(Any, lease.spec).holder_identity = None
            lease.spec.lease_duration_seconds = 1
            lease.spec.renew_time = now
            lease.spec.acquire_time = now
            await api.replace_namespaced_lease(s.name, s.namespace, lease)
        except ApiException as exc:
            log.warning("could not release the leader Lease: HTTP %s", exc.status)
            return False
        log.info("released the leader Lease %s/%s", s.namespace, s.name)
        return True
