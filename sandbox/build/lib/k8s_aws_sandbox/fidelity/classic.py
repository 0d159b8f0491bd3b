"""Classic ELB descriptions as AWS gives them, where the emulator leaves fields out.

A new Classic ELB has a health check before anyone configures one: AWS describes it with
target `TCP:<instance port of the first listener>`, interval 30 s, timeout 5 s, healthy
threshold 10, unhealthy threshold 2 (the emulator omits it; the reference cloud provider
dereferences it). A Classic ELB in a VPC lists the zones of its subnets under
`AvailabilityZones` (the emulator leaves the list empty unless zones were given).
"""

from __future__ import annotations

from typing import Any

from moto.elb.models import FakeHealthCheck

from k8s_aws_sandbox.fidelity.behaviour import Behaviour, Call
from k8s_aws_sandbox.fidelity.responses import Reply

DEFAULT_INTERVAL = "30"
DEFAULT_TIMEOUT = "5"
DEFAULT_HEALTHY_THRESHOLD = "10"
DEFAULT_UNHEALTHY_THRESHOLD = "2"


def default_health_check(instance_port: str) -> Any:
    return FakeHealthCheck(
        timeout=DEFAULT_TIMEOUT, healthy_threshold=DEFAULT_HEALTHY_THRESHOLD,
        unhealthy_threshold=DEFAULT_UNHEALTHY_THRESHOLD, interval=DEFAULT_INTERVAL,
        target=f"TCP:{instance_port}",
    )


class ClassicDescriptions(Behaviour):
    def after(self, call: Call, reply: Reply) -> Reply:
        request = call.request
        if request.service != "elb" or not request.mutating or not reply.ok:
            return reply
        if not call.on.classic_descriptions:
            return reply
        balancer = call.backends.elb.load_balancers.get(request.param("LoadBalancerName"))
        if balancer is None:
            return reply
        fresh = request.action == "CreateLoadBalancer" and balancer.health_check is None
        if fresh and balancer.listeners:
            balancer.health_check = default_health_check(balancer.listeners[0].instance_port)
        if balancer.subnets:
            balancer.availability_zones = _subnet_zones(call.backends.ec2, balancer.subnets)
        return reply


def _subnet_zones(ec2: Any, subnet_ids: list[str]) -> list[str]:
    zones = set()
    for subnet_id in subnet_ids:
        try:
            zones.add(ec2.get_subnet(subnet_id).availability_zone)
        except Exception:  # a subnet the emulator no longer knows: no zone to list
            continue
    return sorted(zones)
