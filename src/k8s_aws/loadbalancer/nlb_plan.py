"""(desired NLB, observed) -> the ordered actions that make AWS match (pure).

Creation order: backend and frontend groups, target groups, the NLB (with its security
groups: AWS takes them only at creation, later only if it was created with some), listeners,
targets. Changes to an existing NLB: `nlb_update`. Target groups no listener
wants go after their listeners. Deletion is `plan.plan_delete` (the NLB, then its groups).
"""

from __future__ import annotations

from k8s_aws.loadbalancer.nlb_update import nlb_tags, update_actions
from k8s_aws.loadbalancer.plan import backend_actions, frontend_actions
from k8s_aws.model.lb_actions import Action, Plan
from k8s_aws.model.loadbalancer import Observed, ours
from k8s_aws.model.nlb import (
    DEFAULT_NLB_ATTRIBUTES,
    DesiredNetworkLB,
    ObservedNetworkLB,
    ObservedTargetGroup,
)
from k8s_aws.model.nlb_actions import (
    NLB_REF,
    CreateNetworkLoadBalancer,
    CreateNlbListener,
    CreateTargetGroup,
    DeleteNlbListener,
    DeleteTargetGroup,
    DeregisterTargets,
    ModifyNetworkLoadBalancerAttributes,
    ModifyNlbListener,
    ModifyTargetGroupAttributes,
    ModifyTargetGroupHealthCheck,
    RegisterTargets,
    target_group_ref,
)


def _refusal(desired: DesiredNetworkLB, observed: Observed, cluster: str) -> str | None:
    lb = observed.network_lb
    if lb is not None and not ours(lb.tags, cluster, desired.service):
        return (f"load balancer {lb.name} exists but is not tagged as {desired.service}'s; "
                "nothing changed")
    if lb is not None and lb.internal != desired.internal:
        want = "internal" if desired.internal else "internet-facing"
        return (f"load balancer {lb.name} is not {want} as the Service asks: AWS cannot change "
                "a load balancer's scheme; delete and recreate the Service to switch")
    foreign = [tg.name for tg in observed.target_groups
               if not ours(tg.tags, cluster, desired.service)]
    if foreign:
        return f"target groups {', '.join(foreign)} are not tagged as {desired.service}'s: kept"
    return None


def _target_group_actions(
    desired: DesiredNetworkLB, have: dict[str, ObservedTargetGroup]
) -> tuple[list[Action], dict[str, str]]:
    """(creates and health-check changes, target group name -> ARN or reference)."""
    actions: list[Action] = []
    arns = {}
    for spec in desired.target_groups:
        found = have.get(spec.name)
        if found is None:
            actions.append(CreateTargetGroup(spec.name, spec.protocol, spec.port,
                                             spec.health_check, spec.tags))
            arns[spec.name] = target_group_ref(spec.name)
            if spec.attributes:
                actions.append(ModifyTargetGroupAttributes(arns[spec.name], spec.name,
                                                           spec.attributes))
            continue
        arns[spec.name] = found.arn
        if found.health_check != spec.health_check:
            actions.append(ModifyTargetGroupHealthCheck(found.arn, spec.name, spec.health_check))
        have_attributes = dict(found.attributes)
        if any(have_attributes.get(k) != v for k, v in spec.attributes):
            actions.append(ModifyTargetGroupAttributes(found.arn, spec.name, spec.attributes))
    return actions, arns


def _listener_actions(
    desired: DesiredNetworkLB, lb: ObservedNetworkLB | None, lb_ref: str, arns: dict[str, str]
) -> tuple[list[Action], list[Action]]:
    """(stale listener deletions, listener changes and creations). A port that stays gets
    ModifyListener (protocol, target group, certificate, policy, ALPN), never a gap."""
    have = {x.port: x for x in (lb.listeners if lb else ())}
    want = {x.port: (x.protocol, arns[x.target_group], x.certificate, x.ssl_policy, x.alpn)
            for x in desired.listeners}
    stale: list[Action] = [DeleteNlbListener(x.arn, port)
                           for port, x in sorted(have.items()) if port not in want]
    changes: list[Action] = []
    for port, (protocol, tg, cert, policy, alpn) in sorted(want.items()):
        found = have.get(port)
        if found is None:
            changes.append(CreateNlbListener(lb_ref, port, protocol, tg, desired.tags, cert,
                                             policy, alpn))
        elif (found.protocol, found.target_group_arn, found.certificate, found.ssl_policy,
              found.alpn) != (protocol, tg, cert, policy, alpn):
            changes.append(ModifyNlbListener(found.arn, port, protocol, tg, cert, policy, alpn))
    return stale, changes


def _target_actions(
    desired: DesiredNetworkLB, have: dict[str, ObservedTargetGroup], arns: dict[str, str]
) -> list[Action]:
    actions: list[Action] = []
    for spec in desired.target_groups:
        current = have[spec.name].targets if spec.name in have else frozenset()
        register = tuple(sorted(desired.instances - current))
        deregister = tuple(sorted(current - desired.instances))
        if register:
            actions.append(RegisterTargets(arns[spec.name], spec.name, spec.port, register))
        if deregister:
            actions.append(DeregisterTargets(arns[spec.name], spec.name, spec.port, deregister))
    return actions


def plan_nlb_ensure(desired: DesiredNetworkLB, observed: Observed, cluster: str) -> Plan:
    refusal = _refusal(desired, observed, cluster)
    if refusal:
        return Plan(refusal=refusal)
    lb = observed.network_lb
    front: list[Action] = []
    back: list[Action] = []
    frontend = backend = None
    if lb is None or lb.security_groups:  # one made without them cannot take any
        front, frontend, refusal = frontend_actions(desired, observed, cluster)
        if refusal:
            return Plan(refusal=refusal)
        back, backend = backend_actions(desired, observed, cluster)
    groups = tuple(g for g in (frontend, *desired.user_groups, backend) if g)
    have = {tg.name: tg for tg in observed.target_groups}
    actions: list[Action] = [*back, *front]
    tg_actions, arns = _target_group_actions(desired, have)
    actions += tg_actions
    warnings: list[str] = []
    if lb is None:
        actions.append(CreateNetworkLoadBalancer(desired.name, desired.internal,
                                                 desired.subnets, groups, nlb_tags(desired),
                                                 desired.subnet_mappings))
    else:
        updates, warnings = update_actions(desired, lb, groups)
        actions += updates
    if (lb.attributes if lb else DEFAULT_NLB_ATTRIBUTES) != desired.attributes:
        actions.append(ModifyNetworkLoadBalancerAttributes(
            lb.arn if lb else NLB_REF, desired.name, desired.attributes))
    stale, missing = _listener_actions(desired, lb, lb.arn if lb else NLB_REF, arns)
    actions += stale + missing
    wanted = {spec.name for spec in desired.target_groups}
    actions += [DeleteTargetGroup(tg.arn, tg.name) for tg in observed.target_groups
                if tg.name not in wanted]
    actions += _target_actions(desired, have, arns)
    return Plan(tuple(actions), warnings=tuple(warnings))

