"""The Classic ELB family: its actions (registered in `cloud.lb_registry` on import) and the
applier that runs a plan through them.

Applying runs the plan's actions in order, tolerating the duplicates a crash between a call
and its bookkeeping leaves behind, and returns what AWS gave back (`Applied`); the
controller derives the new snapshot from the actions' effects (`simulate`) and caches it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from k8s_aws.cloud import clb_actions, clb_group_actions, lb_registry, nlb_actions
from k8s_aws.cloud.clb_group_actions import GroupInUse
from k8s_aws.cloud.lb_registry import REGISTRY, Applied, Context, simulate
from k8s_aws.cloud.runner import Runner
from k8s_aws.model.lb_actions import Plan

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_elb import ElasticLoadBalancingClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

__all__ = ["REGISTRY", "Applied", "GroupInUse", "LoadBalancerApplier", "simulate"]
FAMILY_MODULES = (clb_actions, clb_group_actions, nlb_actions)


class LoadBalancerApplier:
    def __init__(self, elb: ElasticLoadBalancingClient, ec2: EC2Client, run: Runner, cluster: str,
                 elbv2: ElasticLoadBalancingv2Client) -> None:
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
