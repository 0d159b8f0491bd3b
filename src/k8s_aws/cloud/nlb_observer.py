"""The Network LB half of the observer: the NLB (found by name), its listeners, its target
groups with their registered targets, and the tags of all of them (ELBv2 reads only)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from k8s_aws.cloud.errors import NotFound
from k8s_aws.cloud.nlb_wire import listener_of, load_balancer_of, tags_of, target_group_of
from k8s_aws.cloud.runner import Runner
from k8s_aws.model.loadbalancer import SERVICE_NAME_TAG
from k8s_aws.model.nlb import (
    DEFAULT_NLB_ATTRIBUTES,
    ObservedNetworkLB,
    ObservedTargetGroup,
    target_group_name,
)

if TYPE_CHECKING:
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_elbv2.type_defs import (
        LoadBalancerTypeDef,
        TagDescriptionTypeDef,
        TargetGroupTypeDef,
    )

ELBV2 = "elbv2"
TAG_BATCH = 20  # DescribeTags takes at most 20 ARNs
GONE_STATES = ("draining", "unused")  # deregistered (draining) or never serving traffic


class NetworkLoadBalancerReader:
    def __init__(self, elbv2: ElasticLoadBalancingv2Client, run: Runner, cluster: str) -> None:
        self._elbv2 = elbv2
        self._run = run
        self._cluster = cluster

    async def observe(
        self, name: str, service: tuple[str, str] | None = None
    ) -> tuple[ObservedNetworkLB | None, tuple[ObservedTargetGroup, ...]]:
        """The NLB called `name` and the target groups its listeners use; with `service`
        (namespace, name) also the Service's target groups no listener uses (left by a
        listener deleted behind our back, or a crash), so they are reused, not re-created."""
        try:
            found = await self._run(ELBV2, "DescribeLoadBalancers", lambda: self._elbv2
                                    .describe_load_balancers(Names=[name])["LoadBalancers"])
        except NotFound:
            return None, ()
        if not found:
            return None, ()
        arn = found[0]["LoadBalancerArn"]
        listeners = await self._run(ELBV2, "DescribeListeners", lambda: self._elbv2
                                    .describe_listeners(LoadBalancerArn=arn)["Listeners"])
        groups = await self._attached_groups(arn)
        attached = {g["TargetGroupArn"] for g in groups}
        extra = ([g for g in await self._named_like(*service)
                  if g["TargetGroupArn"] not in attached] if service is not None else [])
        tags = await self.tags([arn, *(g["TargetGroupArn"] for g in groups + extra)])
        key = f"{service[0]}/{service[1]}" if service is not None else ""
        groups += [g for g in extra
                   if dict(tags.get(g["TargetGroupArn"], ())).get(SERVICE_NAME_TAG) == key]
        lb = replace(load_balancer_of(found[0], tags.get(arn, ()),
                                      tuple(listener_of(x) for x in listeners)),
                     attributes=await self._lb_attributes(arn))
        return lb, await self._with_targets(groups, tags)

    async def _attached_groups(self, arn: str) -> list[TargetGroupTypeDef]:
        """The target groups the NLB's listeners use. An NLB with no listener yet (a crash
        right after CreateLoadBalancer) may be answered TargetGroupNotFound: none."""
        try:
            return list(await self._run(ELBV2, "DescribeTargetGroups", lambda: self._elbv2
                                        .describe_target_groups(LoadBalancerArn=arn)
                                        ["TargetGroups"]))
        except NotFound:
            return []

    async def _with_targets(
        self, groups: list[TargetGroupTypeDef], tags: dict[str, tuple[tuple[str, str], ...]]
    ) -> tuple[ObservedTargetGroup, ...]:
        arns = [g["TargetGroupArn"] for g in groups]
        targets = await asyncio.gather(*(self._targets(arn) for arn in arns))
        attributes = await asyncio.gather(*(self._attributes(arn) for arn in arns))
        return tuple(replace(target_group_of(g, tags.get(g["TargetGroupArn"], ()), t),
                             attributes=a)
                     for g, t, a in zip(groups, targets, attributes, strict=True))

    async def _lb_attributes(self, arn: str) -> tuple[tuple[str, str], ...]:
        """The attributes k8s-aws manages (DEFAULT_NLB_ATTRIBUTES' keys), as AWS has them."""
        raw = await self._run(ELBV2, "DescribeLoadBalancerAttributes", lambda: self._elbv2
                              .describe_load_balancer_attributes(LoadBalancerArn=arn)
                              ["Attributes"])
        values = {**dict(DEFAULT_NLB_ATTRIBUTES),
                  **{a["Key"]: str(a.get("Value", "")).lower() if a["Key"].endswith("enabled")
                     else str(a.get("Value", "")) for a in raw}}
        return tuple(sorted((k, values[k]) for k, _ in DEFAULT_NLB_ATTRIBUTES))

    async def _attributes(self, arn: str) -> tuple[tuple[str, str], ...]:
        raw = await self._run(ELBV2, "DescribeTargetGroupAttributes", lambda: self._elbv2
                              .describe_target_group_attributes(TargetGroupArn=arn)
                              ["Attributes"])
        return tuple(sorted((a["Key"], str(a.get("Value", "")).lower()) for a in raw))

    async def _targets(self, arn: str) -> frozenset[str]:
        health = await self._run(ELBV2, "DescribeTargetHealth", lambda: self._elbv2
                                 .describe_target_health(TargetGroupArn=arn)
                                 ["TargetHealthDescriptions"])
        return frozenset(h["Target"]["Id"] for h in health
                         if h.get("TargetHealth", {}).get("State") not in GONE_STATES)

    async def tags(self, arns: list[str]) -> dict[str, tuple[tuple[str, str], ...]]:
        result: dict[str, tuple[tuple[str, str], ...]] = {}
        for start in range(0, len(arns), TAG_BATCH):
            batch = arns[start : start + TAG_BATCH]
            described = await self._run(
                ELBV2, "DescribeTags", partial(self._describe_tags, batch))
            for entry in described:
                result[entry["ResourceArn"]] = tags_of(entry.get("Tags", []))
        return result

    def _describe_tags(self, arns: list[str]) -> list[TagDescriptionTypeDef]:
        return list(self._elbv2.describe_tags(ResourceArns=arns)["TagDescriptions"])

    async def service_target_groups(
        self, namespace: str, name: str
    ) -> tuple[ObservedTargetGroup, ...]:
        """Every target group tagged as this Service's, attached or not (a crash between
        CreateTargetGroup and CreateListener leaves one behind): found by the name prefix
        the Service gives them, then by tag. Read for deletions only."""
        groups = await self._named_like(namespace, name)
        tags = await self.tags([g["TargetGroupArn"] for g in groups])
        key = f"{namespace}/{name}"
        mine = [g for g in groups if dict(tags.get(g["TargetGroupArn"], ())).get(
            SERVICE_NAME_TAG) == key]
        return tuple(target_group_of(g, tags[g["TargetGroupArn"]], frozenset()) for g in mine)

    async def _named_like(self, namespace: str, name: str) -> list[TargetGroupTypeDef]:
        prefix = self._name_prefix(namespace, name)
        return [g for g in await self._all_target_groups()
                if g["TargetGroupName"].startswith(prefix)]

    def _name_prefix(self, namespace: str, name: str) -> str:
        """What every target group of this Service's is named with (all but the hash)."""
        return target_group_name(self._cluster, namespace, name, 0, 0, "")[:-10]

    async def _all_target_groups(self) -> list[TargetGroupTypeDef]:
        return await self._run(ELBV2, "DescribeTargetGroups", lambda: [
            g for page in self._elbv2.get_paginator("describe_target_groups").paginate(
                PaginationConfig={"PageSize": 400}) for g in page["TargetGroups"]
        ])

    async def _all_load_balancers(self) -> list[LoadBalancerTypeDef]:
        return await self._run(ELBV2, "DescribeLoadBalancers", lambda: [
            lb for page in self._elbv2.get_paginator("describe_load_balancers").paginate(
                PaginationConfig={"PageSize": 400}) for lb in page["LoadBalancers"]
        ])

    async def users_of(self, group: str, own: str) -> set[str]:
        """NLBs other than `own` that use security group `group` (whole fleet, paged)."""
        return {lb["LoadBalancerName"] for lb in await self._all_load_balancers()
                if group in lb.get("SecurityGroups", []) and lb["LoadBalancerName"] != own}

    async def fleet(
        self, names: set[str]
    ) -> dict[str, tuple[ObservedNetworkLB, tuple[ObservedTargetGroup, ...]]]:
        """Summaries of the named NLBs and of the target groups each one's listeners use,
        from two whole-fleet paged describes (each target group lists its LoadBalancerArns,
        so a listener removed behind our back shows as a group no longer attached)."""
        lbs = [lb for lb in await self._all_load_balancers() if lb["LoadBalancerName"] in names]
        if not lbs:
            return {}
        attached: dict[str, list[ObservedTargetGroup]] = {}
        for group in await self._all_target_groups():
            for arn in group.get("LoadBalancerArns", []):
                attached.setdefault(arn, []).append(target_group_of(group, (), frozenset()))
        return {lb["LoadBalancerName"]: (load_balancer_of(lb, (), ()),
                                         tuple(attached.get(lb["LoadBalancerArn"], ())))
                for lb in lbs}

    async def deletion_fleet(
        self, services: dict[str, tuple[str, str]]
    ) -> dict[str, tuple[ObservedNetworkLB, tuple[ObservedTargetGroup, ...]]]:
        """For many NLB deletions at once (load balancer name -> (namespace, Service name)):
        each named NLB that exists, with its tags, and the target groups it uses or that
        carry its Service's name prefix (one left by a crash before its listener), with
        theirs. Two whole-fleet paged describes and tags 20 ARNs a call, whatever the number
        of Services; a deletion plans from this what it deletes (ownership by these tags)."""
        lbs = [lb for lb in await self._all_load_balancers()
               if lb["LoadBalancerName"] in services]
        if not lbs:
            return {}
        all_groups = await self._all_target_groups()
        chosen: dict[str, list[TargetGroupTypeDef]] = {}
        for lb in lbs:
            prefix = self._name_prefix(*services[lb["LoadBalancerName"]])
            chosen[lb["LoadBalancerName"]] = [
                g for g in all_groups
                if lb["LoadBalancerArn"] in g.get("LoadBalancerArns", [])
                or g["TargetGroupName"].startswith(prefix)]
        tags = await self.tags([*(lb["LoadBalancerArn"] for lb in lbs),
                                *{g["TargetGroupArn"] for gs in chosen.values() for g in gs}])
        return {lb["LoadBalancerName"]: (
                    load_balancer_of(lb, tags.get(lb["LoadBalancerArn"], ()), ()),
                    tuple(target_group_of(g, tags.get(g["TargetGroupArn"], ()), frozenset())
                          for g in chosen[lb["LoadBalancerName"]]))
                for lb in lbs}
