"""Running a controller: its queue's workers, error policy and reconcile metrics."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram

from k8s_aws.cloud.errors import (
    CloudError,
    CredentialsRejected,
    Denied,
    Invalid,
    NotConfigured,
)
from k8s_aws.kube.errors import KubeConflict
from k8s_aws.support.workqueue import ShutDown, WorkQueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequeueAfter:
    """Reconciled for now; look again after `seconds` (e.g. an instance not found yet)."""

    seconds: float


class Controller(Protocol):
    name: str
    queue: WorkQueue[str]

    async def reconcile(self, key: str) -> RequeueAfter | None: ...


class ReconcileMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.results = Counter(
            "k8s_aws_reconcile_total", "Reconciles by controller and result.",
            ["controller", "result"], registry=registry,
        )
        self.duration = Histogram(
            "k8s_aws_reconcile_duration_seconds", "Reconcile duration.", ["controller"],
            registry=registry,
        )


async def run_workers(controller: Controller, count: int, metrics: ReconcileMetrics) -> None:
    await asyncio.gather(*(_worker(controller, metrics) for _ in range(count)))


async def _worker(controller: Controller, metrics: ReconcileMetrics) -> None:
    queue = controller.queue
    while True:
        try:
            key = await queue.get()
        except ShutDown:
            return
        result = "success"
        try:
            with metrics.duration.labels(controller.name).time():
                outcome = await controller.reconcile(key)
            queue.forget(key)
            if outcome is not None:
                result = "requeue"
                queue.add_after(key, outcome.seconds)
        except KubeConflict:
            result = "conflict"
            queue.add(key)  # the informer brings the newer object; plan again at once
        except (CredentialsRejected, Denied, Invalid, NotConfigured) as exc:
            result = "error"
            delay = queue.add_rate_limited(key)
            log.error("%s %s: %s (retry in %.0fs)", controller.name, key, exc, delay)
        except CloudError as exc:
            result = "retry"
            delay = queue.add_rate_limited(key)
            log.warning("%s %s: %s (retry in %.1fs)", controller.name, key, exc, delay)
        except Exception:
            result = "error"
            queue.add_rate_limited(key)
            log.exception("%s %s: reconcile failed", controller.name, key)
        finally:
            queue.done(key)
            metrics.results.labels(controller.name, result).inc()
