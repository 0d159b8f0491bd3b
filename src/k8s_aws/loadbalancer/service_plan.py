"""(Service view, settings, snapshot) -> what a reconcile does (pure, no I/O).

The one planner behind the service controller and `k8s-aws plan`: it classifies the Service,
parses its annotations once, builds the desired load balancer from the snapshot's network
facts (VPC, subnets, the nodes' instances and groups) and diffs it against the snapshot.
Deletion plans an empty desired model (`plan_delete`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from k8s_aws.loadbalancer.annotations import (
    NLB,
    PREFIX,
    InvalidAnnotations,
    LoadBalancerSettings,
    parse_annotations,
)
from k8s_aws.loadbalancer.backends import BackendNode, backends_of
from k8s_aws.loadbalancer.build import build_load_balancer
from k8s_aws.loadbalancer.plan import plan_delete, plan_ensure
from k8s_aws.loadbalancer.service import FINALIZER, ServiceView, service_problems, wants_classic_lb
from k8s_aws.loadbalancer.subnets import NoSubnets, select_subnets, subnets_by_annotation
from k8s_aws.model.lb_actions import Plan
from k8s_aws.model.loadbalancer import DesiredLoadBalancer, Observed

ENSURE, DELETE, SKIP = "ensure", "delete", "skip"


@dataclass(frozen=True)
class Note:
    """Something the user should hear about, as an Event on the Service."""

    type: str
    reason: str
    message: str


@dataclass(frozen=True)
class PlannerSettings:
    cluster: str
    vpc_id: str = ""  # [Global] VPC; "" lets the observer take the nodes' one VPC


@dataclass(frozen=True)
class PlanRequest:
    """The Kubernetes side of a plan: the Service, the cluster's nodes, and whether any other
    Service of the cluster wants a load balancer (then the backend group stays)."""

    service: ServiceView
    nodes: tuple[BackendNode, ...] = ()
    backend_wanted_elsewhere: bool = True


@dataclass(frozen=True)
class ServicePlan:
    kind: str  # ensure | delete | skip
    plan: Plan = field(default_factory=Plan)
    observed: Observed | None = None
    desired: DesiredLoadBalancer | None = None
    notes: tuple[Note, ...] = ()
    retry_after: float | None = None


def intent(service: ServiceView) -> str:
    """ensure: it wants a Classic ELB; delete: it no longer does but may still have one (our
    finalizer); skip: not ours."""
    if service.deleting or not wants_classic_lb(service):
        return DELETE if FINALIZER in service.finalizers else SKIP
    return ENSURE


def summarize(plan: Plan) -> str:
    ops = [a.op for a in plan.actions]
    counted = {op: ops.count(op) for op in dict.fromkeys(ops)}
    return ", ".join(f"{op} x{n}" if n > 1 else op for op, n in counted.items())


def _skip_notes(service: ServiceView) -> tuple[Note, ...]:
    if service.type == "LoadBalancer" and not service.load_balancer_class and (
        service.lb_type == NLB
    ):
        return (Note("Warning", "UnsupportedLoadBalancerType",
                     f"{PREFIX}type: nlb is not supported by k8s-aws yet; "
                     "no load balancer was created"),)
    return ()


def _unsupported_notes(settings: LoadBalancerSettings) -> tuple[Note, ...]:
    return tuple(
        Note("Warning", "UnsupportedAnnotation",
             f"{annotation} is not supported for a Classic ELB and was ignored: {why}")
        for annotation, why in settings.unsupported
    )


def desired_load_balancer(
    request: PlanRequest, settings: LoadBalancerSettings, cluster: str, snapshot: Observed
) -> tuple[DesiredLoadBalancer | None, tuple[Note, ...]]:
    """The desired Classic ELB, or None and the Note saying what is missing."""
    backends, warnings = backends_of(
        request.nodes, settings.target_node_labels, snapshot.instances,
        snapshot.instance_groups, cluster,
    )
    notes = tuple(Note("Warning", "NodeSecurityGroup", w) for w in warnings)
    if not snapshot.vpc_id:
        return None, (*notes, Note(
            "Warning", "UnknownVPC",
            "cannot tell the cluster's VPC from its nodes; set [Global] VPC in the cloud config",
        ))
    lb = snapshot.load_balancer
    current = lb.subnets if lb else ()
    candidates = [s for s in snapshot.subnets if s.vpc_id == snapshot.vpc_id]
    try:
        subnets = (
            subnets_by_annotation(candidates, settings.subnets) if settings.subnets
            else select_subnets(candidates, cluster, settings.internal, current)
        )
    except NoSubnets as exc:
        return None, (*notes, Note("Warning", "NoSubnets", str(exc)))
    service = request.service
    return build_load_balancer(service, settings, cluster, subnets, backends), notes


def without_aws(request: PlanRequest) -> ServicePlan | None:
    """The plan when no AWS state can matter: the Service is not ours, or its spec or
    annotations are invalid (then the Event says why and nothing is read or changed)."""
    service = request.service
    kind = intent(service)
    if kind == SKIP:
        return ServicePlan(SKIP, notes=_skip_notes(service))
    if kind == DELETE:
        return None
    problems = service_problems(service)
    try:
        parse_annotations(service.annotations)
    except InvalidAnnotations as exc:
        problems += [str(p) for p in exc.problems]
    if problems:
        return ServicePlan(SKIP, notes=(Note(
            "Warning", "InvalidConfiguration", "no AWS change made: " + "; ".join(problems)),))
    return None


def plan_service(
    request: PlanRequest, settings: PlannerSettings, snapshot: Observed
) -> ServicePlan:
    """What a reconcile of this Service does against this snapshot."""
    early = without_aws(request)
    if early is not None:
        return early
    service = request.service
    if intent(service) == DELETE:
        plan = plan_delete(service.key, snapshot, settings.cluster,
                           request.backend_wanted_elsewhere)
        return ServicePlan(DELETE, plan, snapshot)
    parsed = parse_annotations(service.annotations)
    desired, notes = desired_load_balancer(request, parsed, settings.cluster, snapshot)
    notes = (*_unsupported_notes(parsed), *notes)
    if desired is None:
        return ServicePlan(SKIP, notes=notes, retry_after=60)
    plan = plan_ensure(desired, snapshot, settings.cluster)
    if plan.refusal:
        notes = (*notes, Note("Warning", "LoadBalancerRefused", plan.refusal))
    return ServicePlan(ENSURE, plan, snapshot, desired, notes)
