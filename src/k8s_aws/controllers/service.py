"""service: a Classic ELB for every Service of type LoadBalancer (observe, plan, apply).

A reconcile observes (`cloud.lb_observer`), plans (`loadbalancer.service_plan`, pure) and
applies (`cloud.clb`). The snapshot is cached per Service after each apply, so a resync of an
unchanged Service or a node joining is planned with no load balancer describe: a joining
node costs one registration per load balancer. Deletion always plans from a fresh look at
AWS, holds the backend guard exclusively (so the cluster's backend group is never deleted
under a concurrent create), and removes the finalizer only after AWS confirmed every deletion.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

from k8s_aws.cloud.clb import GroupInUse, simulate
from k8s_aws.cloud.errors import CloudError, Conflict, CredentialsRejected, Denied, Invalid
from k8s_aws.cloud.interfaces import InterfaceWaiter
from k8s_aws.cloud.services import LoadBalancerReads, LoadBalancerWrites
from k8s_aws.controllers.service_deletion import Deleting, Deletions
from k8s_aws.controllers.service_drift import DriftSweeper
from k8s_aws.controllers.service_inputs import (
    backend_wanted_elsewhere,
    observe_and_plan,
    replan,
)
from k8s_aws.controllers.worker import RequeueAfter
from k8s_aws.kube.events import EventRecorder, ObjectRef
from k8s_aws.kube.informer import Obj
from k8s_aws.kube.nodes import NodeView
from k8s_aws.kube.services import ServiceWriter
from k8s_aws.loadbalancer.annotations import NLB
from k8s_aws.loadbalancer.deletion import StagedDeletion, stage_deletion
from k8s_aws.loadbalancer.service import (
    FINALIZER,
    ServiceView,
    load_balancer_name,
    wants_load_balancer,
)
from k8s_aws.loadbalancer.service_plan import (
    DELETE,
    PlannerSettings,
    ServicePlan,
    intent,
    summarize,
)
from k8s_aws.model.lb_actions import BACKEND_REF, CreateGroup
from k8s_aws.model.loadbalancer import Observed
from k8s_aws.support.expiring import ExpiringCache
from k8s_aws.support.rwlock import SharedExclusiveLock
from k8s_aws.support.workqueue import WorkQueue

log = logging.getLogger(__name__)
REFUSAL_EVENT_PERIOD = 300.0  # one Event per Service and AWS refusal every 5 minutes
RELEASE_RECHECK = 30.0  # a deletion waiting for interfaces looks again (the wait requeues it)


def _backend_signature(raw: Obj | None) -> Any:
    if raw is None:
        return None
    node = NodeView.of(raw)
    return (node.provider_id, tuple(sorted(node.labels.items())),
            tuple(sorted(t.get("key", "") for t in node.taints)), node.deleting)


class ServiceController:
    name = "service"

    def __init__(
        self, *, services: dict[str, Obj], nodes: dict[str, Obj],
        observer: LoadBalancerReads, applier: LoadBalancerWrites,
        writer: ServiceWriter, events: EventRecorder, settings: PlannerSettings,
        waiter: InterfaceWaiter | None = None,
    ) -> None:
        self.queue: WorkQueue[str] = WorkQueue()
        self._services = services
        self._nodes = nodes
        self._observer = observer
        self._applier = applier
        self._writer = writer
        self._events = events
        self._settings = settings
        self._known: dict[str, Observed] = {}
        # Ensures hold it shared; a deletion (which may remove the backend group) exclusively.
        self.backend_guard = SharedExclusiveLock()
        self._refusals: ExpiringCache[tuple[str, str], bool] = ExpiringCache(
            REFUSAL_EVENT_PERIOD)
        self.drift = DriftSweeper(observer, self._known, self.queue)
        self.deletions = Deletions(observer, waiter, self.queue)
        self._backend_creation = asyncio.Lock()

    @property
    def sweeps(self) -> int:
        return self.drift.sweeps

    # -- events -------------------------------------------------------------------------
    def on_service_event(self, event: str, key: str, old: Obj | None, new: Obj | None) -> None:
        if new is None:
            self._known.pop(key, None)
            self.deletions.released.pop(key, None)
            return
        view = ServiceView.of(new)
        if FINALIZER not in view.finalizers:  # the informer shows our removal: nothing to bridge
            self.deletions.released.pop(key, None)
        if view.type == "LoadBalancer" or FINALIZER in view.finalizers:
            self.queue.add(key)

    def on_node_event(self, event: str, key: str, old: Obj | None, new: Obj | None) -> None:
        if _backend_signature(old) == _backend_signature(new):
            return
        for service_key, raw in self._services.items():
            if wants_load_balancer(ServiceView.of(raw)):
                self.queue.add(service_key)

    async def drift_sweep(self) -> list[str]:
        return await self.drift.sweep()

    async def drift_loop(self, period: float, trigger: Any) -> None:
        await self.drift.loop(period, trigger)

    # -- reconcile ----------------------------------------------------------------------
    async def plan_service(self, raw: Obj, fresh: bool = False) -> ServicePlan:
        """Observe, then plan; changes nothing anywhere. `fresh` ignores the cached snapshot."""
        key = ServiceView.of(raw).key
        known = None if fresh else self._known.get(key)
        return await observe_and_plan(
            self._observer, self._settings, raw, self._services, self._nodes, known,
            cluster_backend=None if fresh else self._cluster_backend())

    def _cluster_backend(self) -> Observed | None:
        """A known snapshot holding the cluster's backend group (all name the same one: they
        are all dropped when it is deleted)."""
        return next((s for s in list(self._known.values()) if s.backend_group), None)

    async def reconcile(self, key: str) -> RequeueAfter | None:
        raw = self._services.get(key)
        if raw is None:
            return None
        ref = ObjectRef.of(raw, "Service")
        try:
            if intent(ServiceView.of(raw)) == DELETE:
                async with self.backend_guard.exclusive():
                    return await self._deletion(raw, ref)
            async with self.backend_guard.shared():
                return await self._ensure(raw, ref, await self.plan_service(raw))
        except (CredentialsRejected, Denied, Invalid, Conflict) as exc:
            if not isinstance(exc, GroupInUse):
                await self._aws_refused(key, ref, exc)
            raise

    async def _aws_refused(self, key: str, ref: ObjectRef, exc: CloudError) -> None:
        """AWS's refusal as a Warning Event on the Service: repeats are counted by the
        recorder, and posted at most once per REFUSAL_EVENT_PERIOD."""
        message = f"AWS refused {exc.operation or 'a call'}: {exc}"
        if self._refusals.get((key, message)) is None:
            self._refusals.put((key, message), True)
            await self._events.record(ref, "Warning", "SyncLoadBalancerFailed", message)

    async def _notes(self, ref: ObjectRef, planned: ServicePlan) -> None:
        for note in planned.notes:
            await self._events.record(ref, note.type, note.reason, note.message)

    async def _ensure(self, raw: Obj, ref: ObjectRef, planned: ServicePlan) -> RequeueAfter | None:
        """One ensure at a time creates the cluster's backend group; the others that planned
        to create it too re-plan with the group it made instead of racing it."""
        if not any(isinstance(a, CreateGroup) and a.ref == BACKEND_REF
                   for a in planned.plan.actions):
            return await self._ensure_now(raw, ref, planned)
        async with self._backend_creation:
            made = self._cluster_backend()
            if made is not None and planned.observed is not None:
                planned = replan(self._settings, raw, self._services, self._nodes, replace(
                    planned.observed, backend_group=made.backend_group,
                    node_groups_admitting=made.node_groups_admitting))
            return await self._ensure_now(raw, ref, planned)

    async def _ensure_now(
        self, raw: Obj, ref: ObjectRef, planned: ServicePlan
    ) -> RequeueAfter | None:
        service = ServiceView.of(raw)
        await self._notes(ref, planned)
        if planned.kind != "ensure" or planned.plan.refusal or planned.desired is None:
            return RequeueAfter(planned.retry_after) if planned.retry_after else None
        desired, plan, observed = planned.desired, planned.plan, planned.observed
        assert observed is not None
        if FINALIZER not in service.finalizers:
            await self._writer.set_finalizers(
                service.namespace, service.name, raw["metadata"]["resourceVersion"],
                [*service.finalizers, FINALIZER],
            )
        if plan.actions:
            self._known.pop(service.key, None)  # unknown until the apply completes
            applied = await self._applier.apply(plan, observed.vpc_id)
            if not applied.dns_name:
                applied.dns_name = observed.hostname
            observed = simulate(observed, plan.actions, applied)
            await self._events.record(ref, "Normal", "EnsuredLoadBalancer",
                                      f"load balancer {desired.name}: {summarize(plan)}")
        self._known[service.key] = observed
        hostname = observed.hostname
        if hostname and hostname != service.ingress_hostname:
            await self._writer.set_hostname(service.namespace, service.name, hostname)
        return None

    async def _deletion(self, raw: Obj, ref: ObjectRef) -> RequeueAfter | None:
        """Delete in two stages when the plan deletes a load balancer and then its groups:
        the load balancer now, the groups once the one batched wait says its interfaces are
        gone (the wait requeues the Service); otherwise in one go."""
        service = ServiceView.of(raw)
        waiting = self.deletions.awaiting(service.key)
        if waiting is not None:
            if not waiting.released:
                return RequeueAfter(RELEASE_RECHECK)
            self.deletions.forget(service.key)
            # The second stage as planned, unless it kept the backend group for Services
            # that have gone since (then this is the last deletion: plan it afresh).
            if waiting.staged.touches_backend is False and backend_wanted_elsewhere(
                    service, self._services, self.deletions.released):
                second = ServicePlan(DELETE, waiting.staged.after_release, waiting.observed)
                try:
                    return await self._delete(raw, ref, second)
                except GroupInUse as exc:
                    if exc.blockers:
                        raise
                    # AWS may report the interfaces gone a moment before the group is free:
                    # one more round of the shared wait, not a retry loop of its own.
                    self.deletions.wait_then_requeue(service.key, waiting.staged,
                                                     waiting.observed)
                    return RequeueAfter(RELEASE_RECHECK)
        planned = await self._plan_deletion(raw, lbs_gone=waiting is not None)
        staged = self._staged(planned)
        if staged is None:
            return await self._delete(raw, ref, planned)
        assert planned.observed is not None
        await self._notes(ref, planned)
        await self._applier.apply(staged.now, planned.observed.vpc_id)
        await self._events.record(ref, "Normal", "DeletingLoadBalancer",
                                  f"load balancer {load_balancer_name(service.uid)}: "
                                  f"{summarize(staged.now)}; waiting for its network "
                                  "interfaces to release its security groups")
        self._known.pop(service.key, None)
        self.deletions.wait_then_requeue(service.key, staged, planned.observed)
        return RequeueAfter(RELEASE_RECHECK)

    def _staged(self, planned: ServicePlan) -> StagedDeletion | None:
        if not self.deletions.can_wait() or planned.plan.refusal or planned.observed is None:
            return None
        backend = planned.observed.backend_group
        return stage_deletion(planned.plan, backend.id if backend else None)

    async def _plan_deletion(self, raw: Obj, lbs_gone: bool) -> ServicePlan:
        """A deletion that keeps the backend group plans from a snapshot read together with
        the other deletions of its family; the last one observes every family afresh."""
        service = ServiceView.of(raw)
        released = self.deletions.released
        snapshot = None
        if not lbs_gone and backend_wanted_elsewhere(service, self._services, released):
            snapshot = await self.deletions.snapshot(service.key, self._deletions_under_way)
        return await observe_and_plan(
            self._observer, self._settings, raw, self._services, self._nodes, None,
            released, snapshot, lbs_gone)

    def _deletions_under_way(self) -> dict[str, Deleting]:
        """The Services being deleted now whose load balancers this replica has not deleted."""
        found = {}
        for key, other in list(self._services.items()):
            view = ServiceView.of(other)
            if (intent(view) == DELETE and self.deletions.released.get(key) != view.uid
                    and self.deletions.awaiting(key) is None):
                found[key] = Deleting(load_balancer_name(view.uid), view.lb_type == NLB,
                                      (view.namespace, view.name))
        return found

    async def _delete(self, raw: Obj, ref: ObjectRef, planned: ServicePlan) -> RequeueAfter | None:
        service = ServiceView.of(raw)
        await self._notes(ref, planned)
        name = load_balancer_name(service.uid)
        plan = planned.plan
        if plan.refusal:
            await self._events.record(ref, "Warning", "LoadBalancerRefused", plan.refusal)
        elif plan.actions:
            vpc = planned.observed.vpc_id if planned.observed else ""
            try:
                await self._applier.apply(plan, vpc)
            except GroupInUse as exc:
                if exc.blockers:
                    await self._events.record(ref, "Warning", "DeletionBlocked", str(exc))
                raise
            await self._events.record(ref, "Normal", "DeletedLoadBalancer",
                                      f"load balancer {name}: {summarize(plan)}")
            if planned.observed and planned.observed.backend_group and any(
                getattr(a, "group", None) == planned.observed.backend_group.id
                for a in plan.actions if a.op == "DeleteGroup"
            ):
                self._known.clear()  # every cached snapshot named the deleted backend group
        self._known.pop(service.key, None)
        remaining = [f for f in service.finalizers if f != FINALIZER]
        version = raw["metadata"]["resourceVersion"]
        if not service.deleting and service.ingress_hostname:
            version = await self._writer.set_hostname(service.namespace, service.name, None)
        await self._writer.set_finalizers(service.namespace, service.name, version, remaining)
        self.deletions.released[service.key] = service.uid
        log.info("service %s: load balancer %s removed", service.key, name)
        return None
