"""service: a Classic ELB for every Service of type LoadBalancer (observe, plan, apply).

What AWS holds is cached per Service after each apply, so a resync of an unchanged Service or
a node joining is planned with no describe call: a joining node costs one registration per
load balancer. Deletion always plans from a fresh look at AWS, and the finalizer is removed
only after AWS confirmed every deletion.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from k8s_aws.cloud.clb import ClassicLoadBalancers, GroupInUse
from k8s_aws.cloud.errors import CloudError
from k8s_aws.cloud.instances import InstanceDirectory
from k8s_aws.cloud.network import NetworkDirectory
from k8s_aws.controllers.worker import RequeueAfter
from k8s_aws.kube.events import EventRecorder, ObjectRef
from k8s_aws.kube.informer import Obj
from k8s_aws.kube.nodes import NodeView
from k8s_aws.kube.services import ServiceWriter
from k8s_aws.loadbalancer.annotations import InvalidAnnotations, parse_annotations
from k8s_aws.loadbalancer.backends import BackendNode, eligible, node_security_group
from k8s_aws.loadbalancer.build import Backend, build_load_balancer
from k8s_aws.loadbalancer.drift import group_drifted, load_balancer_drifted
from k8s_aws.loadbalancer.plan import plan_delete, plan_ensure
from k8s_aws.loadbalancer.service import (
    FINALIZER,
    LB_TYPE_ANNOTATION,
    ServiceView,
    load_balancer_name,
    service_problems,
    wants_classic_lb,
)
from k8s_aws.loadbalancer.simulate import simulate
from k8s_aws.loadbalancer.subnets import NoSubnets, select_subnets, subnets_by_annotation
from k8s_aws.model.lb_actions import Plan
from k8s_aws.model.loadbalancer import DesiredLoadBalancer, Observed
from k8s_aws.nodes.providerid import InvalidProviderId, parse_provider_id
from k8s_aws.support.workqueue import WorkQueue

log = logging.getLogger(__name__)


def _backend_signature(raw: Obj | None) -> Any:
    if raw is None:
        return None
    node = NodeView.of(raw)
    return (node.provider_id, tuple(sorted(node.labels.items())),
            tuple(sorted(t.get("key", "") for t in node.taints)), node.deleting)


@dataclass(frozen=True)
class Note:
    """Something the user should hear about, as an Event on the Service."""

    type: str
    reason: str
    message: str


@dataclass(frozen=True)
class ServicePlan:
    kind: str  # ensure | delete | skip
    plan: Plan = field(default_factory=Plan)
    observed: Observed | None = None
    desired: DesiredLoadBalancer | None = None
    notes: tuple[Note, ...] = ()
    retry_after: float | None = None


def summarize(plan: Plan) -> str:
    ops = [a.op for a in plan.actions]
    counted = {op: ops.count(op) for op in dict.fromkeys(ops)}
    return ", ".join(f"{op} x{n}" if n > 1 else op for op, n in counted.items())


class ServiceController:
    name = "service"

    def __init__(
        self,
        *,
        services: dict[str, Obj],
        nodes: dict[str, Obj],
        directory: InstanceDirectory,
        network: NetworkDirectory,
        clbs: ClassicLoadBalancers,
        writer: ServiceWriter,
        events: EventRecorder,
        cluster: str,
        vpc_id: str = "",
    ) -> None:
        self.queue: WorkQueue[str] = WorkQueue()
        self._services = services
        self._nodes = nodes
        self._directory = directory
        self._network = network
        self._clbs = clbs
        self._writer = writer
        self._events = events
        self._cluster = cluster
        self._vpc_id = vpc_id
        self._known: dict[str, Observed] = {}
        self.sweeps = 0

    # -- events -------------------------------------------------------------------------
    def on_service_event(self, event: str, key: str, old: Obj | None, new: Obj | None) -> None:
        if new is None:
            self._known.pop(key, None)
            return
        view = ServiceView.of(new)
        if view.type == "LoadBalancer" or FINALIZER in view.finalizers:
            self.queue.add(key)

    def on_node_event(self, event: str, key: str, old: Obj | None, new: Obj | None) -> None:
        if _backend_signature(old) == _backend_signature(new):
            return
        for service_key, raw in self._services.items():
            if wants_classic_lb(ServiceView.of(raw)):
                self.queue.add(service_key)

    async def drift_sweep(self) -> list[str]:
        """Compare whole-fleet describes with the cached view of AWS; the Services whose load
        balancer or frontend group drifted are re-observed in full and re-planned."""
        by_name = {
            known.load_balancer.name: key
            for key, known in self._known.items() if known.load_balancer is not None
        }
        if not by_name:
            self.sweeps += 1
            return []
        lbs = await self._clbs.fleet(set(by_name))
        groups = await self._clbs.fleet_groups()
        drifted = []
        for name, key in by_name.items():
            known = self._known.get(key)
            if known is None or known.load_balancer is None:
                continue
            front = known.frontend_group
            if load_balancer_drifted(known.load_balancer, lbs.get(name)) or group_drifted(
                front, groups.get(front.id) if front else None
            ):
                self._known.pop(key, None)
                self.queue.add(key)
                drifted.append(key)
        self.sweeps += 1
        if drifted:
            log.info("drift sweep: %d load balancer(s) drifted: %s", len(drifted), drifted)
        return drifted

    async def drift_loop(self, period: float, trigger: asyncio.Event) -> None:
        """Sweep every `period` seconds, or at once when `trigger` is set (SIGUSR1)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(trigger.wait(), period)
            trigger.clear()
            try:
                await self.drift_sweep()
            except CloudError as exc:
                log.warning("drift sweep failed: %s; next one in %.0fs", exc, period)

    # -- reconcile ----------------------------------------------------------------------
    async def plan_service(self, raw: Obj, fresh: bool = False) -> ServicePlan:
        """What a reconcile would do now, reading AWS but changing nothing anywhere (this
        is also `k8s-aws plan`). `fresh` ignores the cached view of AWS."""
        service = ServiceView.of(raw)
        if service.deleting or not wants_classic_lb(service):
            if FINALIZER not in service.finalizers:
                skipped: tuple[Note, ...] = ()
                if service.type == "LoadBalancer" and not service.load_balancer_class and (
                    service.annotations.get(LB_TYPE_ANNOTATION, "").strip().lower() == "nlb"
                ):
                    skipped = (Note("Warning", "UnsupportedLoadBalancerType",
                                  f"{LB_TYPE_ANNOTATION}: nlb is not supported by k8s-aws yet; "
                                  "no load balancer was created"),)
                return ServicePlan("skip", notes=skipped)
            name = load_balancer_name(service.uid)
            observed = await self._clbs.observe(name, self._vpc_id, frozenset())
            return ServicePlan("delete", plan_delete(service.key, observed, self._cluster),
                               observed)
        problems = service_problems(service)
        try:
            settings = parse_annotations(service.annotations)
        except InvalidAnnotations as exc:
            problems += [str(p) for p in exc.problems]
        if problems:
            return ServicePlan("skip", notes=(Note(
                "Warning", "InvalidConfiguration", "no AWS change made: " + "; ".join(problems)),))
        desired, notes = await self._desired(service, settings)
        if desired is None:
            return ServicePlan("skip", notes=notes, retry_after=60)
        known = None if fresh else self._known.get(service.key)
        observed = known or await self._clbs.observe(
            desired.name, self._vpc_id, desired.node_groups)
        plan = plan_ensure(desired, observed, self._cluster)
        if plan.refusal:
            notes = (*notes, Note("Warning", "LoadBalancerRefused", plan.refusal))
        return ServicePlan("ensure", plan, observed, desired, notes)

    async def reconcile(self, key: str) -> RequeueAfter | None:
        raw = self._services.get(key)
        if raw is None:
            return None
        service = ServiceView.of(raw)
        ref = ObjectRef.of(raw, "Service")
        planned = await self.plan_service(raw)
        for note in planned.notes:
            await self._events.record(ref, note.type, note.reason, note.message)
        if planned.kind == "delete":
            return await self._delete(service, raw, ref, planned)
        if planned.kind == "skip" or planned.plan.refusal or planned.desired is None:
            return RequeueAfter(planned.retry_after) if planned.retry_after else None
        desired, plan, observed = planned.desired, planned.plan, planned.observed
        assert observed is not None
        if FINALIZER not in service.finalizers:
            await self._writer.set_finalizers(
                service.namespace, service.name, raw["metadata"]["resourceVersion"],
                [*service.finalizers, FINALIZER],
            )
        if plan.actions:
            self._known.pop(key, None)  # unknown until the apply completes
            applied = await self._clbs.apply(plan, self._vpc_id)
            dns = applied.dns_name or (
                observed.load_balancer.dns_name if observed.load_balancer else "")
            observed = simulate(observed, plan.actions, applied.refs, dns)
            await self._events.record(
                ref, "Normal", "EnsuredLoadBalancer",
                f"load balancer {desired.name}: {summarize(plan)}",
            )
        self._known[key] = observed
        hostname = observed.load_balancer.dns_name if observed.load_balancer else ""
        if hostname and hostname != service.ingress_hostname:
            await self._writer.set_hostname(service.namespace, service.name, hostname)
        return None

    async def _desired(
        self, service: ServiceView, settings: Any
    ) -> tuple[DesiredLoadBalancer | None, tuple[Note, ...]]:
        backends, vpcs, warnings = await self._backends(settings.target_node_labels)
        notes = tuple(Note("Warning", "NodeSecurityGroup", w) for w in warnings)
        if not self._vpc_id:
            if len(vpcs) != 1:
                return None, (*notes, Note(
                    "Warning", "UnknownVPC",
                    "cannot tell the cluster's VPC from its nodes; set [Global] VPC in the "
                    "cloud config",
                ))
            self._vpc_id = next(iter(vpcs))
        candidates = await self._network.subnets(self._vpc_id)
        known = self._known.get(service.key)
        current = known.load_balancer.subnets if known and known.load_balancer else ()
        try:
            subnets = (
                subnets_by_annotation(candidates, settings.subnets) if settings.subnets
                else select_subnets(candidates, self._cluster, settings.internal, current)
            )
        except NoSubnets as exc:
            return None, (*notes, Note("Warning", "NoSubnets", str(exc)))
        return build_load_balancer(service, settings, self._cluster, subnets, backends), notes

    async def _backends(
        self, target_labels: tuple[tuple[str, str], ...]
    ) -> tuple[list[Backend], set[str], list[str]]:
        nodes = [NodeView.of(raw) for raw in list(self._nodes.values())]
        chosen = [
            n for n in nodes
            if eligible(BackendNode(n.name, n.provider_id, tuple(n.labels.items()),
                                    tuple(t.get("key", "") for t in n.taints), n.deleting),
                        target_labels)
        ]
        ids = []
        for node in chosen:
            try:
                ids.append(parse_provider_id(node.provider_id))
            except InvalidProviderId:
                continue
        records = [r for r in await asyncio.gather(*(self._directory.get(i) for i in ids)) if r]
        groups = await self._network.groups({g for r in records for g in r.security_groups})
        backends, warnings = [], []
        for record in records:
            group, warning = node_security_group(
                [groups[g] for g in record.security_groups if g in groups], self._cluster
            )
            if warning:
                warnings.append(f"instance {record.id}: {warning}")
            backends.append(Backend(record.id, group))
        return backends, {r.vpc_id for r in records if r.vpc_id}, warnings

    async def _delete(
        self, service: ServiceView, raw: Obj, ref: ObjectRef, planned: ServicePlan
    ) -> RequeueAfter | None:
        name = load_balancer_name(service.uid)
        plan = planned.plan
        if plan.refusal:
            await self._events.record(ref, "Warning", "LoadBalancerRefused", plan.refusal)
        elif plan.actions:
            try:
                await self._clbs.apply(plan, self._vpc_id)
            except GroupInUse as exc:
                if exc.blockers:
                    await self._events.record(ref, "Warning", "DeletionBlocked", str(exc))
                raise
            await self._events.record(
                ref, "Normal", "DeletedLoadBalancer", f"load balancer {name}: {summarize(plan)}"
            )
        self._known.pop(service.key, None)
        remaining = [f for f in service.finalizers if f != FINALIZER]
        version = raw["metadata"]["resourceVersion"]
        if not service.deleting and service.ingress_hostname:
            version = await self._writer.set_hostname(service.namespace, service.name, None)
        await self._writer.set_finalizers(service.namespace, service.name, version, remaining)
        log.info("service %s: load balancer %s removed", service.key, name)
        return None

