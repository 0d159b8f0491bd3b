"""What AWS holds after a plan is applied (pure).

The controller keeps this as its view of AWS, so a Service or node change is planned against
it with no describe calls; the drift sweep replaces it with what AWS really says. Tests use it
to check that planning again after applying a plan yields an empty plan.
"""

from __future__ import annotations

from dataclasses import replace

from k8s_aws.model.lb_actions import (
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
    RegisterInstances,
    RevokeIngress,
    SetBackendPolicies,
    SetGroups,
    SetListenerPolicies,
    SetSubnets,
)
from k8s_aws.model.loadbalancer import (
    Attributes,
    HealthCheck,
    IngressRule,
    Observed,
    ObservedGroup,
    ObservedLoadBalancer,
)


def _resolve(group: str, refs: dict[str, str]) -> str:
    return refs.get(group, group)


def _set_policy(
    current: tuple[tuple[int, tuple[str, ...]], ...], port: int, names: tuple[str, ...]
) -> tuple[tuple[int, tuple[str, ...]], ...]:
    table = dict(current)
    if names:
        table[port] = names
    else:
        table.pop(port, None)
    return tuple(sorted(table.items()))


def _group_action(state: Observed, action: Action, refs: dict[str, str]) -> Observed:
    if isinstance(action, CreateGroup):
        group = ObservedGroup(_resolve(action.ref, refs), action.name, action.tags)
        if action.ref.startswith("$backend"):
            return replace(state, backend_group=group)
        return replace(state, frontend_group=group)
    if isinstance(action, AuthorizeIngress | RevokeIngress):
        group_id = _resolve(action.group, refs)
        rules = frozenset(
            IngressRule(r.protocol, r.from_port, r.to_port, _resolve(r.source, refs), r.description)
            for r in action.rules
        )
        front = state.frontend_group
        if front is not None and front.id == group_id:
            new_rules = front.rules | rules if isinstance(action, AuthorizeIngress) else (
                front.rules - rules
            )
            return replace(state, frontend_group=replace(front, rules=new_rules))
        if isinstance(action, AuthorizeIngress):
            return replace(state, node_groups_admitting=state.node_groups_admitting | {group_id})
        return state
    if isinstance(action, DeleteGroup):
        return replace(state, frontend_group=None)
    return state


def _lb_action(
    lb: ObservedLoadBalancer | None, action: Action, refs: dict[str, str], dns_name: str
) -> ObservedLoadBalancer | None:
    if isinstance(action, CreateLoadBalancer):
        return ObservedLoadBalancer(
            name=action.name, dns_name=dns_name, internal=action.internal,
            subnets=action.subnets,
            security_groups=tuple(_resolve(g, refs) for g in action.groups),
            listeners=frozenset(action.listeners), health_check=HealthCheck("TCP:0"),
            attributes=Attributes(), tags=action.tags, instances=frozenset(),
        )
    if isinstance(action, DeleteLoadBalancer) or lb is None:
        return None
    if isinstance(action, SetSubnets):
        subnets = (set(lb.subnets) | set(action.attach)) - set(action.detach)
        return replace(lb, subnets=tuple(sorted(subnets)))
    if isinstance(action, SetGroups):
        return replace(lb, security_groups=tuple(_resolve(g, refs) for g in action.groups))
    if isinstance(action, DeleteListeners):
        return replace(lb, listeners=frozenset(
            x for x in lb.listeners if x.lb_port not in action.ports))
    if isinstance(action, CreateListeners):
        return replace(lb, listeners=lb.listeners | frozenset(action.listeners))
    if isinstance(action, ConfigureHealthCheck):
        return replace(lb, health_check=action.health_check)
    if isinstance(action, ModifyAttributes):
        return replace(lb, attributes=action.attributes)
    if isinstance(action, CreatePolicy):
        return replace(lb, policies=lb.policies | {action.policy})
    if isinstance(action, SetBackendPolicies):
        return replace(lb, backend_policies=_set_policy(
            lb.backend_policies, action.instance_port, action.policies))
    if isinstance(action, SetListenerPolicies):
        return replace(lb, listener_policies=_set_policy(
            lb.listener_policies, action.lb_port, action.policies))
    if isinstance(action, AddTags):
        tags = dict(lb.tags)
        tags.update(dict(action.tags))
        return replace(lb, tags=tuple(sorted(tags.items())))
    if isinstance(action, RegisterInstances):
        return replace(lb, instances=lb.instances | frozenset(action.instances))
    if isinstance(action, DeregisterInstances):
        return replace(lb, instances=lb.instances - frozenset(action.instances))
    return lb


def simulate(
    observed: Observed,
    actions: tuple[Action, ...],
    refs: dict[str, str] | None = None,
    dns_name: str = "",
) -> Observed:
    """`refs` maps `$frontend`/`$backend` to the ids the applier got back."""
    refs = refs or {}
    state = observed
    for action in actions:
        state = _group_action(state, action, refs)
        lb = _lb_action(state.load_balancer, action, refs, dns_name)
        if lb is not state.load_balancer:
            state = replace(state, load_balancer=lb)
    return state
