"""Observe, then plan, for one Service: the Kubernetes side of the plan from the informer
caches, the AWS side from the observer (shared by the service controller and `k8s-aws plan`)."""

from __future__ import annotations

from k8s_aws.cloud.lb_observer import CLASSIC, EVERY, GROUPS, NLB
from k8s_aws.cloud.services import LoadBalancerReads
from k8s_aws.kube.informer import Obj
from k8s_aws.kube.nodes import NodeView
from k8s_aws.loadbalancer.annotations import NLB as NLB_TYPE
from k8s_aws.loadbalancer.annotations import InvalidAnnotations, parse_annotations
from k8s_aws.loadbalancer.backends import BackendNode
from k8s_aws.loadbalancer.service import FINALIZER, ServiceView, load_balancer_name
from k8s_aws.loadbalancer.service_plan import (
    DELETE,
    ENSURE,
    PlannerSettings,
    PlanRequest,
    ServicePlan,
    intent,
    plan_service,
    without_aws,
)
from k8s_aws.model.loadbalancer import Observed
from k8s_aws.nodes.providerid import InvalidProviderId, parse_provider_id


def backend_node(raw: Obj) -> BackendNode:
    node = NodeView.of(raw)
    try:
        instance_id = str(parse_provider_id(node.provider_id)) if node.provider_id else ""
    except InvalidProviderId:
        instance_id = ""
    return BackendNode(node.name, node.provider_id, tuple(node.labels.items()),
                       tuple(t.get("key", "") for t in node.taints), node.deleting, instance_id)


def backend_wanted_elsewhere(
    service: ServiceView, services: dict[str, Obj], released: dict[str, str] | None = None
) -> bool:
    """Whether a Service other than `service` keeps the cluster's backend group alive: one
    that wants a load balancer, or one still being deleted (the last deletion to finish takes
    the group). `released` (key -> uid) names Services whose finalizer is already removed
    while the informer may still show them."""
    gone = released or {}
    for key, other in list(services.items()):
        if key == service.key:
            continue
        view = ServiceView.of(other)
        if gone.get(key) == view.uid:
            continue
        if intent(view) in (ENSURE, DELETE):
            return True
    return False


def plan_request(
    raw: Obj, services: dict[str, Obj], nodes: dict[str, Obj],
    released: dict[str, str] | None = None,
) -> PlanRequest:
    """Whether another Service keeps the backend group matters only to a deletion, so only a
    deletion scans the cache for it."""
    service = ServiceView.of(raw)
    elsewhere = intent(service) != DELETE or backend_wanted_elsewhere(service, services, released)
    return PlanRequest(service, tuple(backend_node(n) for n in list(nodes.values())), elsewhere)


def makes_frontend_group(service: ServiceView) -> bool:
    """Whether its load balancer gets a frontend group of ours (not with `security-groups`):
    that group's name is what tells a new Service's observer a load balancer may exist."""
    try:
        return not parse_annotations(service.annotations).security_groups
    except InvalidAnnotations:
        return False


def instance_ids(request: PlanRequest) -> tuple[str, ...]:
    return tuple(sorted({n.instance_id for n in request.nodes if n.instance_id}))


async def observe_and_plan(
    observer: LoadBalancerReads, settings: PlannerSettings, raw: Obj,
    services: dict[str, Obj], nodes: dict[str, Obj], known: Observed | None = None,
    released: dict[str, str] | None = None, deletion_snapshot: Observed | None = None,
    lbs_gone: bool = False, cluster_backend: Observed | None = None,
) -> ServicePlan:
    """The two steps of a reconcile before applying. `known` (the snapshot the last apply
    left) spares the load balancer describes; a deletion observes afresh, or plans from
    `deletion_snapshot` (read moments ago with other deletions) when it keeps the backend
    group; `lbs_gone` (this deletion saw AWS delete its load balancers) reads only groups;
    `cluster_backend` (another Service's snapshot) spares a new Service the group reads."""
    request = plan_request(raw, services, nodes, released)
    early = without_aws(request)  # not ours, or invalid: no AWS call
    if early is not None:
        return early
    service = request.service
    kind = intent(service)
    if kind == DELETE and deletion_snapshot is not None and request.backend_wanted_elsewhere:
        return plan_service(request, settings, deletion_snapshot)
    family = NLB if service.lb_type == NLB_TYPE else CLASSIC
    if kind == DELETE:  # every family; none when this deletion already removed them
        family = GROUPS if lbs_gone else EVERY
    snapshot = await observer.observe(
        load_balancer_name(service.uid), instance_ids(request),
        known=None if kind == DELETE else known,
        check_backend_users=kind == DELETE and not request.backend_wanted_elsewhere,
        family=family,
        previous=FINALIZER in service.finalizers or not makes_frontend_group(service),
        service=(service.namespace, service.name),
        cluster_backend=cluster_backend,
    )
    return plan_service(request, settings, snapshot)


def replan(
    settings: PlannerSettings, raw: Obj, services: dict[str, Obj], nodes: dict[str, Obj],
    snapshot: Observed,
) -> ServicePlan:
    """Plan again from a snapshot already at hand (no AWS call)."""
    return plan_service(plan_request(raw, services, nodes), settings, snapshot)
