"""The Network LB family's actions: plain data, printable as JSON (`k8s-aws plan`).

References: `$nlb` stands for the NLB created earlier in the same plan and `$tg:<name>` for a
target group created earlier; the applier resolves them to the ARNs AWS gave back.
"""

from __future__ import annotations

from dataclasses import dataclass

from k8s_aws.model.lb_actions import Action
from k8s_aws.model.nlb import TargetHealthCheck

NLB_REF = "$nlb"


def target_group_ref(name: str) -> str:
    return f"$tg:{name}"


@dataclass(frozen=True)
class CreateTargetGroup(Action):
    name: str
    protocol: str
    port: int
    health_check: TargetHealthCheck
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ModifyTargetGroupHealthCheck(Action):
    target_group: str  # ARN
    name: str
    health_check: TargetHealthCheck


@dataclass(frozen=True)
class ModifyTargetGroupAttributes(Action):
    target_group: str  # ARN or $tg:<name>
    name: str
    attributes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ModifyNetworkLoadBalancerAttributes(Action):
    load_balancer: str  # ARN or $nlb
    name: str
    attributes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class CreateNetworkLoadBalancer(Action):
    name: str
    internal: bool
    subnets: tuple[str, ...]
    groups: tuple[str, ...]
    tags: tuple[tuple[str, str], ...]
    mappings: tuple[tuple[str, str, str], ...] = ()  # (subnet, EIP allocation, private IP)


@dataclass(frozen=True)
class CreateNlbListener(Action):
    load_balancer: str  # ARN or $nlb
    port: int
    protocol: str
    target_group: str  # ARN or $tg:<name>
    tags: tuple[tuple[str, str], ...]  # the load balancer's: a listener is deleted by them
    certificate: str = ""  # TLS only, as the next two
    ssl_policy: str = ""
    alpn: str = ""


@dataclass(frozen=True)
class DeleteNlbListener(Action):
    listener: str  # ARN
    port: int


@dataclass(frozen=True)
class RegisterTargets(Action):
    target_group: str  # ARN or $tg:<name>
    name: str
    port: int
    instances: tuple[str, ...]


@dataclass(frozen=True)
class DeregisterTargets(Action):
    target_group: str  # ARN
    name: str
    port: int
    instances: tuple[str, ...]


@dataclass(frozen=True)
class DeleteNetworkLoadBalancer(Action):
    load_balancer: str  # ARN
    name: str


@dataclass(frozen=True)
class DeleteTargetGroup(Action):
    target_group: str  # ARN
    name: str


# -- changes to an existing NLB (AWS takes them in place) -----------------------------------
@dataclass(frozen=True)
class SetNlbSecurityGroups(Action):
    load_balancer: str  # ARN
    name: str
    groups: tuple[str, ...]  # ids or refs of groups created earlier in the plan


@dataclass(frozen=True)
class SetNlbSubnets(Action):
    load_balancer: str  # ARN
    name: str
    subnets: tuple[str, ...]


@dataclass(frozen=True)
class AddNlbTags(Action):
    load_balancer: str  # ARN
    name: str
    tags: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class RemoveNlbTags(Action):
    load_balancer: str  # ARN
    name: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class ModifyNlbListener(Action):
    """A listener on the same port with another protocol, target group, certificate, policy
    or ALPN: changed in place, so the port never stops listening."""

    listener: str  # ARN
    port: int
    protocol: str
    target_group: str  # ARN or $tg:<name>
    certificate: str = ""
    ssl_policy: str = ""
    alpn: str = ""
