"""Everything in the region carrying the cluster tag `owned`, read in whole-region list calls
for `k8s-aws gc`: load balancers, target groups, security groups with our rules on node
groups, volumes and snapshots. Ownership is decided by the planner (ops.gc_plan)."""

from __future__ import annotations

import functools
from typing import Any

from k8s_aws.cloud.operator_session import call, tags_of
from k8s_aws.model.cluster_tag import cluster_tag_key
from k8s_aws.model.gc import Found, Kind, Tags
from k8s_aws.model.loadbalancer import BACKEND_ROLE, BACKEND_ROLE_TAG, NODE_RULE_DESCRIPTION

TAG_BATCH = 20  # DescribeTags takes at most 20 names or ARNs



def _pages(client: Any, service: str, operation: str, method: str, key: str,
           **kwargs: Any) -> list[dict[str, Any]]:
    paginator = client.get_paginator(method)
    return call(service, operation, lambda: [
        item for page in paginator.paginate(**kwargs) for item in page[key]])


def _described_tags(client: Any, service: str, ids: list[str], field: str
                    ) -> dict[str, Tags]:
    tags: dict[str, Tags] = {}
    for start in range(0, len(ids), TAG_BATCH):
        batch = ids[start:start + TAG_BATCH]
        request = functools.partial(client.describe_tags, **{f"{field}s": batch})
        answer = call(service, "DescribeTags", request)["TagDescriptions"]
        tags.update({d[field]: tags_of(d.get("Tags")) for d in answer})
    return tags


def _owned(tags: Tags, key: str) -> bool:
    return dict(tags).get(key) == "owned"


def load_balancers(elb: Any, elbv2: Any, key: str) -> list[Found]:
    classic = _pages(elb, "elb", "DescribeLoadBalancers", "describe_load_balancers",
                     "LoadBalancerDescriptions")
    names = [lb["LoadBalancerName"] for lb in classic]
    found = [Found(Kind.CLASSIC_LB, n, n, t)
             for n, t in _described_tags(elb, "elb", names, "LoadBalancerName").items()
             if _owned(t, key)]
    network = _pages(elbv2, "elbv2", "DescribeLoadBalancers", "describe_load_balancers",
                     "LoadBalancers")
    groups = _pages(elbv2, "elbv2", "DescribeTargetGroups", "describe_target_groups",
                    "TargetGroups")
    lb_names = {lb["LoadBalancerArn"]: lb["LoadBalancerName"] for lb in network}
    tg_names = {tg["TargetGroupArn"]: tg["TargetGroupName"] for tg in groups}
    tags = _described_tags(elbv2, "elbv2", [*lb_names, *tg_names], "ResourceArn")
    found += [Found(Kind.NETWORK_LB, arn, name, tags.get(arn, ()))
              for arn, name in lb_names.items() if _owned(tags.get(arn, ()), key)]
    found += [Found(Kind.TARGET_GROUP, arn, name, tags.get(arn, ()))
              for arn, name in tg_names.items() if _owned(tags.get(arn, ()), key)]
    return found


def security_groups(ec2: Any, key: str, cluster: str) -> list[Found]:
    """Owned groups, and our one rule on each node group admitting the backend group."""
    owned = [{"Name": f"tag:{key}", "Values": ["owned"]}]
    groups = _pages(ec2, "ec2", "DescribeSecurityGroups", "describe_security_groups",
                    "SecurityGroups", Filters=owned)
    found = [Found(Kind.SECURITY_GROUP, g["GroupId"], g.get("GroupName", ""),
                   tags_of(g.get("Tags"))) for g in groups]
    description = NODE_RULE_DESCRIPTION.format(cluster=cluster)
    for backend in [f for f in found if f.tag(BACKEND_ROLE_TAG) == BACKEND_ROLE]:
        referencing = _pages(ec2, "ec2", "DescribeSecurityGroups", "describe_security_groups",
                             "SecurityGroups",
                             Filters=[{"Name": "ip-permission.group-id", "Values": [backend.id]}])
        for group in referencing:
            pairs = [p for perm in group.get("IpPermissions", [])
                     for p in perm.get("UserIdGroupPairs", [])]
            if any(p.get("GroupId") == backend.id and p.get("Description") == description
                   for p in pairs) and group["GroupId"] != backend.id:
                found.append(Found(Kind.NODE_RULE, backend.id, f"rule on {group['GroupId']}",
                                   backend.tags, group=group["GroupId"]))
    return found


def volumes_and_snapshots(ec2: Any, key: str) -> list[Found]:
    owned = [{"Name": f"tag:{key}", "Values": ["owned"]}]
    volumes = _pages(ec2, "ec2", "DescribeVolumes", "describe_volumes", "Volumes",
                     Filters=owned)
    snapshots = _pages(ec2, "ec2", "DescribeSnapshots", "describe_snapshots", "Snapshots",
                       Filters=owned, OwnerIds=["self"])
    found = [Found(Kind.VOLUME, v["VolumeId"], v["VolumeId"], tags_of(v.get("Tags")),
                   state=v.get("State", "")) for v in volumes]
    found += [Found(Kind.SNAPSHOT, s["SnapshotId"], s["SnapshotId"], tags_of(s.get("Tags")),
                    state=s.get("State", "")) for s in snapshots]
    return found


def inventory(ec2: Any, elb: Any, elbv2: Any, cluster: str) -> list[Found]:
    key = cluster_tag_key(cluster)
    return [*load_balancers(elb, elbv2, key), *security_groups(ec2, key, cluster),
            *volumes_and_snapshots(ec2, key)]
