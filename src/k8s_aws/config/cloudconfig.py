"""The reference AWS cloud provider's cloud config (gcfg INI), parsed once into typed values.

Accepts the `[Global]` keys of kubernetes/cloud-provider-aws and `[ServiceOverride "N"]`
sections. Keys are case-insensitive, as in gcfg. An unknown section or key, or a bad value, is
a `CloudConfigError` naming it and, where there is a fixed set, the allowed values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

BOOLEANS = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}
HEALTH_PROBE_MODES = ("ServiceNodePort", "Shared")
NLB_SG_MODES = ("Managed",)
IP_FAMILIES = ("ipv4", "ipv6")
SIGNING_METHODS = ("v4", "sigv4")
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d+$")
CLUSTER_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9._-]*$")

# Every [Global] key we accept, canonically spelled, and the CloudConfig field it sets.
GLOBAL_FIELDS = {
    "Zone": "zone",
    "Region": "region",
    "VPC": "vpc",
    "SubnetID": "subnet_id",
    "RouteTableID": "route_table_id",
    "RoleARN": "role_arn",
    "SourceARN": "source_arn",
    "KubernetesClusterTag": "cluster_tag",
    "KubernetesClusterID": "cluster_id",
    "DisableSecurityGroupIngress": "disable_security_group_ingress",
    "ElbSecurityGroup": "elb_security_group",
    "NodeIPFamilies": "node_ip_families",
    "ClusterServiceLoadBalancerHealthProbeMode": "health_probe_mode",
    "NLBSecurityGroupMode": "nlb_security_group_mode",
}
GLOBAL_KEYS = {k.lower(): k for k in GLOBAL_FIELDS}
OVERRIDE_KEYS = {
    k.lower(): k
    for k in ("Service", "Region", "URL", "SigningRegion", "SigningMethod", "SigningName")
}
MULTI_VALUED = {"NodeIPFamilies"}

# [ServiceOverride] Service -> the boto3 services it covers. The reference v1.37 compares
# Service with the AWS SDK for Go v2 service ids (`EC2`, `Elastic Load Balancing`, ...);
# configs written for older releases use the SDK v1 endpoint ids (`ec2`,
# `elasticloadbalancing`, which covered both ELB APIs). `ec2imds` / `ec2metadata` point the
# instance metadata service elsewhere, whatever the Region. Matched case-insensitively.
METADATA_SERVICE = "imds"
OVERRIDE_SERVICES: dict[str, tuple[str, ...]] = {
    "EC2": ("ec2",),
    "Elastic Load Balancing": ("elb",),
    "Elastic Load Balancing v2": ("elbv2",),
    "STS": ("sts",),
    "KMS": ("kms",),
    "IAM": ("iam",),
    "ec2imds": (METADATA_SERVICE,),
    "ec2": ("ec2",),
    "elasticloadbalancing": ("elb", "elbv2"),
    "sts": ("sts",),
    "kms": ("kms",),
    "iam": ("iam",),
    "ec2metadata": (METADATA_SERVICE,),
}


class CloudConfigError(ValueError):
    """The cloud config is invalid; the message names the section, key and allowed values."""


@dataclass(frozen=True)
class ServiceOverride:
    """`service` as spelled in OVERRIDE_SERVICES; `targets` the boto3 services it covers."""

    name: str
    service: str
    region: str
    url: str
    targets: tuple[str, ...] = ()
    signing_region: str = ""
    signing_method: str = ""
    signing_name: str = ""


@dataclass(frozen=True)
class CloudConfig:
    zone: str = ""
    region: str = ""
    vpc: str = ""
    subnet_id: str = ""
    route_table_id: str = ""
    role_arn: str = ""
    source_arn: str = ""
    cluster_tag: str = ""
    cluster_id: str = ""
    disable_security_group_ingress: bool = False
    elb_security_group: str = ""
    node_ip_families: tuple[str, ...] = ("ipv4",)
    health_probe_mode: str = "ServiceNodePort"
    nlb_security_group_mode: str = ""
    overrides: tuple[ServiceOverride, ...] = field(default=())

    @property
    def cluster_name(self) -> str:
        """KubernetesClusterID wins over the older KubernetesClusterTag, as in the reference."""
        return self.cluster_id or self.cluster_tag

    def override_for(self, target: str, region: str) -> ServiceOverride | None:
        """The override of boto3 service `target` in `region` (IMDS: in any region)."""
        return next(
            (o for o in self.overrides if target in o.targets
             and (o.region == region or target == METADATA_SERVICE)), None
        )

    def endpoints(self, region: str) -> dict[str, str]:
        """boto3 service -> URL, for the AWS APIs overridden in `region`."""
        return {
            target: o.url for o in self.overrides if o.region == region
            for target in o.targets if target != METADATA_SERVICE
        }


_SECTION_RE = re.compile(r'^\[\s*([A-Za-z][\w-]*)\s*(?:"((?:[^"\\]|\\.)*)")?\s*\]$')
_KEY_RE = re.compile(r"^([A-Za-z][\w-]*)\s*(?:=\s*(.*))?$")


def _unquote(raw: str) -> str:
    value = raw.strip()
    for marker in (" ;", " #", "\t;", "\t#"):
        if not value.startswith('"') and marker in value:
            value = value.split(marker, 1)[0].rstrip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return value


def _sections(text: str) -> list[tuple[str, str | None, dict[str, list[str]], int]]:
    """(section, subsection, key -> values, line) for each section, in file order."""
    sections: list[tuple[str, str | None, dict[str, list[str]], int]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped[0] in ";#":
            continue
        header = _SECTION_RE.match(stripped)
        if header:
            sections.append((header.group(1), header.group(2), {}, number))
            continue
        entry = _KEY_RE.match(stripped)
        if not entry:
            raise CloudConfigError(f"line {number}: cannot parse {stripped!r}")
        if not sections:
            raise CloudConfigError(f"line {number}: key {entry.group(1)!r} outside a section")
        value = _unquote(entry.group(2)) if entry.group(2) is not None else "true"
        sections[-1][2].setdefault(entry.group(1).lower(), []).append(value)
    return sections


def _single(where: str, key: str, values: list[str]) -> str:
    if len(values) > 1 and key not in MULTI_VALUED:
        raise CloudConfigError(f"{where} {key}: given {len(values)} times, allowed once")
    return values[-1]


def _choice(where: str, key: str, value: str, allowed: tuple[str, ...]) -> str:
    match = next((a for a in allowed if a.lower() == value.lower()), None)
    if match is None:
        raise CloudConfigError(
            f"{where} {key}: invalid value {value!r}; allowed: {', '.join(allowed)}"
        )
    return match


def _bool(where: str, key: str, value: str) -> bool:
    if value.lower() not in BOOLEANS:
        raise CloudConfigError(f"{where} {key}: invalid value {value!r}; allowed: true, false")
    return BOOLEANS[value.lower()]


def _global(entries: dict[str, list[str]]) -> dict[str, Any]:
    """CloudConfig field -> parsed value, for the keys present."""
    where = "[Global]"
    parsed: dict[str, Any] = {}
    for lower, values in entries.items():
        key = GLOBAL_KEYS.get(lower)
        if key is None:
            raise CloudConfigError(
                f"{where}: unknown key {lower!r}; known: {', '.join(GLOBAL_KEYS.values())}"
            )
        value = _single(where, key, values)
        if key == "Region" and value and not REGION_RE.match(value):
            raise CloudConfigError(f"{where} Region: {value!r} is not an AWS region name")
        if key in ("KubernetesClusterTag", "KubernetesClusterID") and value and not (
            CLUSTER_NAME_RE.match(value)
        ):
            raise CloudConfigError(
                f"{where} {key}: {value!r} must match {CLUSTER_NAME_RE.pattern}"
            )
        name = GLOBAL_FIELDS[key]
        if key == "DisableSecurityGroupIngress":
            parsed[name] = _bool(where, key, value)
        elif key == "NodeIPFamilies":
            parsed[name] = tuple(_choice(where, key, v, IP_FAMILIES) for v in values)
        elif key == "ClusterServiceLoadBalancerHealthProbeMode":
            parsed[name] = _choice(where, key, value, HEALTH_PROBE_MODES)
        elif key == "NLBSecurityGroupMode":
            parsed[name] = _choice(where, key, value, NLB_SG_MODES) if value else ""
        else:
            parsed[name] = value
    return parsed


def _override(name: str, entries: dict[str, list[str]]) -> ServiceOverride:
    where = f'[ServiceOverride "{name}"]'
    values: dict[str, str] = {}
    for lower, given in entries.items():
        key = OVERRIDE_KEYS.get(lower)
        if key is None:
            raise CloudConfigError(
                f"{where}: unknown key {lower!r}; known: {', '.join(OVERRIDE_KEYS.values())}"
            )
        values[key] = _single(where, key, given)
    for required in ("Service", "Region", "URL"):
        if not values.get(required):
            raise CloudConfigError(f"{where}: {required} is required")
    if not re.match(r"^https?://", values["URL"]):
        raise CloudConfigError(f"{where} URL: {values['URL']!r} must start with http:// or https://")
    if values.get("SigningMethod"):
        _choice(where, "SigningMethod", values["SigningMethod"], SIGNING_METHODS)
    service = _choice(where, "Service", values["Service"].strip(), tuple(OVERRIDE_SERVICES))
    return ServiceOverride(
        name=name,
        service=service,
        region=values["Region"].strip(),
        url=values["URL"],
        targets=OVERRIDE_SERVICES[service],
        signing_region=values.get("SigningRegion", ""),
        signing_method=values.get("SigningMethod", ""),
        signing_name=values.get("SigningName", ""),
    )


def _refuse_duplicate(overrides: list[ServiceOverride]) -> None:
    """Two overrides of one boto3 service in one region: which URL wins would be a guess."""
    last = overrides[-1]
    for earlier in overrides[:-1]:
        shared = set(earlier.targets) & set(last.targets)
        if shared and earlier.region == last.region:
            raise CloudConfigError(
                f'[ServiceOverride "{last.name}"] Service: {last.service!r} in {last.region}'
                f' overrides the same API as [ServiceOverride "{earlier.name}"]'
                f" ({earlier.service!r})"
            )


def parse_cloud_config(text: str) -> CloudConfig:
    global_values: dict[str, Any] = {}
    overrides: list[ServiceOverride] = []
    seen_global = False
    for section, subsection, entries, line in _sections(text):
        if section.lower() == "global" and subsection is None:
            if seen_global:
                raise CloudConfigError(f"line {line}: [Global] given twice")
            seen_global = True
            global_values = _global(entries)
        elif section.lower() == "serviceoverride" and subsection:
            overrides.append(_override(subsection, entries))
            _refuse_duplicate(overrides)
        else:
            shown = f'{section} "{subsection}"' if subsection else section
            raise CloudConfigError(
                f'line {line}: unknown section [{shown}]; allowed: [Global], [ServiceOverride "N"]'
            )
    return CloudConfig(**global_values, overrides=tuple(overrides))


# Keys accepted for compatibility whose feature k8s-aws does not have (yet), and why.
NOT_ACTED_ON = {
    "zone": "Zone: the zone comes from each node's instance",
    "subnet_id": "SubnetID: load balancer subnets are discovered by tags or annotation",
    "route_table_id": "RouteTableID: k8s-aws has no route controller yet",
    "elb_security_group": (
        "ElbSecurityGroup: every load balancer gets its own frontend group plus the "
        "cluster's backend group"
    ),
    "disable_security_group_ingress": (
        "DisableSecurityGroupIngress: node groups always get the single backend-group rule"
    ),
    "health_probe_mode": (
        "ClusterServiceLoadBalancerHealthProbeMode: health checks follow the Service"
    ),
    "nlb_security_group_mode": "NLBSecurityGroupMode: k8s-aws has no NLB support yet",
}


def ignored_settings(config: CloudConfig) -> list[str]:
    """The keys set in `config` that change nothing in k8s-aws, each with the reason."""
    defaults = CloudConfig()
    return [
        reason for field_name, reason in NOT_ACTED_ON.items()
        if getattr(config, field_name) != getattr(defaults, field_name)
    ] + [reason for o in config.overrides for reason in _unsigned_overrides(o)]


def _unsigned_overrides(override: ServiceOverride) -> list[str]:
    """botocore signs for the service and the override's Region: a SigningName, or a
    SigningRegion other than Region, changes nothing."""
    where = f'[ServiceOverride "{override.name}"]'
    reasons = []
    if override.signing_name:
        reasons.append(f"{where} SigningName: requests are signed with the service's own name")
    if override.signing_region and override.signing_region != override.region:
        reasons.append(f"{where} SigningRegion: requests are signed for {override.region}")
    return reasons
