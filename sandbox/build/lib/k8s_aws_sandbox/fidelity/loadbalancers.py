"""ELBv2 as AWS has it: load balancers `provisioning` before `active`, deregistered targets
`draining`, and creates that are idempotent for the same settings.

AWS documents CreateLoadBalancer, CreateTargetGroup and CreateListener as idempotent: the
same name (listener: load balancer and port) with the same settings answers the existing
resource, with different settings DuplicateLoadBalancerName / DuplicateTargetGroupName /
DuplicateListener. The emulator creates a second load balancer and listener instead.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable
from typing import Any

from k8s_aws_sandbox.fidelity import moto_state
from k8s_aws_sandbox.fidelity.behaviour import Behaviour, Call
from k8s_aws_sandbox.fidelity.replays import Record, Replays, fingerprint
from k8s_aws_sandbox.fidelity.responses import Refusal, Reply, set_text

_CREATES = ("CreateLoadBalancer", "CreateTargetGroup", "CreateListener")


class LoadBalancers(Behaviour):
    def __init__(self) -> None:
        self.creates = Replays()
        self._tokens = itertools.count(1)

    def reset(self) -> None:
        self.creates.clear()

    def before(self, call: Call) -> Refusal | Reply | None:
        request = call.request
        if request.service == "elbv2" and request.action == "SetSecurityGroups":
            return _groups_at_creation(call)
        if request.service != "elbv2" or request.action not in _CREATES:
            return None
        call.notes["existing"] = set(_resources(call, request.action))
        if not call.on.elbv2_idempotency:
            return None
        key = _create_key(call)
        record = self.creates.get(key)
        if record is not None and record.resource not in _resources(call, request.action):
            self.creates.forget(key)
            record = None
        if record is not None and record.fingerprint == _fingerprint(call):
            return _current(call, record)
        if record is not None or _taken(call):
            return _duplicate(call)
        return None

    def after(self, call: Call, reply: Reply) -> Reply:
        request = call.request
        if request.service != "elbv2" or not reply.ok:
            return reply
        if request.action in _CREATES:
            created = set(_resources(call, request.action)) - call.notes.get("existing", set())
            for arn in created:
                if call.on.elbv2_idempotency:
                    self.creates.remember(_create_key(call), Record(_fingerprint(call), reply, arn))
                if request.action == "CreateLoadBalancer" and call.on.load_balancer_states:
                    _provision(call, call.backends.elbv2.load_balancers[arn])
        elif request.action == "DeleteListener":
            _detach_unused_groups(call)
        elif request.action == "DeregisterTargets" and call.on.target_draining:
            self._drain(call)
        elif request.action == "RegisterTargets":
            group = call.backends.elbv2.target_groups.get(request.param("TargetGroupArn"))
            draining = moto_state.override(group, "draining") if group is not None else None
            for target in _target_ids(call):
                (draining or {}).pop(target, None)
        return reply

    def _drain(self, call: Call) -> None:
        group = call.backends.elbv2.target_groups.get(call.request.param("TargetGroupArn"))
        if group is None:
            return
        configured = float(group.attributes.get("deregistration_delay.timeout_seconds", 300))
        delay = min(call.config.delays.target_deregistration, configured)
        if delay <= 0:
            return
        draining: dict[str, int] = moto_state.override(group, "draining") or {}
        moto_state.set_override(group, "draining", draining)
        for target in _target_ids(call):
            entry = group.deregistered_targets.pop(target, None)
            if entry is None:
                continue
            group.targets[target] = entry  # the health check keeps reporting it, as draining
            if target in draining:
                continue  # deregistered again while draining: the first clock keeps running
            token = draining[target] = next(self._tokens)

            def drained(target: str = target, token: int = token) -> None:
                if draining.get(target) != token:
                    return  # registered again meanwhile
                del draining[target]
                if (gone := group.targets.pop(target, None)) is not None:
                    group.deregistered_targets[target] = gone

            call.later(delay, drained, f"{target} drained from {group.name}")


def _detach_unused_groups(call: Call) -> None:
    """AWS: a target group lists only the load balancers whose listeners still forward to it;
    moto keeps a Network LB's ARN after the listener is deleted."""
    served = {arn: moto_state.served_target_groups(balancer)
              for arn, balancer in call.backends.elbv2.load_balancers.items()
              if getattr(balancer, "type", "") == "network"}
    for group in call.backends.elbv2.target_groups.values():
        group.load_balancer_arns = [arn for arn in group.load_balancer_arns
                                    if arn not in served or group.arn in served[arn]]


