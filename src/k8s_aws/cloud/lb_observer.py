"""The observer: one immutable snapshot (`Observed`) of what AWS holds for a Service.

Load balancer state is found by name (the LB and its frontend group carry names derived from
the Service UID) and by tag (the cluster's backend group); the node groups holding our rule
by one filtered describe. Network facts (VPC, subnets, the nodes' instances and their groups)
come from the cached directories, so refreshing them on a known snapshot is nearly free.
Whole-fleet reads for the drift sweep live here too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from k8s_aws.cloud.clb_wire import attributes_of, group_of, summary, tags_of
from k8s_aws.cloud.errors import NotFound
from k8s_aws.cloud.instances import InstanceDirectory
from k8s_aws.cloud.network import NetworkDirectory
from k8s_aws.cloud.nlb_observer import NetworkLoadBalancerReader
from k8s_aws.cloud.runner import Runner
from k8s_aws.model.instance import InstanceId
from k8s_aws.model.loadbalancer import (
    CLUSTER_TAG_PREFIX,
    Observed,
    ObservedGroup,
    ObservedLoadBalancer,
    backend_group_name,
    backend_rule,
    frontend_group_name,
    ours,
)
from k8s_aws.model.nlb import ObservedNetworkLB, ObservedTargetGroup
from k8s_aws.support.batcher import Batcher

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import FilterTypeDef, SecurityGroupTypeDef
    from mypy_boto3_elb import ElasticLoadBalancingClient
    from mypy_boto3_elb.type_defs import LoadBalancerDescriptionTypeDef

# Load balancers a page of the whole-fleet Classic ELB read (each description lists its
# instances: 50 of them at 1000 nodes parse into about 13 MB).
FLEET_PAGE = 50
T = TypeVar("T")
# Which families `observe` reads; GROUPS: no load balancer (this deletion saw them go), only
# the Service's target groups and the security groups.
CLASSIC, NLB, EVERY, GROUPS = "classic", "nlb", "every", "groups"


class LoadBalancerObserver:
    def __init__(
        self, elb: ElasticLoadBalancingClient, ec2: EC2Client, run: Runner, cluster: str,
        directory: InstanceDirectory, network: NetworkDirectory, vpc_id: str = "",
        nlb: NetworkLoadBalancerReader | None = None,
    ) -> None:
        self._nlb = nlb
        self._elb = elb
        self._ec2 = ec2
        self._run = run
        self._cluster = cluster
        self._directory = directory
        self._network = network
        self._vpc_id = vpc_id
        self._frontends: Batcher[str, ObservedGroup] = Batcher(
            self._groups_named, max_size=200, idle=0.05, max_wait=0.2)

    async def observe(
        self, name: str, instance_ids: tuple[str, ...], *, known: Observed | None = None,
        check_backend_users: bool = False, family: str = CLASSIC, previous: bool = False,
        service: tuple[str, str] = ("", ""), cluster_backend: Observed | None = None,
    ) -> Observed:
        """The snapshot for load balancer `name` with the given nodes' instances. With `known`
        (what the last apply left), only the network facts are re-read. `check_backend_users`
        also reads the cluster's whole fleet to tell whether any other load balancer uses the
        backend group (`backend_unused`): asked only when no other Service wants one.
        A Classic ELB Service new to AWS (not `previous`: no finalizer yet, so nothing of it
        can exist) costs no describe of its load balancer, and none of the groups when
        `cluster_backend` (another Service's snapshot) knows the backend group."""
        snapshot = await self._network_facts(instance_ids)
        if known is not None:
            return replace(known, vpc_id=snapshot.vpc_id, subnets=snapshot.subnets,
                           instances=snapshot.instances, instance_groups=snapshot.instance_groups)
        fresh = family == CLASSIC and not previous
        # The frontend group's name is the probe: every Classic ELB we or the reference
        # provider make for this Service has one; looked up with other new Services'.
        if (fresh and cluster_backend is not None and cluster_backend.backend_group is not None
                and await self._frontends.get(frontend_group_name(name)) is None):
            return replace(snapshot, backend_group=cluster_backend.backend_group,
                           node_groups_admitting=cluster_backend.node_groups_admitting)
        frontend, backend = await self._groups(name, snapshot.vpc_id)
        snapshot = await self._families(snapshot, name, family,
                                        previous or frontend is not None, service)
        admitting: frozenset[str] = frozenset()
        unused = False
        # A deletion that keeps the backend group needs neither its node rules nor its users.
        if backend is not None and (family not in (EVERY, GROUPS) or check_backend_users):
            admitting = frozenset(await self.admitting(backend.id))
            if check_backend_users:
                unused = not await self._backend_users(backend.id, name)
        return replace(snapshot, frontend_group=frontend,
                       backend_group=backend, node_groups_admitting=admitting,
                       backend_unused=unused)

    async def _families(
        self, snapshot: Observed, name: str, family: str, previous: bool,
        service: tuple[str, str],
    ) -> Observed:
        lb = None
        if family == GROUPS:  # the load balancers are gone; their target groups go after
            if self._nlb is None:
                return snapshot
            return replace(snapshot,
                           target_groups=await self._nlb.service_target_groups(*service))
        if family == EVERY or (family == CLASSIC and previous):
            lb = await self._observe_lb(name)
        if self._nlb is None or (family == CLASSIC and not (previous and lb is None)):
            return replace(snapshot, load_balancer=lb)
        nlb, groups = await self._nlb.observe(name, service if family == NLB else None)
        if family == EVERY:
            groups = await self._nlb.service_target_groups(*service)
        elif family == NLB and previous and nlb is None:
            lb = await self._observe_lb(name)
        return replace(snapshot, load_balancer=lb, network_lb=nlb, target_groups=groups)

    async def _network_facts(self, instance_ids: tuple[str, ...]) -> Observed:
        found = await asyncio.gather(*(self._directory.get(InstanceId(i)) for i in instance_ids))
        records = tuple(r for r in found if r is not None)
        vpcs = {r.vpc_id for r in records if r.vpc_id}
        vpc = self._vpc_id or (next(iter(vpcs)) if len(vpcs) == 1 else "")
        subnets = tuple(await self._network.subnets(vpc)) if vpc else ()
        groups = await self._network.groups({g for r in records for g in r.security_groups})
        return Observed(vpc_id=vpc, subnets=subnets, instances=records,
                        instance_groups=tuple(groups[g] for g in sorted(groups)))

    async def _groups(
        self, name: str, vpc_id: str
    ) -> tuple[ObservedGroup | None, ObservedGroup | None]:
        """(frontend, backend). `vpc_id` may be unknown (""), as for a fresh replica deleting a
        Service before it has seen any node: then the groups are found by name alone
        (ownership is still decided by their tags), so a deletion never misses them."""
        filters: list[FilterTypeDef] = [{"Name": "group-name",
                    "Values": [frontend_group_name(name), backend_group_name(self._cluster)]}]
        if vpc_id:
            filters.append({"Name": "vpc-id", "Values": [vpc_id]})
        raw = await self._run(
            "ec2", "DescribeSecurityGroups",
            lambda: self._ec2.describe_security_groups(Filters=filters)["SecurityGroups"],
        )
        frontend = backend = None
        for g in raw:
            group = group_of(g)
            if g["GroupName"] == frontend_group_name(name):
                frontend = group
            elif ours(group.tags, self._cluster, None):
                backend = group
        return frontend, backend

    async def _groups_named(self, names: list[str]) -> dict[str, ObservedGroup]:
        filters: list[FilterTypeDef] = [{"Name": "group-name", "Values": names}]
        if self._vpc_id:
            filters.append({"Name": "vpc-id", "Values": [self._vpc_id]})
        raw = await self._run("ec2", "DescribeSecurityGroups",
                              partial(self._describe_groups, filters))
        return {g["GroupName"]: group_of(g) for g in raw}

    async def admitting(self, backend: str) -> set[str]:
        """The groups holding our backend rule (source group and description both ours)."""
        rule = backend_rule(backend, self._cluster)
        raw = await self._run(
            "ec2", "DescribeSecurityGroups",
            lambda: self._ec2.describe_security_groups(
                Filters=[{"Name": "ip-permission.group-id", "Values": [backend]}]
            )["SecurityGroups"],
        )
        return {g["GroupId"] for g in raw if rule in group_of(g).rules}

    async def _backend_users(self, backend: str, own: str) -> set[str]:
        """Load balancers other than `own` that use the backend group."""
        nlbs = await self._nlb.users_of(backend, own) if self._nlb else set()

        def user(d: LoadBalancerDescriptionTypeDef) -> str | None:
            name = d["LoadBalancerName"]
            return name if backend in d.get("SecurityGroups", []) and name != own else None

        return nlbs | set(await self._all_load_balancers(user))

    async def _observe_lb(self, name: str) -> ObservedLoadBalancer | None:
        try:
            described = await self._run(
                "elb", "DescribeLoadBalancers",
                lambda: self._elb.describe_load_balancers(LoadBalancerNames=[name])[
                    "LoadBalancerDescriptions"],
            )
        except NotFound:
            return None
        if not described:
            return None
        tags = await self._run(
            "elb", "DescribeTags",
            lambda: self._elb.describe_tags(LoadBalancerNames=[name])["TagDescriptions"],
        )
        attributes = await self._run(
            "elb", "DescribeLoadBalancerAttributes",
            lambda: self._elb.describe_load_balancer_attributes(LoadBalancerName=name)[
                "LoadBalancerAttributes"],
        )
        found = summary(described[0], tags_of(tags[0]["Tags"] if tags else []))
        return replace(found, attributes=attributes_of(attributes))

    async def deletion_snapshots(self, names: set[str]) -> dict[str, Observed]:
        """Deletion snapshots of the named Classic ELBs that exist, for many Services at once:
        the fleet's pages and tags (20 a call), and their frontend groups in one filtered
        describe. They hold what a deletion that keeps the backend group plans from: the
        load balancer with its tags, the frontend group with its tags."""
        if not names:
            return {}
        found = await self.fleet(names)
        groups = await self._frontends_of(set(found))
        return {n: Observed(load_balancer=lb, frontend_group=groups.get(frontend_group_name(n)),
                            vpc_id=self._vpc_id)
                for n, lb in found.items()}

    async def nlb_deletion_snapshots(self, services: dict[str, tuple[str, str]]) -> dict[
            str, Observed]:
        """The same for NLB deletions (load balancer name -> (namespace, Service name)): each
        NLB that exists with its tags, its Service's target groups with theirs, and its
        frontend group; for 20 Services about 6 calls in all (cloud.nlb_observer)."""
        if not services or self._nlb is None:
            return {}
        found = await self._nlb.deletion_fleet(services)
        groups = await self._frontends_of(set(found))
        return {n: Observed(network_lb=lb, target_groups=tgs, vpc_id=self._vpc_id,
                            frontend_group=groups.get(frontend_group_name(n)))
                for n, (lb, tgs) in found.items()}

    async def _frontends_of(self, names: set[str]) -> dict[str, ObservedGroup]:
        """The frontend groups of these load balancers, by name, 200 names a call (EC2's
        limit of values per filter)."""
        wanted = sorted(frontend_group_name(n) for n in names)
        groups: dict[str, ObservedGroup] = {}
        for start in range(0, len(wanted), 200):
            groups |= await self._groups_named(wanted[start : start + 200])
        return groups

    def _describe_groups(self, filters: list[FilterTypeDef]) -> list[SecurityGroupTypeDef]:
        return list(self._ec2.describe_security_groups(Filters=filters)["SecurityGroups"])

    # -- whole-fleet reads (the drift sweep) -----------------------------------------------
    async def _all_load_balancers(
        self, keep: Callable[[LoadBalancerDescriptionTypeDef], T | None]
    ) -> list[T]:
        """`keep(d)` of every Classic ELB in the account that is not None, read page by page
        (FLEET_PAGE a call) and reduced as each page arrives: a description lists every
        registered instance, so at 1000 nodes a page of 250 is 15 MB of XML that botocore
        parses into 65 MB of dicts (120 MB at its peak)."""
        def run() -> list[T]:
            kept: list[T] = []
            pages = self._elb.get_paginator("describe_load_balancers").paginate(
                PaginationConfig={"PageSize": FLEET_PAGE})
            for page in pages:
                for d in page["LoadBalancerDescriptions"]:
                    value = keep(d)
                    if value is not None:
                        kept.append(value)
                del page  # freed before the next page is read and parsed
            return kept

        return await self._run("elb", "DescribeLoadBalancers", run)

    async def fleet(self, names: set[str]) -> dict[str, ObservedLoadBalancer]:
        """Summaries (all but attributes) of the named load balancers that exist, from
        whole-fleet describes: load balancers in pages, tags in batches of 20."""
        def named(d: LoadBalancerDescriptionTypeDef) -> ObservedLoadBalancer | None:
            return summary(d, ()) if d["LoadBalancerName"] in names else None

        found = {lb.name: lb for lb in await self._all_load_balancers(named)}
        tags: dict[str, tuple[tuple[str, str], ...]] = {}
        ordered = sorted(found)
        for start in range(0, len(ordered), 20):
            batch = ordered[start : start + 20]
            described = await self._run(
                "elb", "DescribeTags", partial(self._elb.describe_tags, LoadBalancerNames=batch)
            )
            for entry in described["TagDescriptions"]:
                tags[entry["LoadBalancerName"]] = tags_of(entry.get("Tags", []))
        return {n: replace(lb, tags=tags.get(n, ())) for n, lb in found.items()}

    async def nlb_fleet(
        self, names: set[str]
    ) -> dict[str, tuple[ObservedNetworkLB, tuple[ObservedTargetGroup, ...]]]:
        """The Network LB family's whole-fleet summaries (none without an NLB reader)."""
        return await self._nlb.fleet(names) if self._nlb and names else {}

    async def fleet_groups(self) -> dict[str, ObservedGroup]:
        """Every frontend group of this cluster's load balancers, in one filtered call."""
        raw = await self._run(
            "ec2", "DescribeSecurityGroups",
            lambda: self._ec2.describe_security_groups(Filters=[
                {"Name": f"tag:{CLUSTER_TAG_PREFIX}{self._cluster}", "Values": ["owned"]},
                {"Name": "tag-key", "Values": ["kubernetes.io/service-name"]},
            ])["SecurityGroups"],
        )
        return {g["GroupId"]: group_of(g) for g in raw}
