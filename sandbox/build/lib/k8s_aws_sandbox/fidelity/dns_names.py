"""Load balancer DNS names as AWS forms them, in the region the load balancer lives in.

AWS: a Classic ELB is `<name>-<digits>.<region>.elb.amazonaws.com`, an Application LB the
same, both with `internal-` in front when internal; a Network LB is
`<name>-<hex>.elb.<region>.amazonaws.com`. moto names every Classic ELB
`<name>.us-east-1.elb.amazonaws.com` whatever its region, and every ELBv2 load balancer
`<name>-1.<region>.elb.amazonaws.com`. The suffix is derived from the resource, so the same
load balancer always has the same name.
"""

from __future__ import annotations

import hashlib
from typing import Any

from k8s_aws_sandbox.fidelity.behaviour import Behaviour, Call
from k8s_aws_sandbox.fidelity.responses import Reply, set_text


def _digest(identity: str) -> str:
    return hashlib.sha256(identity.encode()).hexdigest()


def classic_dns_name(name: str, region: str, internal: bool, identity: str) -> str:
    digits = str(int(_digest(identity), 16))[:10]
    return f"{'internal-' if internal else ''}{name}-{digits}.{region}.elb.amazonaws.com"


def elbv2_dns_name(name: str, region: str, kind: str, internal: bool, identity: str) -> str:
    if kind == "network":
        return f"{name}-{_digest(identity)[:16]}.elb.{region}.amazonaws.com"
    return classic_dns_name(name, region, internal, identity)


class RegionalDnsNames(Behaviour):
    """Placed before the idempotent-create records, so a replay answers the same name."""

    def after(self, call: Call, reply: Reply) -> Reply:
        request = call.request
        if (request.action != "CreateLoadBalancer" or not reply.ok
                or not call.on.regional_dns_names):
            return reply
        region = call.backends.region
        if request.service == "elb":
            balancer = call.backends.elb.load_balancers.get(request.param("LoadBalancerName"))
            moto_name = f"{request.param('LoadBalancerName')}.us-east-1.elb.amazonaws.com"
            if balancer is None or balancer.dns_name != moto_name:
                return reply
            balancer.dns_name = classic_dns_name(
                balancer.name, region, balancer.scheme == "internal",
                f"{call.backends.account}/{region}/{balancer.name}/{balancer.created_time}")
            return reply.with_body(set_text(reply.body, "DNSName", balancer.dns_name))
        if request.service == "elbv2":
            balancer = _fresh_elbv2(call.backends.elbv2, request.param("Name"), region)
            if balancer is not None:
                balancer.dns_name = elbv2_dns_name(balancer.name, region, balancer.type,
                                                   balancer.scheme == "internal", balancer.arn)
                return reply.with_body(set_text(reply.body, "DNSName", balancer.dns_name))
        return reply


def _fresh_elbv2(elbv2: Any, name: str, region: str) -> Any:
    moto_name = f"{name}-1.{region}.elb.amazonaws.com"
    return next((lb for lb in elbv2.load_balancers.values()
                 if lb.name == name and lb.dns_name == moto_name), None)
