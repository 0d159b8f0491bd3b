"""Observe, then plan, for one Service: the Kubernetes side of the plan from the informer
caches, the AWS side from the observer (shared by the service controller and `k8s-aws plan`)."""

from __future__ import annotations

from k8s_aws.cloud.lb_observer import CLASSIC, EVERY, NLB
from k8s_aws.cloud.services import LoadBalancerReads
from k8s_aws.kube.informer import Obj
from k8s_aws.kube.nodes import NodeView
from k8s_aws.loadbalancer.annotations import NLB as NLB_TYPE
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


def plan_request(raw: Obj, services: dict[str, Obj], nodes: dict[str, Obj]) -> PlanRequest:
    """Whether another Service wants a load balancer matters only to a deletion (it keeps the
    backend group), so only a deletion scans the cache for it."""
    service = ServiceView.of(raw)
    elsewhere = intent(service) != DELETE or any(
        intent(ServiceView.of(other)) == ENSURE
        for key, other in list(services.items()) if key != service.key
    )
    return PlanRequest(service, tuple(backend_node(n) for n in list(nodes.values())), elsewhere)


def instance_ids(request: PlanRequest) -> tuple[str, ...]:
    return tuple(sorted({n.instance_id for n in request.nodes if n.instance_id}))


async def observe_and_plan(
    observer: LoadBalancerReads, settings: PlannerSettings, raw: Obj,
    services: dict[str, Obj], nodes: dict[str, Obj], known: Observed | None = None,
) -> ServicePlan:
    """The two steps of a reconcile before applying. `known` (the snapshot the last apply
    left) spares the load balancer describes; a deletion always observes afresh."""
    request = plan_request(raw, services, nodes)
    early = without_aws(request)  # not ours, or invalid: no AWS call
    if early is not None:
        return early
    service = request.service
    kind = intent(service)
    family = NLB if service.lb_type == NLB_TYPE else CLASSIC
    snapshot = await observer.observe(
        load_balancer_name(service.uid), instance_ids(request),
        known=None if kind == DELETE else known,
        check_backend_users=kind == DELETE and not request.backend_wanted_elsewhere,
        family=EVERY if kind == DELETE else family,
        previous=FINALIZER in service.finalizers, service=(service.namespace, service.name),
    )
    return plan_service(request, settings, snapshot)
