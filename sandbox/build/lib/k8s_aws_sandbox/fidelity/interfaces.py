"""Load balancer network interfaces, as AWS keeps them: one per subnet, carrying the load
balancer's security groups, and lingering for a while after the load balancer is deleted.

They are real interfaces in the emulator (DescribeNetworkInterfaces lists them, described
`ELB <name>` or `ELB net/<name>/<id>`), so the security group rule "in use by an interface"
covers them: deleting a load balancer's security group right after the load balancer fails
with DependencyViolation until they are gone, as on AWS.
"""

from __future__ import annotations

import logging

from k8s_aws_sandbox.fidelity import moto_state
from k8s_aws_sandbox.fidelity.behaviour import Behaviour, Call
from k8s_aws_sandbox.fidelity.responses import Reply

log = logging.getLogger(__name__)
# (account, region, load balancer key) -> subnet id -> interface id
Placements = dict[tuple[str, str, str], dict[str, str]]


class LoadBalancerInterfaces(Behaviour):
    def __init__(self) -> None:
        self.interfaces: Placements = {}

    def reset(self) -> None:
        self.interfaces.clear()

    def after(self, call: Call, reply: Reply) -> Reply:
        request = call.request
        if (
            request.service in ("elb", "elbv2")
            and request.mutating
            and reply.ok
            and call.on.lingering_interfaces
        ):
            self.sync(call)
        return reply

    def sync(self, call: Call) -> None:
        """Make the interfaces match every load balancer's subnets and security groups."""
        ec2 = call.backends.ec2
        account, region = call.scope
        wanted = moto_state.load_balancer_placements(call.backends)
        for key, (description, subnets, groups) in wanted.items():
            current = self.interfaces.setdefault((account, region, key), {})
            for subnet in subnets:
                if subnet not in current:
                    try:
                        current[subnet] = moto_state.create_interface(ec2, subnet, groups,
                                                                      description)
                    except Exception:  # a subnet the emulator does not know: no interface
                        log.warning("no interface for %s in %s", key, subnet, exc_info=True)
            for subnet, eni in list(current.items()):
                if subnet in subnets:
                    moto_state.set_interface_groups(ec2, eni, groups)
                else:
                    self._linger(call, current.pop(subnet))
        for placed in [k for k in self.interfaces if k[:2] == (account, region)]:
            if placed[2] not in wanted:
                for eni in self.interfaces.pop(placed).values():
                    self._linger(call, eni)

    @staticmethod
    def _linger(call: Call, eni: str) -> None:
        ec2 = call.backends.ec2
        call.later(call.config.delays.interface_linger,
                   lambda: moto_state.delete_interface(ec2, eni), f"{eni} released")
