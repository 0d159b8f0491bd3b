"""A deletion plan in two stages around the release of the load balancers' interfaces (pure).

AWS keeps a deleted load balancer's network interfaces for minutes, and a security group they
carry cannot be deleted before they go. So a plan that deletes a load balancer and then groups
is cut in two: `now` (the load balancers) and `after_release` (their target groups, the group
deletions and the node rules revoked between them), to run once no interface carries `groups`
any more. A target group stays in use until its NLB is quite gone (DeleteTargetGroup right
after DeleteLoadBalancer is mostly answered ResourceInUse), and the interfaces outlive that,
so after the wait it goes at the first try. Nothing is remembered but in memory: after a
crash the next replica observes afresh and plans again.
"""

from __future__ import annotations

from dataclasses import dataclass

from k8s_aws.model.lb_actions import DeleteGroup, Plan
from k8s_aws.model.nlb_actions import DeleteTargetGroup

LB_DELETIONS = frozenset({"DeleteLoadBalancer", "DeleteNetworkLoadBalancer"})


@dataclass(frozen=True)
class StagedDeletion:
    now: Plan
    after_release: Plan
    groups: tuple[str, ...]  # the groups whose interfaces must be gone first
    touches_backend: bool  # the second stage deletes the cluster's backend group


def stage_deletion(plan: Plan, backend_group: str | None) -> StagedDeletion | None:
    """The two stages, or None when there is nothing to wait for: no load balancer deleted
    by this plan (its interfaces, if any linger, make the group deletion fail and retry),
    or no group deleted after it."""
    actions = plan.actions
    first_group = next((i for i, a in enumerate(actions) if isinstance(a, DeleteGroup)), None)
    if first_group is None or not any(a.op in LB_DELETIONS for a in actions[:first_group]):
        return None
    cut = next(i for i, a in enumerate(actions)
               if isinstance(a, (DeleteGroup, DeleteTargetGroup))
               and any(b.op in LB_DELETIONS for b in actions[:i]))
    later = actions[cut:]
    groups = tuple(a.group for a in later if isinstance(a, DeleteGroup))
    return StagedDeletion(
        now=Plan(actions[:cut], warnings=plan.warnings),
        after_release=Plan(later),
        groups=groups,
        touches_backend=backend_group is not None and backend_group in groups,
    )
