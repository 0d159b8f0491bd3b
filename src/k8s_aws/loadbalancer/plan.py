"""(desired, observed) -> the ordered actions that make AWS match (pure).

Creation runs in dependency order (security groups, load balancer, listeners, health check,
attributes, policies, instances); deletion is planning against "nothing desired" and runs in
reverse. Nothing that is not ours (DESIGN: cluster tag `owned` and our identity tag) is ever
changed or deleted; a load balancer or group that carries our name but not our tags refuses
the plan instead.
"""

from __future__ import annotations

from k8s_aws.model.cluster_tag import OWNED, cluster_tag_key
from k8s_aws.model.lb_actions import (
    BACKEND_REF,
    FRONTEND_REF,
    Action,
    AddTags,
    AuthorizeIngress,
    ConfigureHealthCheck,
    CreateGroup,
    CreateListeners,
    CreateLoadBalancer,
    CreatePolicy,
    DeleteGroup,
    DeleteListeners,
    DeleteLoadBalancer,
    DeregisterInstances,
    ModifyAttributes,
    Plan,
    RegisterInstances,
    RevokeIngress,
    SetBackendPolicies,
    SetGroups,
    SetListenerPolicies,
    SetSubnets,
)
from k8s_aws.model.loadbalancer import (
    BACKEND_ROLE,
    BACKEND_ROLE_TAG,
    PROXY_POLICY,
    SSL_POLICY_PREFIX,
    Attributes,
    DesiredLoadBalancer,
    Observed,
    ObservedLoadBalancer,
    backend_group_name,
    backend_rule,
    ours,
)
from k8s_aws.model.nlb import DesiredNetworkLB
from k8s_aws.model.nlb_actions import DeleteNetworkLoadBalancer, DeleteTargetGroup


def plan_delete(
    service: str, observed: Observed, cluster: str, backend_wanted: bool = True
) -> Plan:
    """Planning against an empty desired model: everything of this Service's that AWS holds
    goes, in reverse dependency order. The cluster's backend group and its rules on the node
    groups are part of that model too: they go only when no other Service wants a load
    balancer (`backend_wanted` False) AND the observer proved no other load balancer in AWS
    uses the group (`observed.backend_unused`)."""
    actions: list[Action] = []
    lb = observed.load_balancer
    if lb is not None:
        if not ours(lb.tags, cluster, service):
            return Plan(refusal=f"load balancer {lb.name} is not tagged as {service}'s: kept")
        actions.append(DeleteLoadBalancer(lb.name))
    nlb = observed.network_lb
    if nlb is not None:
        if not ours(nlb.tags, cluster, service):
            return Plan(refusal=f"load balancer {nlb.name} is not tagged as {service}'s: kept")
        actions.append(DeleteNetworkLoadBalancer(nlb.arn, nlb.name))
    actions += [DeleteTargetGroup(tg.arn, tg.name) for tg in observed.target_groups
                if ours(tg.tags, cluster, service)]
    group = observed.frontend_group
    if group is not None and ours(group.tags, cluster, service):
        actions.append(DeleteGroup(group.id, group.name))
    backend = observed.backend_group
    if (backend is not None and not backend_wanted and observed.backend_unused
            and ours(backend.tags, cluster, None)):
        rule = backend_rule(backend.id, cluster)
        actions += [RevokeIngress(g, (rule,)) for g in sorted(observed.node_groups_admitting)]
        actions.append(DeleteGroup(backend.id, backend.name))
    return Plan(tuple(actions))


def backend_actions(
    desired: DesiredLoadBalancer | DesiredNetworkLB, observed: Observed, cluster: str
) -> tuple[list[Action], str]:
    actions: list[Action] = []
    if observed.backend_group is None:
        actions.append(CreateGroup(
            BACKEND_REF,
            backend_group_name(cluster),
            f"Kubernetes cluster {cluster}: source of load balancer traffic to nodes",
            ((cluster_tag_key(cluster), OWNED), (BACKEND_ROLE_TAG, BACKEND_ROLE)),
        ))
        backend = BACKEND_REF
    else:
        backend = observed.backend_group.id
    for group in sorted(desired.node_groups - observed.node_groups_admitting):
        actions.append(AuthorizeIngress(group, (backend_rule(backend, cluster),)))
    return actions, backend


def frontend_actions(
    desired: DesiredLoadBalancer | DesiredNetworkLB, observed: Observed, cluster: str
) -> tuple[list[Action], str | None, str | None]:
    """(actions, group id or ref, refusal)."""
    want = desired.frontend_group
    have = observed.frontend_group
    if want is None:
        return [], None, None
    if have is None:
        actions: list[Action] = [CreateGroup(FRONTEND_REF, want.name, want.description, want.tags)]
        actions.append(AuthorizeIngress(FRONTEND_REF, tuple(sorted(want.rules))))
        return actions, FRONTEND_REF, None
    if not ours(have.tags, cluster, desired.service):
        return [], None, f"security group {have.id} ({have.name}) exists but is not ours: kept"
    actions = []
    add = want.rules - have.rules
    remove = have.rules - want.rules
    if add:
        actions.append(AuthorizeIngress(have.id, tuple(sorted(add))))
    if remove:
        actions.append(RevokeIngress(have.id, tuple(sorted(remove))))
    return actions, have.id, None


