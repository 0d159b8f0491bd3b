"""Target health as an NLB reports it: `initial` after registration, then `healthy` or
`unhealthy` once the health check has had its say.

moto answers `healthy` for every registered target at once, whatever the check, so a
check that can never pass goes unnoticed. AWS gives a new target `initial`
(Elb.InitialHealthChecking) for healthy-threshold x interval seconds, then the check's
verdict. The sandbox's nodes run kube-proxy, which answers its own port (10256 `/healthz`)
and the healthCheckNodePort; a NodePort answers TCP only if the Service has a TCP port on
it. So a check on the traffic port of a UDP-only target group fails, and any other fails
nowhere. AWS also takes only TCP, HTTP and HTTPS health checks on a Network LB's target
groups; moto takes any (it does check a UDP, TCP_UDP or TLS group over TCP unless told
otherwise, as AWS does).
"""

from __future__ import annotations

import itertools
from typing import Any

from k8s_aws_sandbox.fidelity import moto_state
from k8s_aws_sandbox.fidelity.behaviour import Behaviour, Call
from k8s_aws_sandbox.fidelity.loadbalancers import _target_ids  # the one reader of Targets.member.N
from k8s_aws_sandbox.fidelity.responses import Refusal, Reply

CHECK_PROTOCOLS = ("TCP", "HTTP", "HTTPS")
INITIAL = ("initial", "Elb.InitialHealthChecking", "Initial health checks in progress")
HEALTHY = ("healthy", None, None)
UNHEALTHY = ("unhealthy", "Target.FailedHealthChecks", "Health checks failed")


def check_can_pass(group_protocol: str, group_port: str, check_port: str) -> bool:
    """Can a node answer this check? Not on the traffic port of a UDP-only group: nothing
    answers TCP or HTTP on a NodePort that carries only UDP."""
    on_traffic_port = check_port in ("traffic-port", "", str(group_port))
    return not (on_traffic_port and group_protocol == "UDP")


def health_verdict(group: Any) -> tuple[str, str | None, str | None]:
    passes = check_can_pass(str(group.protocol), str(group.port),
                            str(group.health_check_port or ""))
    return HEALTHY if passes else UNHEALTHY


def checking_time(group: Any, cap: float) -> float:
    """AWS: healthy threshold x interval; the fidelity delay caps it so tests stay fast."""
    threshold = int(group.healthy_threshold_count or 3)
    return min(cap, threshold * float(group.health_check_interval_seconds or 30))


class TargetHealth(Behaviour):
    def __init__(self) -> None:
        self._tokens = itertools.count(1)

    def before(self, call: Call) -> Refusal | None:
        request = call.request
        if (request.service != "elbv2" or not call.on.target_health
                or request.action not in ("CreateTargetGroup", "ModifyTargetGroup")):
            return None
        protocol = request.param("HealthCheckProtocol")
        if protocol and protocol not in CHECK_PROTOCOLS:
            return Refusal("ValidationError", f"Health check protocol '{protocol}' is not "
                           f"supported; use one of {', '.join(CHECK_PROTOCOLS)}")
        return None

    def after(self, call: Call, reply: Reply) -> Reply:
        request = call.request
        if request.service != "elbv2" or not reply.ok or not call.on.target_health:
            return reply
        if request.action not in ("RegisterTargets", "ModifyTargetGroup"):
            return reply
        group = call.backends.elbv2.target_groups.get(request.param("TargetGroupArn"))
        if group is None:
            return reply
        if request.action == "RegisterTargets":
            self._check(call, group, _target_ids(call), initial=True)
        elif request.action == "ModifyTargetGroup":
            self._check(call, group, list(group.targets), initial=False)
        return reply

    def _check(self, call: Call, group: Any, targets: list[str], initial: bool) -> None:
        """Targets start (or stay) as they are and get the check's verdict later."""
        health: dict[str, tuple[str, str | None, str | None]] = (
            moto_state.override(group, "health") or {})
        moto_state.set_override(group, "health", health)
        token = next(self._tokens)
        tokens: dict[str, int] = moto_state.override(group, "health_tokens") or {}
        moto_state.set_override(group, "health_tokens", tokens)
        for target in targets:
            if initial or target not in health:
                health[target] = INITIAL
            tokens[target] = token

        def verdict() -> None:
            for target in targets:
                if tokens.get(target) == token and target in group.targets:
                    health[target] = health_verdict(group)

        call.later(checking_time(group, call.config.delays.target_health), verdict,
                   f"health of {len(targets)} target(s) in {group.name}")

