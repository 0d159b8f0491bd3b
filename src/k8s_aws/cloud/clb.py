"""The Classic ELB family: its actions (registered in `cloud.lb_registry` on import) and the
applier that runs a plan through them.

Applying runs the plan's actions in order, tolerating the duplicates a crash between a call
and its bookkeeping leaves behind, and returns what AWS gave back (`Applied`); the
controller derives the new snapshot from the actions' effects (`simulate`) and caches it.
"""

from __future__ import annotations

from typing import Any

from k8s_aws.cloud import (
    clb_actions,
    clb_group_actions,
    lb_registry,
    nlb_actions,
    nlb_update_actions,
)
from k8s_aws.cloud.clb_group_actions import GroupInUse
from k8s_aws.cloud.lb_registry import REGISTRY, Applied, Context, simulate
from k8s_aws.cloud.runner import Runner
from k8s_aws.model.lb_actions import Plan

__all__ = ["REGISTRY", "Applied", "GroupInUse", "LoadBalancerApplier", "simulate"]
FAMILY_MODULES = (clb_actions, clb_group_actions, nlb_actions, nlb_update_actions)


class LoadBalancerApplier:
    def __init__(self, elb: Any, ec2: Any, run: Runner, cluster: str, elbv2: Any = None) -> None:
        self._elb = elb
        self._elbv2 = elbv2
        self._ec2 = ec2
        self._run = run
        self._cluster = cluster

    async def apply(self, plan: Plan, vpc_id: str) -> Applied:
        """Run the plan's actions in order; returns the ids AWS gave back."""
        context = Context(self._elb, self._ec2, self._run, self._cluster, vpc_id,
                          elbv2=self._elbv2)
        return await lb_registry.apply(context, plan)
