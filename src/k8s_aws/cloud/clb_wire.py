"""Classic ELB and security group records as AWS spells them, both ways (pure): describe
responses -> our model, our model -> request parameters."""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from k8s_aws.model.loadbalancer import (
    Attributes,
    HealthCheck,
    IngressRule,
    Listener,
    ObservedGroup,
    ObservedLoadBalancer,
)
from k8s_aws.support.shared_sets import shared

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import IpPermissionTypeDef
    from mypy_boto3_elb.type_defs import ListenerTypeDef


def tags_of(raw: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((t["Key"], t["Value"]) for t in raw))


def group_of(g: Mapping[str, Any]) -> ObservedGroup:
    return ObservedGroup(
        g["GroupId"], g["GroupName"], tags_of(g.get("Tags", [])),
        rules_of(g.get("IpPermissions", [])),
    )


def rules_of(permissions: Sequence[Mapping[str, Any]]) -> frozenset[IngressRule]:
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


def permissions_of(rules: tuple[IngressRule, ...]) -> list[IpPermissionTypeDef]:
    permissions: list[dict[str, Any]] = []
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
    return cast("list[IpPermissionTypeDef]", permissions)


def health_of(raw: Mapping[str, Any]) -> HealthCheck:
    return HealthCheck(
        target=raw.get("Target", ""),
        healthy_threshold=int(raw.get("HealthyThreshold", 0)),
        unhealthy_threshold=int(raw.get("UnhealthyThreshold", 0)),
        interval=int(raw.get("Interval", 0)),
        timeout=int(raw.get("Timeout", 0)),
    )


def attributes_of(raw: Mapping[str, Any]) -> Attributes:
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


def listener_of(raw: Mapping[str, Any]) -> Listener:
    return Listener(
        lb_port=int(raw["LoadBalancerPort"]),
        protocol=str(raw["Protocol"]).upper(),
        instance_port=int(raw["InstancePort"]),
        instance_protocol=str(raw.get("InstanceProtocol", raw["Protocol"])).upper(),
        certificate=raw.get("SSLCertificateId", "") or "",
    )


def listener_arg(x: Listener) -> ListenerTypeDef:
    arg: ListenerTypeDef = {
        "Protocol": x.protocol,
        "LoadBalancerPort": x.lb_port,
        "InstanceProtocol": x.instance_protocol,
        "InstancePort": x.instance_port,
    }
    if x.certificate:
        arg["SSLCertificateId"] = x.certificate
    return arg


def summary(d: Mapping[str, Any], tags: tuple[tuple[str, str], ...]) -> ObservedLoadBalancer:
    """A DescribeLoadBalancers entry as an ObservedLoadBalancer with default attributes."""
    policies = d.get("Policies", {})
    policy_names = set(policies.get("OtherPolicies", []))
    return ObservedLoadBalancer(
        name=d["LoadBalancerName"],
        dns_name=d.get("DNSName", ""),
        internal=d.get("Scheme") == "internal",
        subnets=tuple(sorted(d.get("Subnets", []))),
        security_groups=tuple(d.get("SecurityGroups", [])),
        listeners=frozenset(listener_of(x["Listener"]) for x in d.get("ListenerDescriptions", [])),
        health_check=health_of(d.get("HealthCheck", {})),
        attributes=Attributes(),
        tags=tags,
        # interned: every load balancer of the fleet lists the same nodes' ids
        instances=shared(frozenset(sys.intern(i["InstanceId"]) for i in d.get("Instances", []))),
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
