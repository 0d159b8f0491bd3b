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
from k8s_aws.loadbalancer.nlb_build import build_network_lb, nlb_tls_problems, subnet_mappings
from k8s_aws.loadbalancer.nlb_plan import plan_nlb_ensure
from k8s_aws.loadbalancer.plan import plan_delete, plan_ensure
from k8s_aws.loadbalancer.service import (
    FINALIZER,
    ServiceView,
    service_problems,
    wants_load_balancer,
)
from k8s_aws.loadbalancer.subnets import NoSubnets, select_subnets, subnets_by_annotation
from k8s_aws.model.lb_actions import Plan
from k8s_aws.model.loadbalancer import DesiredLoadBalancer, Observed
from k8s_aws.model.nlb import DesiredNetworkLB

Desired = DesiredLoadBalancer | DesiredNetworkLB

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
    desired: Desired | None = None
    notes: tuple[Note, ...] = ()
    retry_after: float | None = None


def intent(service: ServiceView) -> str:
    """ensure: it wants a Classic ELB or an NLB; delete: it no longer does but may still have
    one (our finalizer); skip: not ours."""
    if service.deleting or not wants_load_balancer(service):
        return DELETE if FINALIZER in service.finalizers else SKIP
    return ENSURE


def summarize(plan: Plan) -> str:
    ops = [a.op for a in plan.actions]
    counted = {op: ops.count(op) for op in dict.fromkeys(ops)}
    return ", ".join(f"{op} x{n}" if n > 1 else op for op, n in counted.items())


def _unsupported_notes(settings: LoadBalancerSettings) -> tuple[Note, ...]:
    family = "a Network Load Balancer" if settings.lb_type == NLB else "a Classic ELB"
    return tuple(
        Note("Warning", "UnsupportedAnnotation",
             f"{annotation} is not supported for {family} and was ignored: {why}")
        for annotation, why in settings.unsupported
    )


def _unused_path(settings: LoadBalancerSettings, desired: Desired) -> tuple[Note, ...]:
    """`healthcheck-path` on a check that is not HTTP(S) (a TCP or SSL one) checks nothing:
    said by name, not dropped in silence."""
    path = settings.health_check.path
    if path is None:
        return ()
    if isinstance(desired, DesiredNetworkLB):
        used = any(tg.health_check.path == path for tg in desired.target_groups)
    else:
        used = desired.health_check.target.endswith(path)
    if used:
        return ()
    return (Note("Warning", "UnsupportedAnnotation",
                 f"{PREFIX}healthcheck-path {path} was ignored: the health check is not HTTP "
                 f"or HTTPS; set {PREFIX}healthcheck-protocol to HTTP or HTTPS to check it"),)


def _type_change(service: ServiceView, snapshot: Observed) -> Note | None:
    """A live Service whose type annotation moved between classic and nlb: refused (the old
    load balancer keeps serving, nothing is created or leaked) until the user reverts the
    annotation or recreates the Service. AWS cannot convert one family into the other, and
    swapping would change the Service's hostname under its clients."""
    other = snapshot.load_balancer if service.lb_type == NLB else snapshot.network_lb
    if other is None:
        return None
    have = "a Classic ELB" if service.lb_type == NLB else "a Network Load Balancer"
    return Note("Warning", "LoadBalancerTypeChange",
                f"{PREFIX}type changed, but this Service already has {have} ({other.name}); "
                "AWS cannot change a load balancer's type: revert the annotation, or delete "
                "and recreate the Service to switch; nothing changed")


def desired_load_balancer(
    request: PlanRequest, settings: LoadBalancerSettings, cluster: str, snapshot: Observed
) -> tuple[Desired | None, tuple[Note, ...]]:
    """The desired Classic ELB or NLB, or None and the Note saying what is missing."""
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
    lb = snapshot.network_lb if settings.lb_type == NLB else snapshot.load_balancer
    current = lb.subnets if lb else ()
    candidates = [s for s in snapshot.subnets if s.vpc_id == snapshot.vpc_id]
    try:
        subnets = (
            subnets_by_annotation(candidates, settings.subnets) if settings.subnets
            else select_subnets(candidates, cluster, settings.internal, current)
        )
    except NoSubnets as exc:
        return None, (*notes, Note("Warning", "NoSubnets", str(exc)))
    if settings.lb_type != NLB:
        return build_load_balancer(request.service, settings, cluster, subnets, backends), notes
    chosen = tuple(s for s in candidates if s.id in subnets)
    mappings, problem = subnet_mappings(settings, chosen)
    if problem:
        return None, (*notes, Note("Warning", "InvalidConfiguration",
                                   "no AWS change made: " + problem))
    return build_network_lb(request.service, settings, cluster, subnets, backends,
                            mappings), notes


def without_aws(request: PlanRequest) -> ServicePlan | None:
    """The plan when no AWS state can matter: the Service is not ours, or its spec or
    annotations are invalid (then the Event says why and nothing is read or changed)."""
    service = request.service
    kind = intent(service)
    if kind == SKIP:
        return ServicePlan(SKIP)
    if kind == DELETE:
        return None
    problems = service_problems(service)
    try:
        parsed = parse_annotations(service.annotations)
        if parsed.lb_type == NLB:
            problems += nlb_tls_problems(service, parsed)
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
    changed = _type_change(service, snapshot)
    if changed is not None:
        return ServicePlan(SKIP, notes=(changed,))
    parsed = parse_annotations(service.annotations)
    desired, notes = desired_load_balancer(request, parsed, settings.cluster, snapshot)
    notes = (*_unsupported_notes(parsed), *notes)
    if desired is None:  # bad input waits for the user; missing network facts are retried
        invalid = any(n.reason == "InvalidConfiguration" for n in notes)
        return ServicePlan(SKIP, notes=notes, retry_after=None if invalid else 60)
    notes = (*notes, *_unused_path(parsed, desired))
    if isinstance(desired, DesiredNetworkLB):
        plan = plan_nlb_ensure(desired, snapshot, settings.cluster)
    else:
        plan = plan_ensure(desired, snapshot, settings.cluster)
    notes = (*notes, *(Note("Warning", "LoadBalancerKept", w) for w in plan.warnings))
    if plan.refusal:
        notes = (*notes, Note("Warning", "LoadBalancerRefused", plan.refusal))
    return ServicePlan(ENSURE, plan, snapshot, desired, notes)
