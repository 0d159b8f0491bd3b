"""Network records the load balancer planner reads: subnets and security groups."""

from __future__ import annotations

from dataclasses import dataclass

from k8s_aws.model.ids import SecurityGroupId


@dataclass(frozen=True)
class SubnetRecord:
    id: str
    zone: str
    vpc_id: str
    public: bool
    tags: tuple[tuple[str, str], ...] = ()
    zone_type: str = "availability-zone"
    cidr: str = ""  # IPv4 block: a static private IP must lie inside its subnet's

    def tag(self, key: str) -> str | None:
        return next((v for k, v in self.tags if k == key), None)

    @property
    def name(self) -> str | None:
        return self.tag("Name")


@dataclass(frozen=True)
class GroupRecord:
    id: SecurityGroupId
    tags: tuple[tuple[str, str], ...]
