"""Classic ELBs and their security groups: observe what AWS holds, apply a plan.

Observation is by name (the LB and its frontend group carry names derived from the Service
UID) and by tag (the cluster's backend group). Applying runs the plan's actions in order,
tolerating the duplicates a crash between a call and its bookkeeping leaves behind, and
returns the state AWS now holds (the plan's effect), which the controller caches.
"""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from k8s_aws.cloud.errors import CloudError, Conflict, NotFound
from k8s_aws.cloud.runner import Runner
from k8s_aws.model import lb_actions as act
from k8s_aws.model.lb_actions import Plan
from k8s_aws.model.loadbalancer import (
    CLUSTER_TAG_PREFIX,
    Attributes,
    HealthCheck,
    IngressRule,
    Listener,
    Observed,
    ObservedGroup,
    ObservedLoadBalancer,
    backend_group_name,
    frontend_group_name,
    ours,
)


@dataclass
class Applied:
    """What applying a plan produced: ids of created groups (by `$ref`) and the LB's DNS name."""

    refs: dict[str, str] = field(default_factory=dict)
    dns_name: str = ""


class GroupInUse(Conflict):
    """Our group cannot be deleted yet; `blockers` names foreign groups referencing it."""

    def __init__(self, message: str, blockers: tuple[str, ...]) -> None:
        super().__init__(message, "DeleteSecurityGroup", "DependencyViolation")
        self.blockers = blockers