def _groups_at_creation(call: Call) -> Refusal | None:
    """AWS: security groups can be set on a Network LB only if it was created with some."""
    balancer = call.backends.elbv2.load_balancers.get(call.request.param("LoadBalancerArn"))
    if (not call.on.nlb_groups_at_creation or balancer is None
            or getattr(balancer, "type", "") != "network"
            or getattr(balancer, "security_groups", None)):
        return None
    return Refusal("InvalidConfigurationRequest", "You cannot set security groups on a Network "
                   "Load Balancer which was created without any security groups.")


def _provision(call: Call, balancer: Any) -> None:
    moto_state.set_override(balancer, "provisioning", True)

    def active() -> None:
        moto_state.clear_override(balancer, "provisioning")
        balancer.state = "active"

    call.later(call.config.delays.load_balancer, active, f"{balancer.name} active")


def _target_ids(call: Call) -> list[str]:
    ids, index = [], 1
    while target := call.request.param(f"Targets.member.{index}.Id"):
        ids.append(target)
        index += 1
    return ids


def _resources(call: Call, action: str) -> list[str]:
    elbv2 = call.backends.elbv2
    if action == "CreateLoadBalancer":
        return list(elbv2.load_balancers)
    if action == "CreateTargetGroup":
        return list(elbv2.target_groups)
    balancer = elbv2.load_balancers.get(call.request.param("LoadBalancerArn"))
    return list(balancer.listeners) if balancer is not None else []


def _create_key(call: Call) -> Hashable:
    request = call.request
    if request.action == "CreateListener":
        name = f"{request.param('LoadBalancerArn')}:{request.param('Port')}"
    else:
        name = request.param("Name")
    return (*call.scope, request.action, name)


def _fingerprint(call: Call) -> str:
    return fingerprint(call.request.params, ignore_prefixes=("Tags.",))


def _taken(call: Call) -> bool:
    """Is the name (or port) used by a resource made without a record (fidelity was off)?"""
    request, elbv2 = call.request, call.backends.elbv2
    if request.action == "CreateLoadBalancer":
        return any(lb.name == request.param("Name") for lb in elbv2.load_balancers.values())
    if request.action == "CreateTargetGroup":
        return any(tg.name == request.param("Name") for tg in elbv2.target_groups.values())
    balancer = elbv2.load_balancers.get(request.param("LoadBalancerArn"))
    port = request.param("Port")
    return balancer is not None and any(
        str(listener.port) == port for listener in balancer.listeners.values()
    )


def _duplicate(call: Call) -> Refusal:
    request = call.request
    if request.action == "CreateLoadBalancer":
        return Refusal("DuplicateLoadBalancerName",
                       "A load balancer with the same name exists, but with different settings")
    if request.action == "CreateTargetGroup":
        return Refusal("DuplicateTargetGroupName",
                       "A target group with the same name exists, but with different settings")
    return Refusal("DuplicateListener", "A listener already exists on this port for this "
                   "load balancer")


def _current(call: Call, record: Record) -> Reply:
    """The first answer again; a load balancer's state as it is now."""
    if call.request.action != "CreateLoadBalancer":
        return record.reply
    balancer = call.backends.elbv2.load_balancers[record.resource]
    return record.reply.with_body(set_text(record.reply.body, "Code", balancer.state))