def _policy_actions(desired: DesiredLoadBalancer, observed: Observed) -> list[Action]:
    lb = observed.load_balancer
    existing = lb.policies if lb else frozenset()
    backend_now = dict(lb.backend_policies) if lb else {}
    listener_now = dict(lb.listener_policies) if lb else {}
    actions: list[Action] = []
    if desired.proxy_protocol_ports and PROXY_POLICY not in existing:
        actions.append(CreatePolicy(desired.name, PROXY_POLICY, "ProxyProtocolPolicyType",
                                    (("ProxyProtocol", "true"),)))
    ports = {lst.instance_port for lst in desired.listeners} | set(backend_now)
    for port in sorted(ports):
        want = (PROXY_POLICY,) if port in desired.proxy_protocol_ports else ()
        if tuple(sorted(backend_now.get(port, ()))) != want and (want or port in backend_now):
            actions.append(SetBackendPolicies(desired.name, port, want))
    ssl_name = SSL_POLICY_PREFIX + desired.ssl_policy if desired.ssl_policy else None
    if ssl_name and ssl_name not in existing:
        actions.append(CreatePolicy(desired.name, ssl_name, "SSLNegotiationPolicyType",
                                    (("Reference-Security-Policy", desired.ssl_policy or ""),)))
    for listener in desired.listeners:
        port = listener.lb_port
        want = (ssl_name,) if ssl_name and port in desired.ssl_policy_ports else ()
        have = tuple(sorted(listener_now.get(port, ())))
        if have != want and (want or have):
            actions.append(SetListenerPolicies(desired.name, port, want))
    return actions


def _refusal(desired: DesiredLoadBalancer, lb: ObservedLoadBalancer, cluster: str) -> str | None:
    if not ours(lb.tags, cluster, desired.service):
        return (f"load balancer {lb.name} exists but is not tagged as {desired.service}'s; "
                "nothing changed")
    if lb.internal != desired.internal:
        want, have = ("internal", "internet-facing") if desired.internal else (
            "internet-facing", "internal")
        return (f"load balancer {lb.name} is {have} and the Service asks for {want}: AWS cannot "
                "change a load balancer's scheme; delete and recreate the Service to switch")
    return None


def _create_actions(desired: DesiredLoadBalancer, groups: tuple[str, ...]) -> list[Action]:
    actions: list[Action] = [
        CreateLoadBalancer(desired.name, desired.internal, desired.subnets, groups,
                           desired.listeners, desired.tags),
        ConfigureHealthCheck(desired.name, desired.health_check),
    ]
    if desired.attributes != Attributes():
        actions.append(ModifyAttributes(desired.name, desired.attributes))
    actions += _policy_actions(desired, Observed())
    if desired.instances:
        actions.append(RegisterInstances(desired.name, tuple(sorted(desired.instances))))
    return actions


def _update_actions(
    desired: DesiredLoadBalancer, observed: Observed, lb: ObservedLoadBalancer,
    groups: tuple[str, ...],
) -> list[Action]:
    actions: list[Action] = []
    attach = tuple(sorted(set(desired.subnets) - set(lb.subnets)))
    detach = tuple(sorted(set(lb.subnets) - set(desired.subnets)))
    if attach or detach:
        actions.append(SetSubnets(desired.name, attach, detach))
    if set(groups) != set(lb.security_groups):
        actions.append(SetGroups(desired.name, groups))
    want_listeners = set(desired.listeners)
    stale = sorted({x.lb_port for x in lb.listeners - want_listeners})
    if stale:
        actions.append(DeleteListeners(desired.name, tuple(stale)))
    missing = tuple(sorted(want_listeners - lb.listeners))
    if missing:
        actions.append(CreateListeners(desired.name, missing))
    if lb.health_check != desired.health_check:
        actions.append(ConfigureHealthCheck(desired.name, desired.health_check))
    if lb.attributes != desired.attributes:
        actions.append(ModifyAttributes(desired.name, desired.attributes))
    actions += _policy_actions(desired, observed)
    have_tags = dict(lb.tags)
    tags = tuple((k, v) for k, v in desired.tags if have_tags.get(k) != v)
    if tags:
        actions.append(AddTags(desired.name, tags))
    register = tuple(sorted(desired.instances - lb.instances))
    deregister = tuple(sorted(lb.instances - desired.instances))
    if register:
        actions.append(RegisterInstances(desired.name, register))
    if deregister:
        actions.append(DeregisterInstances(desired.name, deregister))
    return actions


def plan_ensure(desired: DesiredLoadBalancer, observed: Observed, cluster: str) -> Plan:
    lb = observed.load_balancer
    refusal = _refusal(desired, lb, cluster) if lb is not None else None
    if refusal:
        return Plan(refusal=refusal)
    front_actions, frontend, refusal = frontend_actions(desired, observed, cluster)
    if refusal:
        return Plan(refusal=refusal)
    back_actions, backend = backend_actions(desired, observed, cluster)
    groups = tuple(g for g in (frontend, *desired.user_groups, backend) if g)
    actions: list[Action] = [*back_actions, *front_actions]
    if lb is None:
        return Plan(tuple(actions + _create_actions(desired, groups)))
    return Plan(tuple(actions + _update_actions(desired, observed, lb, groups)))
