"""(desired NLB, observed) -> the ordered actions that make AWS match (pure).

Creation order: backend and frontend groups, target groups, the NLB (with its security
groups: AWS takes them only at creation), listeners, targets. Target groups no listener
wants go after their listeners. Deletion is `plan.plan_delete` (the NLB, then its groups).
"""

from __future__ import annotations

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
    """(stale listener deletions, missing listener creations)."""
    have = {(x.port, x.protocol, x.target_group_arn, x.certificate, x.ssl_policy, x.alpn): x
            for x in (lb.listeners if lb else ())}
    want = {(x.port, x.protocol, arns[x.target_group], x.certificate, x.ssl_policy, x.alpn)
            for x in desired.listeners}
    stale: list[Action] = [DeleteNlbListener(x.arn, x.port)
                           for key, x in sorted(have.items()) if key not in want]
    missing: list[Action] = [
        CreateNlbListener(lb_ref, port, protocol, tg, desired.tags, cert, policy, alpn)
        for port, protocol, tg, cert, policy, alpn in sorted(want - have.keys())
    ]
    return stale, missing


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
                                                 desired.subnets, groups, desired.tags,
                                                 desired.subnet_mappings))
    else:
        warnings += _unchangeable(desired, lb, groups)
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


def _unchangeable(
    desired: DesiredNetworkLB, lb: ObservedNetworkLB, groups: tuple[str, ...]
) -> list[str]:
    """What k8s-aws does not change on an existing NLB yet: said, never silently skipped."""
    warnings = []
    if not lb.security_groups:
        warnings.append(f"load balancer {lb.name} was created without security groups (AWS "
                        "cannot add them later): it is adopted as is, and the rules that "
                        "admit it to the nodes are left as they are")
    elif set(lb.security_groups) != set(groups):
        warnings.append(f"load balancer {lb.name} has security groups "
                        f"{', '.join(sorted(lb.security_groups))}; changing an NLB's security "
                        "groups is not supported by k8s-aws yet: kept")
    if set(lb.subnets) != set(desired.subnets):
        warnings.append(f"load balancer {lb.name} keeps its subnets "
                        f"{', '.join(lb.subnets)}; moving an NLB to other subnets is not "
                        "supported by k8s-aws yet")
    have_tags = dict(lb.tags)
    if any(have_tags.get(k) != v for k, v in desired.tags):
        warnings.append(f"load balancer {lb.name}: changed additional-resource-tags are not "
                        "applied to an existing NLB yet")
    return warnings
