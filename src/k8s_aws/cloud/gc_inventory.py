"""Everything in the region carrying the cluster tag `owned`, read in whole-region list calls
for `k8s-aws gc`: load balancers, target groups, security groups with our rules on node
groups, volumes and snapshots. Ownership is decided by the planner (ops.gc_plan)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from k8s_aws.cloud.operator_session import call, tags_of
from k8s_aws.model.cluster_tag import cluster_tag_key
from k8s_aws.model.gc import Found, Kind, Tags
from k8s_aws.model.loadbalancer import BACKEND_ROLE, BACKEND_ROLE_TAG, NODE_RULE_DESCRIPTION

if TYPE_CHECKING:  # the stubs are a development dependency: typing only
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import (
        FilterTypeDef,
        SecurityGroupTypeDef,
        SnapshotTypeDef,
        VolumeTypeDef,
    )
    from mypy_boto3_elb import ElasticLoadBalancingClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

TAG_BATCH = 20  # DescribeTags takes at most 20 names or ARNs


def _batched_tags(ids: list[str], describe: Callable[[list[str]], dict[str, Tags]]
                  ) -> dict[str, Tags]:
    """DescribeTags in batches of TAG_BATCH; `describe` makes one call (through `call`)."""
    tags: dict[str, Tags] = {}
    for start in range(0, len(ids), TAG_BATCH):
        tags.update(describe(ids[start:start + TAG_BATCH]))
    return tags


def _classic_tags(elb: ElasticLoadBalancingClient, names: list[str]) -> dict[str, Tags]:
    answer = call("elb", "DescribeTags",
                  lambda: elb.describe_tags(LoadBalancerNames=names))["TagDescriptions"]
    return {d["LoadBalancerName"]: tags_of(d.get("Tags")) for d in answer}


def _v2_tags(elbv2: ElasticLoadBalancingv2Client, arns: list[str]) -> dict[str, Tags]:
    answer = call("elbv2", "DescribeTags",
                  lambda: elbv2.describe_tags(ResourceArns=arns))["TagDescriptions"]
    return {d["ResourceArn"]: tags_of(d.get("Tags")) for d in answer}


def _groups(ec2: EC2Client, filters: list[FilterTypeDef]) -> list[SecurityGroupTypeDef]:
    pages = ec2.get_paginator("describe_security_groups")
    return call("ec2", "DescribeSecurityGroups", lambda: [
        g for page in pages.paginate(Filters=filters) for g in page["SecurityGroups"]])


def _owned(tags: Tags, key: str) -> bool:
    return dict(tags).get(key) == "owned"


def load_balancers(elb: ElasticLoadBalancingClient, elbv2: ElasticLoadBalancingv2Client,
                   key: str) -> list[Found]:
    classic_pages = elb.get_paginator("describe_load_balancers")
    classic = call("elb", "DescribeLoadBalancers", lambda: [
        lb for page in classic_pages.paginate() for lb in page["LoadBalancerDescriptions"]])
    names = [lb["LoadBalancerName"] for lb in classic]
    found = [Found(Kind.CLASSIC_LB, n, n, t)
             for n, t in _batched_tags(names, lambda b: _classic_tags(elb, b)).items()
             if _owned(t, key)]
    network_pages = elbv2.get_paginator("describe_load_balancers")
    network = call("elbv2", "DescribeLoadBalancers", lambda: [
        lb for page in network_pages.paginate() for lb in page["LoadBalancers"]])
    group_pages = elbv2.get_paginator("describe_target_groups")
    groups = call("elbv2", "DescribeTargetGroups", lambda: [
        tg for page in group_pages.paginate() for tg in page["TargetGroups"]])
    lb_names = {lb["LoadBalancerArn"]: lb["LoadBalancerName"] for lb in network}
    tg_names = {tg["TargetGroupArn"]: tg["TargetGroupName"] for tg in groups}
    tags = _batched_tags([*lb_names, *tg_names], lambda b: _v2_tags(elbv2, b))
    found += [Found(Kind.NETWORK_LB, arn, name, tags.get(arn, ()))
              for arn, name in lb_names.items() if _owned(tags.get(arn, ()), key)]
    found += [Found(Kind.TARGET_GROUP, arn, name, tags.get(arn, ()))
              for arn, name in tg_names.items() if _owned(tags.get(arn, ()), key)]
    return found


def security_groups(ec2: EC2Client, key: str, cluster: str) -> list[Found]:
    """Owned groups, and our one rule on each node group admitting the backend group."""
    groups = _groups(ec2, [{"Name": f"tag:{key}", "Values": ["owned"]}])
    found = [Found(Kind.SECURITY_GROUP, g["GroupId"], g.get("GroupName", ""),
                   tags_of(g.get("Tags"))) for g in groups]
    description = NODE_RULE_DESCRIPTION.format(cluster=cluster)
    for backend in [f for f in found if f.tag(BACKEND_ROLE_TAG) == BACKEND_ROLE]:
        referencing = _groups(ec2, [{"Name": "ip-permission.group-id", "Values": [backend.id]}])
        for group in referencing:
            pairs = [p for perm in group.get("IpPermissions", [])
                     for p in perm.get("UserIdGroupPairs", [])]
            if any(p.get("GroupId") == backend.id and p.get("Description") == description
                   for p in pairs) and group["GroupId"] != backend.id:
                found.append(Found(Kind.NODE_RULE, backend.id, f"rule on {group['GroupId']}",
                                   backend.tags, group=group["GroupId"]))
    return found


def volumes_and_snapshots(ec2: EC2Client, key: str) -> list[Found]:
    owned: list[FilterTypeDef] = [{"Name": f"tag:{key}", "Values": ["owned"]}]
    volume_pages = ec2.get_paginator("describe_volumes")
    volumes: list[VolumeTypeDef] = call("ec2", "DescribeVolumes", lambda: [
        v for page in volume_pages.paginate(Filters=owned) for v in page["Volumes"]])
    snapshot_pages = ec2.get_paginator("describe_snapshots")
    snapshots: list[SnapshotTypeDef] = call("ec2", "DescribeSnapshots", lambda: [
        s for page in snapshot_pages.paginate(Filters=owned, OwnerIds=["self"])
        for s in page["Snapshots"]])
    found = [Found(Kind.VOLUME, v["VolumeId"], v["VolumeId"], tags_of(v.get("Tags")),
                   state=v.get("State", "")) for v in volumes]
    found += [Found(Kind.SNAPSHOT, s["SnapshotId"], s["SnapshotId"], tags_of(s.get("Tags")),
                    state=s.get("State", "")) for s in snapshots]
    return found


def inventory(ec2: EC2Client, elb: ElasticLoadBalancingClient,
              elbv2: ElasticLoadBalancingv2Client, cluster: str) -> list[Found]:
    key = cluster_tag_key(cluster)
    return [*load_balancers(elb, elbv2, key), *security_groups(ec2, key, cluster),
            *volumes_and_snapshots(ec2, key)]
