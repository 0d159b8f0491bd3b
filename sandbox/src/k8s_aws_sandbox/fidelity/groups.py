"""Security groups as AWS guards them: no deleting a group something still uses, no
deleting a VPC's default group, and a quota of rules per group."""

from __future__ import annotations

from k8s_aws_sandbox.fidelity import moto_state, network_rules
from k8s_aws_sandbox.fidelity.behaviour import Behaviour, Call
from k8s_aws_sandbox.fidelity.responses import Refusal, Reply

_AUTHORIZE = {"AuthorizeSecurityGroupIngress": False, "AuthorizeSecurityGroupEgress": True}


class SecurityGroups(Behaviour):
    def before(self, call: Call) -> Refusal | Reply | None:
        request = call.request
        if request.service != "ec2":
            return None
        if request.action == "DeleteSecurityGroup" and call.on.security_group_dependencies:
            ec2 = call.backends.ec2
            group = moto_state.find_group(ec2, request.param("GroupId"),
                                          request.param("GroupName"))
            if group is None:
                return None  # the emulator answers InvalidGroup.NotFound
            return network_rules.delete_group_refusal(
                group.id, group.name, bool(group.is_default) or group.name == "default",
                moto_state.group_dependents(ec2, group.id),
            )
        if request.action in _AUTHORIZE and call.on.rules_per_group:
            group = moto_state.find_group(call.backends.ec2, request.param("GroupId"),
                                          request.param("GroupName"))
            if group is None:
                return None
            return network_rules.rule_limit_refusal(
                moto_state.rule_counts(group, egress=_AUTHORIZE[request.action]),
                network_rules.requested_rules(request.params),
                call.config.limits.rules_per_group,
            )
        return None
