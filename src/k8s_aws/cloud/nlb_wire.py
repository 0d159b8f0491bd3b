"""ELBv2 wire shapes <-> the Network LB model (pure conversions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from k8s_aws.model.nlb import (
    ObservedNetworkLB,
    ObservedNlbListener,
    ObservedTargetGroup,
    TargetHealthCheck,
)

if TYPE_CHECKING:
    from mypy_boto3_elbv2.type_defs import TagTypeDef


def tags_of(raw: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((t["Key"], t.get("Value", "")) for t in raw))


def tags_arg(tags: tuple[tuple[str, str], ...]) -> list[TagTypeDef]:
    return [{"Key": k, "Value": v} for k, v in tags]


def health_check_args(check: TargetHealthCheck) -> dict[str, Any]:
    args: dict[str, Any] = {
        "HealthCheckProtocol": check.protocol,
        "HealthCheckPort": check.port,
        "HealthCheckIntervalSeconds": check.interval,
        "HealthCheckTimeoutSeconds": check.timeout,
        "HealthyThresholdCount": check.healthy_threshold,
        "UnhealthyThresholdCount": check.unhealthy_threshold,
    }
    if check.path:
        args["HealthCheckPath"] = check.path
    return args


def health_check_of(raw: Mapping[str, Any]) -> TargetHealthCheck:
    protocol = str(raw.get("HealthCheckProtocol", "TCP"))
    return TargetHealthCheck(
        protocol=protocol,
        port=str(raw.get("HealthCheckPort", "traffic-port")),
        path=str(raw.get("HealthCheckPath") or "") if protocol in ("HTTP", "HTTPS") else "",
        healthy_threshold=int(raw.get("HealthyThresholdCount", 0)),
        unhealthy_threshold=int(raw.get("UnhealthyThresholdCount", 0)),
        interval=int(raw.get("HealthCheckIntervalSeconds", 0)),
        timeout=int(raw.get("HealthCheckTimeoutSeconds", 0)),
    )


def target_group_of(
    raw: Mapping[str, Any], tags: tuple[tuple[str, str], ...], targets: frozenset[str]
) -> ObservedTargetGroup:
    return ObservedTargetGroup(
        arn=raw["TargetGroupArn"], name=raw["TargetGroupName"], protocol=raw["Protocol"],
        port=int(raw["Port"]), health_check=health_check_of(raw), tags=tags, targets=targets,
    )


def listener_of(raw: Mapping[str, Any]) -> ObservedNlbListener:
    actions = raw.get("DefaultActions", [])
    forward: dict[str, Any] = next((a for a in actions if a.get("Type") == "forward"), {})
    if raw["Protocol"] != "TLS":  # describes may carry a policy for plain listeners too
        return ObservedNlbListener(raw["ListenerArn"], int(raw["Port"]), raw["Protocol"],
                                   str(forward.get("TargetGroupArn", "")))
    certificates = raw.get("Certificates") or [{}]
    return ObservedNlbListener(
        raw["ListenerArn"], int(raw["Port"]), raw["Protocol"],
        str(forward.get("TargetGroupArn", "")),
        certificate=str(certificates[0].get("CertificateArn", "")),
        ssl_policy=str(raw.get("SslPolicy") or ""), alpn=str((raw.get("AlpnPolicy") or [""])[0]),
    )


def load_balancer_of(
    raw: Mapping[str, Any], tags: tuple[tuple[str, str], ...],
    listeners: tuple[ObservedNlbListener, ...],
) -> ObservedNetworkLB:
    return ObservedNetworkLB(
        arn=raw["LoadBalancerArn"], name=raw["LoadBalancerName"], dns_name=raw["DNSName"],
        internal=raw.get("Scheme") == "internal",
        subnets=tuple(sorted(z["SubnetId"] for z in raw.get("AvailabilityZones", []))),
        security_groups=tuple(raw.get("SecurityGroups", [])), tags=tags,
        listeners=tuple(sorted(listeners)),
    )
