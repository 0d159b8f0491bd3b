"""Network records the load balancer planner reads: subnets and security groups."""

from __future__ import annotations

from dataclasses import dataclass

from k8s_aws.model.ids import SecurityGroupId
from k8s_aws.model.tags import Tagged


@dataclass(frozen=True)
class SubnetRecord(Tagged):
    id: str
    zone: str
    vpc_id: str
    public: bool
    tags: tuple[tuple[str, str], ...] = ()
    zone_type: str = "availability-zone"
    cidr: str = ""  # IPv4 block: a static private IP must lie inside its subnet's

    @property
    def name(self) -> str | None:
        return self.tag("Name")


@dataclass(frozen=True)
class GroupRecord:
    id: SecurityGroupId
    tags: tuple[tuple[str, str], ...]