def _tags(raw: list[dict[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((t["Key"], t["Value"]) for t in raw))


def rules_of(permissions: list[dict[str, Any]]) -> frozenset[IngressRule]:
    rules = set()
    for p in permissions:
        protocol = str(p.get("IpProtocol", "-1"))
        low, high = int(p.get("FromPort", -1)), int(p.get("ToPort", -1))
        sources = [(r["CidrIp"], r.get("Description", "")) for r in p.get("IpRanges", [])]
        sources += [(r["CidrIpv6"], r.get("Description", "")) for r in p.get("Ipv6Ranges", [])]
        sources += [(g["GroupId"], g.get("Description", "")) for g in p.get("UserIdGroupPairs", [])]
        for source, description in sources:
            rules.add(IngressRule(protocol, low, high, source, description or ""))
    return frozenset(rules)


def permissions_of(rules: tuple[IngressRule, ...]) -> list[dict[str, Any]]:
    permissions = []
    for r in rules:
        p: dict[str, Any] = {"IpProtocol": r.protocol}
        if r.protocol != "-1":
            p.update(FromPort=r.from_port, ToPort=r.to_port)
        entry: dict[str, str] = {"Description": r.description} if r.description else {}
        if r.source.startswith("sg-"):
            p["UserIdGroupPairs"] = [{"GroupId": r.source, **entry}]
        elif ipaddress.ip_network(r.source).version == 6:
            p["Ipv6Ranges"] = [{"CidrIpv6": r.source, **entry}]
        else:
            p["IpRanges"] = [{"CidrIp": r.source, **entry}]
        permissions.append(p)
    return permissions


def _health(raw: dict[str, Any]) -> HealthCheck:
    return HealthCheck(
        target=raw.get("Target", ""),
        healthy_threshold=int(raw.get("HealthyThreshold", 0)),
        unhealthy_threshold=int(raw.get("UnhealthyThreshold", 0)),
        interval=int(raw.get("Interval", 0)),
        timeout=int(raw.get("Timeout", 0)),
    )


def _attributes(raw: dict[str, Any]) -> Attributes:
    logs = raw.get("AccessLog", {})
    draining = raw.get("ConnectionDraining", {})
    return Attributes(
        cross_zone=bool(raw.get("CrossZoneLoadBalancing", {}).get("Enabled", False)),
        draining_enabled=bool(draining.get("Enabled", False)),
        draining_timeout=int(draining.get("Timeout", 300)),
        idle_timeout=int(raw.get("ConnectionSettings", {}).get("IdleTimeout", 60)),
        access_log_enabled=bool(logs.get("Enabled", False)),
        access_log_interval=int(logs.get("EmitInterval", 60)),
        access_log_bucket=logs.get("S3BucketName", "") or "",
        access_log_prefix=logs.get("S3BucketPrefix", "") or "",
    )


def _listener(raw: dict[str, Any]) -> Listener:
    return Listener(
        lb_port=int(raw["LoadBalancerPort"]),
        protocol=str(raw["Protocol"]).upper(),
        instance_port=int(raw["InstancePort"]),
        instance_protocol=str(raw.get("InstanceProtocol", raw["Protocol"])).upper(),
        certificate=raw.get("SSLCertificateId", "") or "",
    )


class ClassicLoadBalancers:
    def __init__(self, elb: Any, ec2: Any, run: Runner, cluster: str) -> None:
        self._elb = elb
        self._ec2 = ec2
        self._run = run
        self._cluster = cluster
        self._admitting: set[str] = set()

    async def observe(self, name: str, vpc_id: str, node_groups: frozenset[str]) -> Observed:
        """`vpc_id` may be unknown (""), as for a fresh replica deleting a Service before it
        has seen any node: then the group is found by name alone (ownership is still decided
        by its tags), so a deletion never misses it."""
        lb = await self._observe_lb(name)
        filters = [
            {"Name": "group-name",
             "Values": [frontend_group_name(name), backend_group_name(self._cluster)]},
        ]
        if vpc_id:
            filters.append({"Name": "vpc-id", "Values": [vpc_id]})
        groups = await self._run(
            "ec2",
            "DescribeSecurityGroups",
            lambda: self._ec2.describe_security_groups(Filters=filters)["SecurityGroups"],
        )
        frontend = backend = None
        for g in groups:
            group = ObservedGroup(
                g["GroupId"],
                g["GroupName"],
                _tags(g.get("Tags", [])),
                rules_of(g.get("IpPermissions", [])),
            )
            if g["GroupName"] == frontend_group_name(name):
                frontend = group
            elif ours(group.tags, self._cluster, None):
                backend = group
        admitting: frozenset[str] = frozenset()
        if backend is not None and node_groups:
            admitting = await self._admitting_groups(backend.id, node_groups)
        return Observed(lb, frontend, backend, admitting)

    async def _admitting_groups(self, backend: str, node_groups: frozenset[str]) -> frozenset[str]:
        known = node_groups & self._admitting
        unknown = sorted(node_groups - known)
        if unknown:
            raw = await self._run(
                "ec2",
                "DescribeSecurityGroups",
                lambda: self._ec2.describe_security_groups(GroupIds=unknown)["SecurityGroups"],
            )
            for g in raw:
                if any(r.source == backend for r in rules_of(g.get("IpPermissions", []))):
                    self._admitting.add(g["GroupId"])
        return frozenset(node_groups & self._admitting)

    async def _observe_lb(self, name: str) -> ObservedLoadBalancer | None:
        try:
            described = await self._run(
                "elb",
                "DescribeLoadBalancers",
                lambda: self._elb.describe_load_balancers(LoadBalancerNames=[name])[
                    "LoadBalancerDescriptions"
                ],
            )
        except NotFound:
            return None
        if not described:
            return None
        return await self._detail(described[0])

    async def _detail(self, d: dict[str, Any]) -> ObservedLoadBalancer:
        name = d["LoadBalancerName"]
        tags = await self._run(
            "elb",
            "DescribeTags",
            lambda: self._elb.describe_tags(LoadBalancerNames=[name])["TagDescriptions"],
        )
        attributes = await self._run(
            "elb",
            "DescribeLoadBalancerAttributes",
            lambda: self._elb.describe_load_balancer_attributes(LoadBalancerName=name)[
                "LoadBalancerAttributes"
            ],
        )
        return replace(
            summary(d, _tags(tags[0]["Tags"] if tags else [])), attributes=_attributes(attributes)
        )

    async def fleet(self, names: set[str]) -> dict[str, ObservedLoadBalancer]:
        """Summaries (all but attributes) of the named load balancers that exist, from
        whole-fleet describes: load balancers in pages, tags in batches of 20."""
        pages = await self._run(
            "elb",
            "DescribeLoadBalancers",
            lambda: [
                d
                for page in self._elb.get_paginator("describe_load_balancers").paginate(
                    PaginationConfig={"PageSize": 400}
                )
                for d in page["LoadBalancerDescriptions"]
                if d["LoadBalancerName"] in names
            ],
        )
        found = {d["LoadBalancerName"]: d for d in pages}
        tags: dict[str, tuple[tuple[str, str], ...]] = {}
        ordered = sorted(found)
        for start in range(0, len(ordered), 20):
            batch = ordered[start : start + 20]
            described = await self._run(
                "elb", "DescribeTags", partial(self._elb.describe_tags, LoadBalancerNames=batch)
            )
            for entry in described["TagDescriptions"]:
                tags[entry["LoadBalancerName"]] = _tags(entry.get("Tags", []))
        return {n: summary(d, tags.get(n, ())) for n, d in found.items()}

    async def fleet_groups(self) -> dict[str, ObservedGroup]:
        """Every frontend group of this cluster's load balancers, in one filtered call."""
        raw = await self._run(
            "ec2",
            "DescribeSecurityGroups",
            lambda: self._ec2.describe_security_groups(
                Filters=[
                    {"Name": f"tag:{CLUSTER_TAG_PREFIX}{self._cluster}", "Values": ["owned"]},
                    {"Name": "tag-key", "Values": ["kubernetes.io/service-name"]},
                ]
            )["SecurityGroups"],
        )
        return {
            g["GroupId"]: ObservedGroup(
                g["GroupId"],
                g["GroupName"],
                _tags(g.get("Tags", [])),
                rules_of(g.get("IpPermissions", [])),
            )
            for g in raw
        }

    async def apply(self, plan: Plan, vpc_id: str) -> Applied:
        """Run the plan's actions in order; returns the ids AWS gave back."""
        applied = Applied()
        for action in plan.actions:
            result = await self._apply_one(action, applied.refs, vpc_id)
            if isinstance(action, act.CreateLoadBalancer):
                applied.dns_name = result or ""
        return applied

    async def _create_group(self, a: act.CreateGroup, vpc_id: str) -> str:
        tags = [
            {"ResourceType": "security-group", "Tags": [{"Key": k, "Value": v} for k, v in a.tags]}
        ]
        try:
            created = await self._run(
                "ec2",
                "CreateSecurityGroup",
                lambda: self._ec2.create_security_group(
                    GroupName=a.name,
                    Description=a.description,
                    VpcId=vpc_id,
                    TagSpecifications=tags,
                ),
            )
            return str(created["GroupId"])
        except CloudError as exc:
            if exc.code != "InvalidGroup.Duplicate":
                raise
        # Created before a crash: take it over only if it carries our tags.
        existing = await self._run(
            "ec2",
            "DescribeSecurityGroups",
            lambda: self._ec2.describe_security_groups(
                Filters=[
                    {"Name": "vpc-id", "Values": [vpc_id]},
                    {"Name": "group-name", "Values": [a.name]},
                ]
            )["SecurityGroups"],
        )
        found = dict(_tags(existing[0].get("Tags", []))) if existing else {}
        if existing and all(found.get(k) == v for k, v in a.tags):
            return str(existing[0]["GroupId"])
        raise Conflict(
            f"security group {a.name} exists in {vpc_id} without our tags",
            "CreateSecurityGroup",
            "InvalidGroup.Duplicate",
        )

    async def _apply_one(self, a: act.Action, refs: dict[str, str], vpc_id: str) -> str | None:
        elb, run = self._elb, self._run

        def ref(group: str) -> str:
            return refs.get(group, group)

        if isinstance(
            a, act.CreateGroup | act.AuthorizeIngress | act.RevokeIngress | act.DeleteGroup
        ):
            await self._apply_group_action(a, refs, vpc_id)
        elif isinstance(a, act.CreateLoadBalancer):
            created = await run(
                "elb",
                "CreateLoadBalancer",
                lambda: elb.create_load_balancer(
                    LoadBalancerName=a.name,
                    Listeners=[_listener_arg(x) for x in a.listeners],
                    Subnets=list(a.subnets),
                    SecurityGroups=[ref(g) for g in a.groups],
                    Scheme="internal" if a.internal else "internet-facing",
                    Tags=[{"Key": k, "Value": v} for k, v in a.tags],
                ),
            )
            return str(created.get("DNSName", ""))
        elif isinstance(a, act.SetSubnets):
            if a.attach:
                await run(
                    "elb",
                    "AttachLoadBalancerToSubnets",
                    lambda: elb.attach_load_balancer_to_subnets(
                        LoadBalancerName=a.name, Subnets=list(a.attach)
                    ),
                )
            if a.detach:
                await run(
                    "elb",
                    "DetachLoadBalancerFromSubnets",
                    lambda: elb.detach_load_balancer_from_subnets(
                        LoadBalancerName=a.name, Subnets=list(a.detach)
                    ),
                )
        elif isinstance(a, act.SetGroups):
            await run(
                "elb",
                "ApplySecurityGroupsToLoadBalancer",
                lambda: elb.apply_security_groups_to_load_balancer(
                    LoadBalancerName=a.name, SecurityGroups=[ref(g) for g in a.groups]
                ),
            )
        elif isinstance(a, act.DeleteListeners):
            await run(
                "elb",
                "DeleteLoadBalancerListeners",
                lambda: elb.delete_load_balancer_listeners(
                    LoadBalancerName=a.name, LoadBalancerPorts=list(a.ports)
                ),
            )
        elif isinstance(a, act.CreateListeners):
            await run(
                "elb",
                "CreateLoadBalancerListeners",
                lambda: elb.create_load_balancer_listeners(
                    LoadBalancerName=a.name, Listeners=[_listener_arg(x) for x in a.listeners]
                ),
            )
        elif isinstance(a, act.ConfigureHealthCheck):
            h = a.health_check
            await run(
                "elb",
                "ConfigureHealthCheck",
                lambda: elb.configure_health_check(
                    LoadBalancerName=a.name,
                    HealthCheck={
                        "Target": h.target,
                        "Interval": h.interval,
                        "Timeout": h.timeout,
                        "HealthyThreshold": h.healthy_threshold,
                        "UnhealthyThreshold": h.unhealthy_threshold,
                    },
                ),
            )
        elif isinstance(a, act.ModifyAttributes):
            t = a.attributes
            logs: dict[str, Any] = {"Enabled": t.access_log_enabled}
            if t.access_log_enabled:
                logs.update(
                    S3BucketName=t.access_log_bucket,
                    EmitInterval=t.access_log_interval,
                    S3BucketPrefix=t.access_log_prefix,
                )
            await run(
                "elb",
                "ModifyLoadBalancerAttributes",
                lambda: elb.modify_load_balancer_attributes(
                    LoadBalancerName=a.name,
                    LoadBalancerAttributes={
                        "CrossZoneLoadBalancing": {"Enabled": t.cross_zone},
                        "ConnectionDraining": {
                            "Enabled": t.draining_enabled,
                            "Timeout": t.draining_timeout,
                        },
                        "ConnectionSettings": {"IdleTimeout": t.idle_timeout},
                        "AccessLog": logs,
                    },
                ),
            )
        elif isinstance(a, act.CreatePolicy):
            try:
                await run(
                    "elb",
                    "CreateLoadBalancerPolicy",
                    lambda: elb.create_load_balancer_policy(
                        LoadBalancerName=a.name,
                        PolicyName=a.policy,
                        PolicyTypeName=a.type,
                        PolicyAttributes=[
                            {"AttributeName": k, "AttributeValue": v} for k, v in a.attributes
                        ],
                    ),
                )
            except Conflict as exc:
                if exc.code != "DuplicatePolicyName":
                    raise
        elif isinstance(a, act.SetBackendPolicies):
            await run(
                "elb",
                "SetLoadBalancerPoliciesForBackendServer",
                lambda: elb.set_load_balancer_policies_for_backend_server(
                    LoadBalancerName=a.name,
                    InstancePort=a.instance_port,
                    PolicyNames=list(a.policies),
                ),
            )
        elif isinstance(a, act.SetListenerPolicies):
            await run(
                "elb",
                "SetLoadBalancerPoliciesOfListener",
                lambda: elb.set_load_balancer_policies_of_listener(
                    LoadBalancerName=a.name,
                    LoadBalancerPort=a.lb_port,
                    PolicyNames=list(a.policies),
                ),
            )
        elif isinstance(a, act.AddTags):
            await run(
                "elb",
                "AddTags",
                lambda: elb.add_tags(
                    LoadBalancerNames=[a.name], Tags=[{"Key": k, "Value": v} for k, v in a.tags]
                ),
            )
        elif isinstance(a, act.RegisterInstances):
            await run(
                "elb",
                "RegisterInstancesWithLoadBalancer",
                lambda: elb.register_instances_with_load_balancer(
                    LoadBalancerName=a.name, Instances=[{"InstanceId": i} for i in a.instances]
                ),
            )
        elif isinstance(a, act.DeregisterInstances):
            await run(
                "elb",
                "DeregisterInstancesFromLoadBalancer",
                lambda: elb.deregister_instances_from_load_balancer(
                    LoadBalancerName=a.name, Instances=[{"InstanceId": i} for i in a.instances]
                ),
            )
        elif isinstance(a, act.DeleteLoadBalancer):
            await run(
                "elb",
                "DeleteLoadBalancer",
                lambda: elb.delete_load_balancer(LoadBalancerName=a.name),
            )
        return None

    async def _apply_group_action(self, a: act.Action, refs: dict[str, str], vpc_id: str) -> None:
        ec2, run = self._ec2, self._run

        def ref(group: str) -> str:
            return refs.get(group, group)

        if isinstance(a, act.CreateGroup):
            refs[a.ref] = await self._create_group(a, vpc_id)
        elif isinstance(a, act.DeleteGroup):
            await self._delete_group(a)
        elif isinstance(a, act.AuthorizeIngress):
            rules = tuple(
                IngressRule(r.protocol, r.from_port, r.to_port, ref(r.source), r.description)
                for r in a.rules
            )
            try:
                await run(
                    "ec2",
                    "AuthorizeSecurityGroupIngress",
                    lambda: ec2.authorize_security_group_ingress(
                        GroupId=ref(a.group), IpPermissions=permissions_of(rules)
                    ),
                )
            except Conflict as exc:
                if exc.code != "InvalidPermission.Duplicate":
                    raise
            if ref(a.group) != refs.get("$frontend"):
                self._admitting.add(ref(a.group))
        elif isinstance(a, act.RevokeIngress):
            with contextlib.suppress(NotFound):
                await run(
                    "ec2",
                    "RevokeSecurityGroupIngress",
                    lambda: ec2.revoke_security_group_ingress(
                        GroupId=a.group, IpPermissions=permissions_of(a.rules)
                    ),
                )

    async def _delete_group(self, a: act.DeleteGroup) -> None:
        try:
            await self._run(
                "ec2",
                "DeleteSecurityGroup",
                lambda: self._ec2.delete_security_group(GroupId=a.group),
            )
        except NotFound:
            return
        except Conflict as exc:
            if exc.code != "DependencyViolation":
                raise
            referencing = await self._run(
                "ec2",
                "DescribeSecurityGroups",
                lambda: self._ec2.describe_security_groups(
                    Filters=[{"Name": "ip-permission.group-id", "Values": [a.group]}]
                )["SecurityGroups"],
            )
            blockers = tuple(sorted(g["GroupId"] for g in referencing if g["GroupId"] != a.group))
            detail = (
                f"; rules in {', '.join(blockers)} reference it: remove them"
                if blockers
                else "; its network interfaces are still in use"
            )
            raise GroupInUse(
                f"security group {a.group} ({a.name}) cannot be deleted yet{detail}", blockers
            ) from None


def _listener_arg(x: Listener) -> dict[str, Any]:
    arg: dict[str, Any] = {
        "Protocol": x.protocol,
        "LoadBalancerPort": x.lb_port,
        "InstanceProtocol": x.instance_protocol,
        "InstancePort": x.instance_port,
    }
    if x.certificate:
        arg["SSLCertificateId"] = x.certificate
    return arg


def summary(d: dict[str, Any], tags: tuple[tuple[str, str], ...]) -> ObservedLoadBalancer:
    """A DescribeLoadBalancers entry as an ObservedLoadBalancer with default attributes."""
    policies = d.get("Policies", {})
    policy_names = set(policies.get("OtherPolicies", []))
    return ObservedLoadBalancer(
        name=d["LoadBalancerName"],
        dns_name=d.get("DNSName", ""),
        internal=d.get("Scheme") == "internal",
        subnets=tuple(sorted(d.get("Subnets", []))),
        security_groups=tuple(d.get("SecurityGroups", [])),
        listeners=frozenset(_listener(x["Listener"]) for x in d.get("ListenerDescriptions", [])),
        health_check=_health(d.get("HealthCheck", {})),
        attributes=Attributes(),
        tags=tags,
        instances=frozenset(i["InstanceId"] for i in d.get("Instances", [])),
        policies=frozenset(policy_names),
        backend_policies=tuple(
            sorted(
                (int(b["InstancePort"]), tuple(sorted(b.get("PolicyNames", []))))
                for b in d.get("BackendServerDescriptions", [])
                if b.get("PolicyNames")
            )
        ),
        listener_policies=tuple(
            sorted(
                (
                    int(x["Listener"]["LoadBalancerPort"]),
                    tuple(sorted(x.get("PolicyNames", []))),
                )
                for x in d.get("ListenerDescriptions", [])
                if x.get("PolicyNames")
            )
        ),
    )
