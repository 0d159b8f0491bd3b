"""ELBv2 refusals AWS makes and the emulator does not.

- A target group serves one load balancer: a listener of another load balancer forwarding
  to it is refused with TargetGroupAssociationLimit (moto attaches it to both).
- DeleteLoadBalancer returns before the load balancer is gone: for a while its listeners
  still use its target groups, and DeleteTargetGroup answers ResourceInUse (moto frees
  them at once and, unlike AWS, keeps listing the deleted load balancer in the groups'
  LoadBalancerArns for ever; here it leaves them once the deletion is over).
"""

from __future__ import annotations

import re

from k8s_aws_sandbox.fidelity import moto_state
from k8s_aws_sandbox.fidelity.behaviour import Behaviour, Call
from k8s_aws_sandbox.fidelity.responses import Refusal, Reply

_FORWARDS_TO = re.compile(r"^DefaultActions\.member\.\d+\.(ForwardConfig\.TargetGroups\."
                          r"member\.\d+\.)?TargetGroupArn$")


class Elbv2Codes(Behaviour):
    def __init__(self) -> None:
        # (account, region, target group ARN) -> emulator time its old listener is gone
        self.in_use: dict[tuple[str, str, str], float] = {}

    def reset(self) -> None:
        self.in_use.clear()

    def before(self, call: Call) -> Refusal | None:
        request = call.request
        if request.service != "elbv2" or not call.on.elbv2_error_codes:
            return None
        if request.action in ("CreateListener", "ModifyListener"):
            return _association_limit(call)
        if request.action == "DeleteTargetGroup":
            arn = request.param("TargetGroupArn")
            if self.in_use.get((*call.scope, arn), 0.0) > call.now:
                return Refusal("ResourceInUse", f"Target group '{arn}' is currently in use by "
                               "a listener or a rule")
        if request.action == "DeleteLoadBalancer":
            balancer = call.backends.elbv2.load_balancers.get(request.param("LoadBalancerArn"))
            call.notes["served"] = (moto_state.served_target_groups(balancer)
                                    if balancer is not None else set())
        return None

    def after(self, call: Call, reply: Reply) -> Reply:
        request = call.request
        if (request.service != "elbv2" or request.action != "DeleteLoadBalancer"
                or not reply.ok or not call.on.elbv2_error_codes):
            return reply
        arn, elbv2 = request.param("LoadBalancerArn"), call.backends.elbv2
        delay = call.config.delays.load_balancer_deletion
        for group_arn in call.notes.get("served", set()):
            self.in_use[(*call.scope, group_arn)] = call.now + delay

        def gone() -> None:
            for group in elbv2.target_groups.values():
                if arn in group.load_balancer_arns:
                    group.load_balancer_arns = [a for a in group.load_balancer_arns if a != arn]

        call.later(delay, gone, f"{arn} deleted")
        return reply


def _association_limit(call: Call) -> Refusal | None:
    request, elbv2 = call.request, call.backends.elbv2
    balancer_arn = request.param("LoadBalancerArn")
    if request.action == "ModifyListener":
        balancer_arn = next((lb.arn for lb in elbv2.load_balancers.values()
                             if request.param("ListenerArn") in lb.listeners), "")
    wanted = {v for k, v in request.params.items() if _FORWARDS_TO.match(k)}
    taken = sorted(
        arn for arn in wanted
        if (group := elbv2.target_groups.get(arn)) is not None and any(
            other != balancer_arn and other in elbv2.load_balancers
            for other in group.load_balancer_arns)
    )
    if not taken:
        return None
    return Refusal("TargetGroupAssociationLimit", "The following target groups cannot be "
                   f"associated with more than one load balancer: {', '.join(taken)}")
