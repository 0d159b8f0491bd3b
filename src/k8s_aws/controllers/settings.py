"""The controller manager's one frozen settings object, and the `--controllers` syntax."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from k8s_aws.cloud.session import AwsSettings
from k8s_aws.kube.leader import LeaderElectionSettings

KNOWN_CONTROLLERS = ("cloud-node", "cloud-node-lifecycle", "service")


class InvalidControllers(ValueError):
    """`--controllers` names an unknown controller."""


def parse_controllers(spec: str) -> frozenset[str]:
    """`*` (all), names, and `-name` to disable, comma-separated, as kube-controller-manager."""
    enabled: set[str] = set()
    disabled: set[str] = set()
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        if item == "*":
            enabled |= set(KNOWN_CONTROLLERS)
            continue
        name = item[1:] if item.startswith("-") else item
        if name not in KNOWN_CONTROLLERS:
            raise InvalidControllers(
                f"--controllers: unknown controller {name!r}; allowed: *, "
                + ", ".join(KNOWN_CONTROLLERS) + " (prefix - to disable)"
            )
        (disabled if item.startswith("-") else enabled).add(name)
    return frozenset(enabled - disabled)


@dataclass(frozen=True)
class ControllerManagerSettings:
    cluster_name: str
    region: str
    kubeconfig: Path | None
    controllers: frozenset[str]
    aws: AwsSettings
    identity: str
    leader_elect: bool = True
    leader: LeaderElectionSettings = field(default_factory=LeaderElectionSettings)
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = 10258
    call_log: Path | None = None
    ip_families: tuple[str, ...] = ("ipv4",)
    workers: int = 4
    node_monitor_period: float = 5.0
    service_drift_period: float = 600.0
    vpc_id: str = ""  # [Global] VPC; else the VPC of the nodes' instances
