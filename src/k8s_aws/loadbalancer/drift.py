"""Has a load balancer drifted from what the controller last left it as? (pure)

Compared on what the whole-fleet describes return (no per-LB attribute reads); a drifted
Service is re-observed in full and re-planned.
"""

from __future__ import annotations

from k8s_aws.model.loadbalancer import ObservedGroup, ObservedLoadBalancer
from k8s_aws.model.nlb import ObservedNetworkLB, ObservedTargetGroup


def load_balancer_drifted(known: ObservedLoadBalancer, actual: ObservedLoadBalancer | None) -> bool:
    if actual is None:
        return True
    return (
        known.internal != actual.internal
        or set(known.subnets) != set(actual.subnets)
        or set(known.security_groups) != set(actual.security_groups)
        or known.listeners != actual.listeners
        or known.health_check != actual.health_check
        or dict(known.tags) != dict(actual.tags)
        or known.instances != actual.instances
        or not known.policies <= actual.policies
        or dict(known.backend_policies) != dict(actual.backend_policies)
        or dict(known.listener_policies) != dict(actual.listener_policies)
    )


def group_drifted(known: ObservedGroup | None, actual: ObservedGroup | None) -> bool:
    if known is None:
        return False
    return actual is None or known.rules != actual.rules


def network_lb_drifted(
    known: ObservedNetworkLB, groups: tuple[ObservedTargetGroup, ...],
    actual: tuple[ObservedNetworkLB, tuple[ObservedTargetGroup, ...]] | None,
) -> bool:
    """On the fleet summaries: the NLB, its placement and groups, and which target groups
    (with their health checks) its listeners still use."""
    if actual is None:
        return True
    lb, attached = actual
    return (
        known.internal != lb.internal
        or set(known.subnets) != set(lb.subnets)
        or set(known.security_groups) != set(lb.security_groups)
        or {(g.arn, g.health_check) for g in groups}
        != {(g.arn, g.health_check) for g in attached}
    )
