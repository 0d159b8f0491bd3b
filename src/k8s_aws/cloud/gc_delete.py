"""`k8s-aws gc --delete`'s I/O: one delete per leaked resource, in the planner's order. A
security group or target group still in use right after its load balancer went (AWS keeps the
load balancer's network interfaces a while: DependencyViolation, ResourceInUse) is retried
until the deadline; a resource already gone counts as deleted."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from k8s_aws.cloud.clb_wire import permissions_of
from k8s_aws.cloud.errors import CloudError, Conflict, NotFound
from k8s_aws.cloud.operator_session import call
from k8s_aws.model.gc import Found, Kind
from k8s_aws.model.loadbalancer import backend_rule

RETRIED = frozenset({"DependencyViolation", "ResourceInUse", "IncorrectState"})


@dataclass(frozen=True)
class Deleted:
    found: Found
    outcome: str  # "deleted", "already gone", or the error


Deleter = tuple[str, str, Callable[[Found], Any]]


def _deleters(ec2: Any, elb: Any, elbv2: Any, cluster: str) -> dict[Kind, Deleter]:
    def revoke(f: Found) -> Any:
        """The rule exactly as the controllers wrote it: source group and description."""
        permissions = permissions_of((backend_rule(f.id, cluster),))
        return ec2.revoke_security_group_ingress(GroupId=f.group, IpPermissions=permissions)

    return {
        Kind.NODE_RULE: ("ec2", "RevokeSecurityGroupIngress", revoke),
        Kind.CLASSIC_LB: ("elb", "DeleteLoadBalancer",
                          lambda f: elb.delete_load_balancer(LoadBalancerName=f.id)),
        Kind.NETWORK_LB: ("elbv2", "DeleteLoadBalancer",
                          lambda f: elbv2.delete_load_balancer(LoadBalancerArn=f.id)),
        Kind.TARGET_GROUP: ("elbv2", "DeleteTargetGroup",
                            lambda f: elbv2.delete_target_group(TargetGroupArn=f.id)),
        Kind.SECURITY_GROUP: ("ec2", "DeleteSecurityGroup",
                              lambda f: ec2.delete_security_group(GroupId=f.id)),
        Kind.VOLUME: ("ec2", "DeleteVolume", lambda f: ec2.delete_volume(VolumeId=f.id)),
        Kind.SNAPSHOT: ("ec2", "DeleteSnapshot",
                        lambda f: ec2.delete_snapshot(SnapshotId=f.id)),
    }


def _referencing(ec2: Any, item: Found) -> tuple[str, ...]:
    """Groups whose rules name this one: waiting will not free it (only its network
    interfaces go away by themselves)."""
    if item.kind is not Kind.SECURITY_GROUP:
        return ()
    wanted = [{"Name": "ip-permission.group-id", "Values": [item.id]}]
    groups = call("ec2", "DescribeSecurityGroups",
                  lambda: ec2.describe_security_groups(Filters=wanted)["SecurityGroups"])
    return tuple(sorted(g["GroupId"] for g in groups if g["GroupId"] != item.id))


def _delete_one(ec2: Any, deleter: Deleter, item: Found, deadline: float,
                clock: Callable[[], float], sleep: Callable[[float], None]) -> str:
    service, operation, delete = deleter
    delay = 0.5
    while True:
        try:
            call(service, operation, functools.partial(delete, item))
            return "deleted"
        except NotFound:
            return "already gone"
        except Conflict as exc:
            blockers = _referencing(ec2, item) if exc.code == "DependencyViolation" else ()
            if blockers:
                return f"failed: rules in {', '.join(blockers)} reference it: remove them"
            if exc.code not in RETRIED or clock() + delay >= deadline:
                return f"failed: {exc}"
            sleep(delay)
            delay = min(delay * 2, 10.0)
        except CloudError as exc:
            return f"failed: {exc}"


def delete_all(ec2: Any, elb: Any, elbv2: Any, cluster: str, found: list[Found], wait: float,
               report: Callable[[Deleted], None], clock: Callable[[], float] = time.monotonic,
               sleep: Callable[[float], None] = time.sleep) -> list[Deleted]:
    """Each in order; one failure does not stop the rest (they are reported, exit 1)."""
    deleters = _deleters(ec2, elb, elbv2, cluster)
    deadline = clock() + wait
    results = []
    for item in found:
        result = Deleted(item, _delete_one(ec2, deleters[item.kind], item, deadline, clock,
                                           sleep))
        report(result)
        results.append(result)
    return results
